"""Setting a programme up, for the admin: the first-run checklist, communities (in their street
and district), sites with the communities they serve and their meals, riders, community
workers and staff accounts; as pages and JSON. The rules and the audit entries live in
`usecases.setup` and `usecases.accounts`; these views read forms and show each refusal next to
its field, in the reader's language, with nothing saved."""

from collections.abc import Callable
from datetime import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.datastructures import FormData

from api.accounts.access import Staff
from api.deps import AdminStaff, ClockDep, LocaleDep, ReadSessionDep, SessionDep, SettingsDep
from api.errors import STAFF_RESPONSES
from api.forms import FormDep, FormInvalid, refusal, text, validated
from api.templating import page
from core import i18n
from core.accounts import Role, StaffAccountCreate
from core.clock import Clock
from core.errors import DomainError
from core.i18n import N_
from core.models import Community, CommunityWorker, MealSlot, Rider, Site, saved
from core.settings import Settings
from core.types import RiderMode, RowId, SiteKind, Slot
from usecases import accounts, programme, setup
from usecases.setup import (
    CommunityCreate,
    CommunityUpdate,
    MealSlotCreate,
    RiderCreate,
    RiderUpdate,
    SiteCreate,
    SiteUpdate,
    WorkerCreate,
    WorkerUpdate,
)

router = APIRouter(tags=["set-up"], responses=STAFF_RESPONSES)

# Where each step of the checklist is done. The policy's page is looked for among the app's
# routes (it comes with the funders and rules pages); until it exists the step says so.
STEP_PAGES = {
    "communities": ["/admin/communities"],
    "sites": ["/admin/sites"],
    "menus": ["/admin/dishes", "/admin/menus"],
    "policy": ["/admin/policy", "/admin/funders", "/settlement/policy"],
    "staff": ["/admin/riders", "/admin/workers", "/admin/accounts"],
    "elders": ["/elders/import", "/elders/new", "/elders"],
}


# -- JSON shapes ------------------------------------------------------------------------------


class CommunityPublic(BaseModel):
    id: int
    code: str
    name: str
    street: str
    district: str
    city: str
    lat: float
    lon: float
    street_id: int
    district_id: int


class DistrictPublic(BaseModel):
    id: int
    city: str
    name: str


class StreetPublic(BaseModel):
    id: int
    district_id: int
    name: str


class JurisdictionsPublic(BaseModel):
    """The districts and streets communities are in, by id (policy layers name them so)."""

    districts: list[DistrictPublic]
    streets: list[StreetPublic]


class MealSlotPublic(BaseModel):
    slot: Slot
    cutoff_time: time
    cutoff_days_before: int
    delivery_start: time
    delivery_end: time


class SitePublic(BaseModel):
    id: int
    code: str
    name: str
    kind: SiteKind
    address: str
    lat: float
    lon: float
    community_id: int
    phone: str
    kitchen_id: int | None
    offers_delivery: bool
    offers_pickup: bool
    offers_dine_in: bool
    active: bool
    serves_community_ids: list[int]
    slots: list[MealSlotPublic]


class RiderPublic(BaseModel):
    id: int
    name: str
    phone: str
    kitchen_id: int
    mode: RiderMode
    capacity: int
    shift_start: time
    shift_end: time
    active: bool
    chat_linked: bool


class WorkerPublic(BaseModel):
    id: int
    community_id: int
    community_ids: list[int]
    name: str
    phone: str
    active: bool
    chat_linked: bool


class AccountPublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    rider_id: int | None
    funder_id: int | None
    kitchen_id: int | None
    community_ids: list[int]
    site_ids: list[int]


class AccountActive(BaseModel):
    active: bool


class PasswordResetIn(BaseModel):
    new_password: str | None = None


class PasswordResetPublic(BaseModel):
    """The new password: shown this once, stored only as a hash."""

    username: str
    password: str


class StepPublic(BaseModel):
    key: str
    done: bool
    counts: dict[str, int]
    pages: list[str]


class ChecklistPublic(BaseModel):
    complete: bool
    steps: list[StepPublic]
    sandbox_url: str | None = Field(
        default=None,
        description="The chat sandbox's page (`mealaid bot --sandbox`), where a first order is "
        "placed as an elder would (MEALAID_SANDBOX_URL; none in production)",
    )


def _community_public(community: Community) -> CommunityPublic:
    return CommunityPublic.model_validate(community, from_attributes=True)


def _site_public(session: Session, site: Site) -> SitePublic:
    slots = setup.site_slots(session=session, site_id=site.id or 0)
    return SitePublic(
        **_values(site),
        serves_community_ids=setup.served_communities(session=session, site_id=site.id or 0),
        slots=[MealSlotPublic.model_validate(s, from_attributes=True) for s in slots],
    )


def _values(row: Any) -> dict[str, Any]:
    """A table row's fields as they are (model_dump would warn about enum columns read back
    from the database as plain strings)."""
    return {name: getattr(row, name) for name in type(row).model_fields}


def _rider_public(rider: Rider) -> RiderPublic:
    return RiderPublic(**_values(rider), chat_linked=rider.chat_user_id is not None)


def _worker_public(session: Session, worker: CommunityWorker) -> WorkerPublic:
    return WorkerPublic(
        **_values(worker),
        community_ids=setup.worker_communities(session=session, worker_id=saved(worker.id)),
        chat_linked=worker.chat_user_id is not None,
    )


# -- forms ------------------------------------------------------------------------------------


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    """A row's values as a form shows them (times as 10:30)."""
    return {k: v.strftime("%H:%M") if isinstance(v, time) else v for k, v in values.items()}


def _submitted(
    session: Session,
    locale: str,
    schema: type[BaseModel],
    data: dict[str, Any],
    save: Callable[[Any], Any],
) -> tuple[Any, FormInvalid | None]:
    """The form's data validated and saved (in a savepoint: a refusal leaves nothing), or the
    problems by field."""
    try:
        model = validated(schema, data, locale, {})
        try:
            with session.begin_nested():
                return save(model), None
        except DomainError as error:
            raise refusal(error, locale, {}) from None
    except FormInvalid as invalid:
        return None, invalid


def _blank_none(value: str) -> str | None:
    return value or None


def _ids(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def _checked(form: FormData, name: str) -> bool:
    return text(form, name) in ("on", "1", "true", "yes")


# -- the checklist ----------------------------------------------------------------------------


def sandbox_url(settings: Settings) -> str | None:
    """Where the checklist sends the admin to place a first order in the chat sandbox: none in
    production, where `mealaid bot --sandbox` refuses to run, nor when the setting is empty."""
    if settings.environment == "production":
        return None
    return settings.sandbox_url or None


def checklist(request: Request, session: Session, clock: Clock) -> ChecklistPublic:
    paths = {context.path for context in iter_route_contexts(request.app.routes)}
    steps = [
        StepPublic(
            key=step.key,
            done=step.done,
            counts=step.counts,
            pages=[p for p in STEP_PAGES[step.key] if p in paths],
        )
        for step in setup.setup_progress(session=session, clock=clock)
    ]
    return ChecklistPublic(
        complete=all(s.done for s in steps),
        steps=steps,
        sandbox_url=sandbox_url(request.app.state.settings),
    )


@router.get("/api/v1/setup/checklist", response_model=ChecklistPublic)
def checklist_json(
    request: Request, staff: AdminStaff, session: ReadSessionDep, clock: ClockDep
) -> ChecklistPublic:
    """What a programme still needs before it can serve: communities, sites and their meals,
    dishes and menus, the policy, staff, elders; each with what there is and its pages."""
    return checklist(request, session, clock)


@router.get("/admin/setup", response_class=HTMLResponse, include_in_schema=False)
def checklist_page(
    request: Request, staff: AdminStaff, session: ReadSessionDep, clock: ClockDep
) -> HTMLResponse:
    return page(request, "setup.html", {"checklist": checklist(request, session, clock)})


# -- communities ------------------------------------------------------------------------------


@router.get("/api/v1/communities", response_model=list[CommunityPublic])
def communities_json(staff: AdminStaff, session: ReadSessionDep) -> list[CommunityPublic]:
    return [_community_public(c) for c in _communities(session)]


@router.get("/api/v1/jurisdictions", response_model=JurisdictionsPublic)
def jurisdictions_json(staff: AdminStaff, session: ReadSessionDep) -> JurisdictionsPublic:
    """Districts and streets with their ids: a street of one name in two districts is two."""
    return JurisdictionsPublic(
        districts=[
            DistrictPublic(id=d.id, city=d.city, name=d.name)
            for d in setup.list_districts(session=session)
        ],
        streets=[
            StreetPublic(id=s.id, district_id=s.district_id or 0, name=s.name)
            for s in setup.list_streets(session=session)
        ],
    )


@router.post("/api/v1/communities", response_model=CommunityPublic, status_code=201)
def community_create_json(
    community_in: CommunityCreate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> CommunityPublic:
    community = setup.create_community(
        session=session, clock=clock, actor=staff.actor, community_in=community_in
    )
    return _community_public(community)


@router.put("/api/v1/communities/{community_id}", response_model=CommunityPublic)
def community_update_json(
    community_id: RowId,
    community_in: CommunityUpdate,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
) -> CommunityPublic:
    community = setup.update_community(
        session=session,
        clock=clock,
        actor=staff.actor,
        community_id=community_id,
        community_in=community_in,
    )
    return _community_public(community)


def _communities(session: Session) -> list[Community]:
    return setup.list_communities(session=session)


COMMUNITY_FIELDS = ("code", "name", "street", "district", "city", "lat", "lon")


def _communities_page(
    request: Request,
    session: Session,
    *,
    community: Community | None = None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "setup_communities.html",
        {
            "communities": _communities(session) if community is None else [],
            "community": community,
            "form": form or (_values(community) if community else {}),
            "errors": errors or {},
            "districts": setup.list_districts(session=session),
            "streets": setup.list_streets(session=session),
        },
        status,
    )


@router.get("/admin/communities", response_class=HTMLResponse, include_in_schema=False)
def communities_page(request: Request, staff: AdminStaff, session: ReadSessionDep) -> HTMLResponse:
    return _communities_page(request, session)


@router.post("/admin/communities", response_class=HTMLResponse, include_in_schema=False)
def community_create(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    data = {name: text(form, name) for name in COMMUNITY_FIELDS}
    created, invalid = _submitted(
        session,
        locale,
        CommunityCreate,
        data,
        lambda community_in: setup.create_community(
            session=session, clock=clock, actor=staff.actor, community_in=community_in
        ),
    )
    if invalid is not None:
        return _communities_page(
            request, session, form=data, errors=invalid.errors, status=invalid.status
        )
    return RedirectResponse(f"/admin/communities?saved={created.id}", status_code=303)


@router.get(
    "/admin/communities/{community_id}", response_class=HTMLResponse, include_in_schema=False
)
def community_page(
    request: Request, community_id: RowId, staff: AdminStaff, session: ReadSessionDep
) -> HTMLResponse:
    community = setup.get_community(session=session, community_id=community_id)
    return _communities_page(request, session, community=community)


@router.post(
    "/admin/communities/{community_id}", response_class=HTMLResponse, include_in_schema=False
)
def community_update(
    request: Request,
    community_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    community = setup.get_community(session=session, community_id=community_id)
    data = {name: text(form, name) for name in COMMUNITY_FIELDS if name != "code"}
    _, invalid = _submitted(
        session,
        locale,
        CommunityUpdate,
        data,
        lambda community_in: setup.update_community(
            session=session,
            clock=clock,
            actor=staff.actor,
            community_id=community_id,
            community_in=community_in,
        ),
    )
    if invalid is not None:
        session.refresh(community)
        return _communities_page(
            request,
            session,
            community=community,
            form={**data, "code": community.code},
            errors=invalid.errors,
            status=invalid.status,
        )
    return RedirectResponse(f"/admin/communities/{community_id}?saved=1", status_code=303)


# -- sites ------------------------------------------------------------------------------------


@router.get("/api/v1/sites", response_model=list[SitePublic])
def sites_json(staff: AdminStaff, session: ReadSessionDep) -> list[SitePublic]:
    """Every site, open or not, with the communities it serves and its meals."""
    return [_site_public(session, s) for s in setup.list_all_sites(session=session)]


@router.post("/api/v1/sites", response_model=SitePublic, status_code=201)
def site_create_json(
    site_in: SiteCreate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> SitePublic:
    site = setup.create_site(session=session, clock=clock, actor=staff.actor, site_in=site_in)
    return _site_public(session, site)


@router.get("/api/v1/sites/{site_id}", response_model=SitePublic)
def site_json(site_id: RowId, staff: AdminStaff, session: ReadSessionDep) -> SitePublic:
    return _site_public(session, setup.get_site_any(session=session, site_id=site_id))


@router.put("/api/v1/sites/{site_id}", response_model=SitePublic)
def site_update_json(
    site_id: RowId, site_in: SiteUpdate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> SitePublic:
    site = setup.update_site(
        session=session, clock=clock, actor=staff.actor, site_id=site_id, site_in=site_in
    )
    return _site_public(session, site)


@router.put("/api/v1/sites/{site_id}/slots", response_model=SitePublic)
def slot_set_json(
    site_id: RowId,
    slot_in: MealSlotCreate,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
) -> SitePublic:
    """Serve a meal at a site, or change its cutoff and delivery window."""
    setup.set_meal_slot(
        session=session, clock=clock, actor=staff.actor, site_id=site_id, slot_in=slot_in
    )
    return _site_public(session, setup.get_site_any(session=session, site_id=site_id))


@router.delete("/api/v1/sites/{site_id}/slots/{slot}", response_model=SitePublic)
def slot_remove_json(
    site_id: RowId, slot: Slot, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> SitePublic:
    """Stop serving a meal at a site (refused while orders for it from today on are live)."""
    setup.remove_meal_slot(
        session=session, clock=clock, actor=staff.actor, site_id=site_id, slot=slot
    )
    return _site_public(session, setup.get_site_any(session=session, site_id=site_id))


SITE_TEXT = ("code", "name", "kind", "address", "lat", "lon", "community_id", "phone")
MODES = ("offers_delivery", "offers_pickup", "offers_dine_in")


def _site_data(form: FormData, *, new: bool) -> dict[str, Any]:
    data: dict[str, Any] = {name: text(form, name) for name in SITE_TEXT}
    if not new:
        data.pop("code")
        data["active"] = _checked(form, "active")
    data["kitchen_id"] = _blank_none(text(form, "kitchen_id"))
    data["serves_community_ids"] = _ids(form, "serves_community_ids")
    for mode in MODES:
        data[mode] = _checked(form, mode)
    return data


def _sites_page(
    request: Request,
    session: Session,
    *,
    site: Site | None = None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    slot_form: dict[str, Any] | None = None,
    slot_errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    sites = setup.list_all_sites(session=session)
    if site is not None and form is None:
        form = {
            **_values(site),
            "serves_community_ids": setup.served_communities(
                session=session, site_id=saved(site.id)
            ),
        }
    slots: list[MealSlot] = (
        setup.site_slots(session=session, site_id=saved(site.id)) if site else []
    )
    return page(
        request,
        "setup_sites.html",
        {
            "sites": sites if site is None else [],
            "site": site,
            "slots": slots,
            "form": form or {"offers_delivery": True, "serves_community_ids": []},
            "slot_form": slot_form or {},
            "slot_errors": slot_errors or {},
            "errors": errors or {},
            "communities": _communities(session),
            "kitchens": [s for s in sites if s.kind == SiteKind.central_kitchen],
            "kinds": list(SiteKind),
            "kind_names": {k.value: k for k in SiteKind},
            "meals": list(Slot),
            "meal_names": {m.value: m for m in Slot},
            "site_names": {s.id: s.name for s in sites},
        },
        status,
    )


@router.get("/admin/sites", response_class=HTMLResponse, include_in_schema=False)
def sites_page(request: Request, staff: AdminStaff, session: ReadSessionDep) -> HTMLResponse:
    return _sites_page(request, session)


@router.post("/admin/sites", response_class=HTMLResponse, include_in_schema=False)
def site_create(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    data = _site_data(form, new=True)
    created, invalid = _submitted(
        session,
        locale,
        SiteCreate,
        data,
        lambda site_in: setup.create_site(
            session=session, clock=clock, actor=staff.actor, site_in=site_in
        ),
    )
    if invalid is not None:
        return _sites_page(request, session, form=data, errors=invalid.errors, status=422)
    return RedirectResponse(f"/admin/sites/{created.id}?saved=1", status_code=303)


@router.get("/admin/sites/{site_id}", response_class=HTMLResponse, include_in_schema=False)
def site_page(
    request: Request, site_id: RowId, staff: AdminStaff, session: ReadSessionDep
) -> HTMLResponse:
    return _sites_page(request, session, site=setup.get_site_any(session=session, site_id=site_id))


@router.post("/admin/sites/{site_id}", response_class=HTMLResponse, include_in_schema=False)
def site_update(
    request: Request,
    site_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    site = setup.get_site_any(session=session, site_id=site_id)
    data = _site_data(form, new=False)
    _, invalid = _submitted(
        session,
        locale,
        SiteUpdate,
        data,
        lambda site_in: setup.update_site(
            session=session, clock=clock, actor=staff.actor, site_id=site_id, site_in=site_in
        ),
    )
    if invalid is not None:
        session.refresh(site)
        return _sites_page(
            request,
            session,
            site=site,
            form={**data, "code": site.code},
            errors=invalid.errors,
            status=invalid.status,
        )
    return RedirectResponse(f"/admin/sites/{site_id}?saved=1", status_code=303)


WINDOW_OUT_OF_ORDER = N_("The delivery window must end after it starts.")
SLOT_FIELDS = ("slot", "cutoff_time", "cutoff_days_before", "delivery_start", "delivery_end")


@router.post("/admin/sites/{site_id}/slots", response_class=HTMLResponse, include_in_schema=False)
def slot_set(
    request: Request,
    site_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    site = setup.get_site_any(session=session, site_id=site_id)
    data = {name: text(form, name) for name in SLOT_FIELDS}
    data["cutoff_days_before"] = data["cutoff_days_before"] or "0"
    _, invalid = _submitted(
        session,
        locale,
        MealSlotCreate,
        data,
        lambda slot_in: setup.set_meal_slot(
            session=session, clock=clock, actor=staff.actor, site_id=site_id, slot_in=slot_in
        ),
    )
    if invalid is not None:
        if "" in invalid.errors:  # the schema's own check: the window's end before its start
            invalid.errors[""] = i18n.gettext(WINDOW_OUT_OF_ORDER, locale)
        return _sites_page(
            request,
            session,
            site=site,
            slot_form=data,
            slot_errors=invalid.errors,
            status=invalid.status,
        )
    return RedirectResponse(f"/admin/sites/{site_id}?saved=1#meals", status_code=303)


@router.post(
    "/admin/sites/{site_id}/slots/{slot}/remove",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def slot_remove(
    request: Request,
    site_id: RowId,
    slot: Slot,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
) -> Response:
    site = setup.get_site_any(session=session, site_id=site_id)
    try:
        with session.begin_nested():
            setup.remove_meal_slot(
                session=session, clock=clock, actor=staff.actor, site_id=site_id, slot=slot
            )
    except DomainError as error:
        return _sites_page(
            request,
            session,
            site=site,
            slot_errors={"": error.render(locale)},
            status=error.status,
        )
    return RedirectResponse(f"/admin/sites/{site_id}?saved=1#meals", status_code=303)


# -- riders -----------------------------------------------------------------------------------


@router.get("/api/v1/riders", response_model=list[RiderPublic])
def riders_json(staff: AdminStaff, session: ReadSessionDep) -> list[RiderPublic]:
    return [_rider_public(r) for r in setup.list_riders(session=session)]


@router.post("/api/v1/riders", response_model=RiderPublic, status_code=201)
def rider_create_json(
    rider_in: RiderCreate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> RiderPublic:
    rider = setup.create_rider(session=session, clock=clock, actor=staff.actor, rider_in=rider_in)
    return _rider_public(rider)


@router.put("/api/v1/riders/{rider_id}", response_model=RiderPublic)
def rider_update_json(
    rider_id: RowId,
    rider_in: RiderUpdate,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
) -> RiderPublic:
    rider = setup.update_rider(
        session=session, clock=clock, actor=staff.actor, rider_id=rider_id, rider_in=rider_in
    )
    return _rider_public(rider)


RIDER_FIELDS = ("name", "phone", "kitchen_id", "mode", "capacity", "shift_start", "shift_end")


def _person_form(session: Session, person: Rider | CommunityWorker) -> dict[str, Any]:
    form = _typed(_values(person))
    if isinstance(person, CommunityWorker):
        form["community_ids"] = setup.worker_communities(
            session=session, worker_id=saved(person.id)
        )
    return form


def _people_page(
    request: Request,
    session: Session,
    template: str,
    *,
    person: Rider | CommunityWorker | None = None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    sites = setup.list_all_sites(session=session)
    communities = _communities(session)
    listed: list[Any]
    if template == "setup_riders.html":
        listed = setup.list_riders(session=session)
    else:
        listed = setup.list_workers(session=session)
    return page(
        request,
        template,
        {
            "people": listed if person is None else [],
            "person": person,
            "form": form or (_person_form(session, person) if person else {"capacity": 30}),
            "errors": errors or {},
            "kitchens": [s for s in sites if s.kind == SiteKind.central_kitchen],
            "site_names": {s.id: s.name for s in sites},
            "communities": communities,
            "community_names": {c.id: c.name for c in communities},
            "covers": {
                w.id: setup.worker_communities(session=session, worker_id=saved(w.id))
                for w in listed
                if isinstance(w, CommunityWorker)
            },
            "modes": list(RiderMode),
            "mode_names": {m.value: m for m in RiderMode},
        },
        status,
    )


@router.get("/admin/riders", response_class=HTMLResponse, include_in_schema=False)
def riders_page(request: Request, staff: AdminStaff, session: ReadSessionDep) -> HTMLResponse:
    return _people_page(request, session, "setup_riders.html")


@router.post("/admin/riders", response_class=HTMLResponse, include_in_schema=False)
def rider_create(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    data = {name: text(form, name) for name in RIDER_FIELDS}
    created, invalid = _submitted(
        session,
        locale,
        RiderCreate,
        data,
        lambda rider_in: setup.create_rider(
            session=session, clock=clock, actor=staff.actor, rider_in=rider_in
        ),
    )
    if invalid is not None:
        return _people_page(
            request,
            session,
            "setup_riders.html",
            form=data,
            errors=invalid.errors,
            status=invalid.status,
        )
    return RedirectResponse(f"/admin/riders?saved={created.id}", status_code=303)


@router.get("/admin/riders/{rider_id}", response_class=HTMLResponse, include_in_schema=False)
def rider_page(
    request: Request, rider_id: RowId, staff: AdminStaff, session: ReadSessionDep
) -> HTMLResponse:
    rider = setup.get_rider(session=session, rider_id=rider_id)
    return _people_page(request, session, "setup_riders.html", person=rider)


@router.post("/admin/riders/{rider_id}", response_class=HTMLResponse, include_in_schema=False)
def rider_update(
    request: Request,
    rider_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    rider = setup.get_rider(session=session, rider_id=rider_id)
    data: dict[str, Any] = {name: text(form, name) for name in RIDER_FIELDS}
    data["active"] = _checked(form, "active")
    _, invalid = _submitted(
        session,
        locale,
        RiderUpdate,
        data,
        lambda rider_in: setup.update_rider(
            session=session, clock=clock, actor=staff.actor, rider_id=rider_id, rider_in=rider_in
        ),
    )
    if invalid is not None:
        session.refresh(rider)
        return _people_page(
            request,
            session,
            "setup_riders.html",
            person=rider,
            form=data,
            errors=invalid.errors,
            status=invalid.status,
        )
    return RedirectResponse(f"/admin/riders/{rider_id}?saved=1", status_code=303)


# -- community workers ------------------------------------------------------------------------


@router.get("/api/v1/community-workers", response_model=list[WorkerPublic])
def workers_json(staff: AdminStaff, session: ReadSessionDep) -> list[WorkerPublic]:
    return [_worker_public(session, w) for w in setup.list_workers(session=session)]


@router.post("/api/v1/community-workers", response_model=WorkerPublic, status_code=201)
def worker_create_json(
    worker_in: WorkerCreate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> WorkerPublic:
    worker = setup.create_worker(
        session=session, clock=clock, actor=staff.actor, worker_in=worker_in
    )
    return _worker_public(session, worker)


@router.put("/api/v1/community-workers/{worker_id}", response_model=WorkerPublic)
def worker_update_json(
    worker_id: RowId,
    worker_in: WorkerUpdate,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
) -> WorkerPublic:
    worker = setup.update_worker(
        session=session, clock=clock, actor=staff.actor, worker_id=worker_id, worker_in=worker_in
    )
    return _worker_public(session, worker)


WORKER_FIELDS = ("community_id", "name", "phone")


@router.get("/admin/workers", response_class=HTMLResponse, include_in_schema=False)
def workers_page(request: Request, staff: AdminStaff, session: ReadSessionDep) -> HTMLResponse:
    return _people_page(request, session, "setup_workers.html")


@router.post("/admin/workers", response_class=HTMLResponse, include_in_schema=False)
def worker_create(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    data: dict[str, Any] = {name: text(form, name) for name in WORKER_FIELDS}
    data["community_ids"] = _ids(form, "community_ids")
    created, invalid = _submitted(
        session,
        locale,
        WorkerCreate,
        data,
        lambda worker_in: setup.create_worker(
            session=session, clock=clock, actor=staff.actor, worker_in=worker_in
        ),
    )
    if invalid is not None:
        return _people_page(
            request,
            session,
            "setup_workers.html",
            form=data,
            errors=invalid.errors,
            status=invalid.status,
        )
    return RedirectResponse(f"/admin/workers?saved={created.id}", status_code=303)


@router.get("/admin/workers/{worker_id}", response_class=HTMLResponse, include_in_schema=False)
def worker_page(
    request: Request, worker_id: RowId, staff: AdminStaff, session: ReadSessionDep
) -> HTMLResponse:
    worker = setup.get_worker(session=session, worker_id=worker_id)
    return _people_page(request, session, "setup_workers.html", person=worker)


@router.post("/admin/workers/{worker_id}", response_class=HTMLResponse, include_in_schema=False)
def worker_update(
    request: Request,
    worker_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    worker = setup.get_worker(session=session, worker_id=worker_id)
    data: dict[str, Any] = {name: text(form, name) for name in WORKER_FIELDS}
    data["community_ids"] = _ids(form, "community_ids")
    data["active"] = _checked(form, "active")
    _, invalid = _submitted(
        session,
        locale,
        WorkerUpdate,
        data,
        lambda worker_in: setup.update_worker(
            session=session,
            clock=clock,
            actor=staff.actor,
            worker_id=worker_id,
            worker_in=worker_in,
        ),
    )
    if invalid is not None:
        session.refresh(worker)
        return _people_page(
            request,
            session,
            "setup_workers.html",
            person=worker,
            form=data,
            errors=invalid.errors,
            status=invalid.status,
        )
    return RedirectResponse(f"/admin/workers/{worker_id}?saved=1", status_code=303)


# -- staff accounts ---------------------------------------------------------------------------


def _account_public(row: accounts.AccountRow) -> AccountPublic:
    return AccountPublic(**vars(row))


@router.get("/api/v1/accounts", response_model=list[AccountPublic])
def accounts_json(staff: AdminStaff, session: ReadSessionDep) -> list[AccountPublic]:
    """Every staff account with its role and links (never a password or its hash)."""
    return [_account_public(row) for row in accounts.list_accounts(session=session)]


def _row_of(session: Session, account_id: int) -> AccountPublic:
    row = next(r for r in accounts.list_accounts(session=session) if r.id == account_id)
    return _account_public(row)


@router.post("/api/v1/accounts", response_model=AccountPublic, status_code=201)
def account_create_json(
    account_in: StaffAccountCreate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> AccountPublic:
    account = accounts.create_account(
        session=session, clock=clock, actor=staff.actor, account_in=account_in
    )
    return _row_of(session, account.id or 0)


@router.post("/api/v1/accounts/{account_id}/active", response_model=AccountPublic)
def account_active_json(
    account_id: RowId,
    body: AccountActive,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
) -> AccountPublic:
    """Disable an account (its sessions end at once) or enable it again."""
    accounts.set_account_active(
        session=session,
        clock=clock,
        actor=staff.actor,
        account_id=account_id,
        active=body.active,
        own_id=staff.id,
    )
    return _row_of(session, account_id)


@router.post("/api/v1/accounts/{account_id}/password", response_model=PasswordResetPublic)
def account_password_json(
    account_id: RowId,
    body: PasswordResetIn,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
) -> PasswordResetPublic:
    """Reset a password: the one given, else a random one, returned this once."""
    reset = accounts.reset_password(
        session=session,
        clock=clock,
        actor=staff.actor,
        account_id=account_id,
        new_password=body.new_password or None,
    )
    return PasswordResetPublic(username=reset.account.username, password=reset.password)


ACCOUNT_LINKS = ("rider_id", "funder_id", "kitchen_id")


def _accounts_page(
    request: Request,
    session: Session,
    staff: Staff,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    shown_password: tuple[str, str] | None = None,
    created: bool = False,
    status: int = 200,
) -> HTMLResponse:
    sites = setup.list_all_sites(session=session)
    communities = _communities(session)
    return page(
        request,
        "setup_accounts.html",
        {
            "accounts": accounts.list_accounts(session=session),
            "form": form or {"community_ids": [], "site_ids": []},
            "errors": errors or {},
            "shown_password": shown_password,
            "created": created,
            "roles": list(Role),
            "riders": setup.list_riders(session=session),
            "funders": setup.list_funders(session=session),
            "kitchens": [s for s in sites if s.kind == SiteKind.central_kitchen],
            "sites": sites,
            "site_names": {s.id: s.name for s in sites},
            "communities": communities,
            "community_names": {c.id: c.name for c in communities},
            "own_id": staff.id,
        },
        status,
    )


@router.get("/admin/accounts", response_class=HTMLResponse, include_in_schema=False)
def accounts_page(request: Request, staff: AdminStaff, session: ReadSessionDep) -> HTMLResponse:
    return _accounts_page(request, session, staff)


@router.post("/admin/accounts", response_class=HTMLResponse, include_in_schema=False)
def account_create(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> HTMLResponse:
    typed = text(form, "password")
    password = typed or accounts.random_password()
    data: dict[str, Any] = {
        "username": text(form, "username").lower(),
        "display_name": text(form, "display_name"),
        "role": text(form, "role"),
        "password": password,
        "community_ids": _ids(form, "community_ids"),
        "site_ids": _ids(form, "site_ids"),
    }
    for link in ACCOUNT_LINKS:
        data[link] = _blank_none(text(form, link))
    created, invalid = _submitted(
        session,
        locale,
        StaffAccountCreate,
        data,
        lambda account_in: accounts.create_account(
            session=session, clock=clock, actor=staff.actor, account_in=account_in
        ),
    )
    if invalid is not None:
        return _accounts_page(
            request,
            session,
            staff,
            form={**data, "password": typed},
            errors=invalid.errors,
            status=invalid.status,
        )
    shown = None if typed else (created.username, password)
    return _accounts_page(request, session, staff, shown_password=shown, created=True)


@router.post(
    "/admin/accounts/{account_id}/active", response_class=HTMLResponse, include_in_schema=False
)
def account_active(
    request: Request,
    account_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    try:
        with session.begin_nested():
            accounts.set_account_active(
                session=session,
                clock=clock,
                actor=staff.actor,
                account_id=account_id,
                active=_checked(form, "active"),
                own_id=staff.id,
            )
    except DomainError as error:
        return _accounts_page(
            request, session, staff, errors={"_list": error.render(locale)}, status=error.status
        )
    return RedirectResponse("/admin/accounts?saved=1", status_code=303)


@router.post(
    "/admin/accounts/{account_id}/password", response_class=HTMLResponse, include_in_schema=False
)
def account_password(
    request: Request,
    account_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
) -> HTMLResponse:
    reset = accounts.reset_password(
        session=session, clock=clock, actor=staff.actor, account_id=account_id
    )
    return _accounts_page(
        request, session, staff, shown_password=(reset.account.username, reset.password)
    )


# -- the set-up as one file -------------------------------------------------------------------

# A set-up is kilobytes to a few megabytes (a city's thousands of sites and rules).
MAX_SETUP_BYTES = 20 * 1024 * 1024


class ImportedPublic(BaseModel):
    """Entries added, and entries this programme had already (kept as they were), by section."""

    added: dict[str, int]
    kept: dict[str, int]


def _download(session: Session, clock: Clock, staff: Staff, with_elders: bool) -> Response:
    data = programme.export_json(
        session=session, clock=clock, actor=staff.actor, with_elders=with_elders
    )
    name = f"mealaid-setup-{clock.now().date().isoformat()}.json"
    return Response(
        data,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/api/v1/setup/export",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "The set-up file"}},
)
def export_json(
    staff: AdminStaff, session: SessionDep, clock: ClockDep, elders: bool = False
) -> Response:
    """The programme's set-up as one JSON file (communities, sites and meals, riders, workers,
    dishes with their recipes, menus from today on, funders, funds, rules), for another
    installation to import; with `elders=true` the elders' records and standing orders too
    (personal data, without ID numbers)."""
    return _download(session, clock, staff, elders)


@router.get("/admin/setup/export", include_in_schema=False)
def export_page(
    staff: AdminStaff, session: SessionDep, clock: ClockDep, elders: bool = False
) -> Response:
    return _download(session, clock, staff, elders)


def _imported(
    session: Session, clock: Clock, settings: Settings, staff: Staff, data: bytes
) -> programme.Imported:
    if len(data) > MAX_SETUP_BYTES:
        raise programme.SetupFileInvalid()
    document = programme.read_setup_file(data)
    with session.begin_nested():
        return programme.import_setup(
            session=session, clock=clock, settings=settings, actor=staff.actor, document=document
        )


@router.post("/api/v1/setup/import", response_model=ImportedPublic)
def import_json(
    document: Annotated[dict[str, Any], Body()],
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> ImportedPublic:
    """Import a set-up file (the JSON `/api/v1/setup/export` gives): what this programme lacks
    is added, what it has is kept. A bad entry is refused, naming its section and number, and
    nothing is written."""
    with session.begin_nested():
        imported = programme.import_setup(
            session=session, clock=clock, settings=settings, actor=staff.actor, document=document
        )
    return ImportedPublic(added=imported.added, kept=imported.kept)


@router.post("/admin/setup/import", response_class=HTMLResponse, include_in_schema=False)
def import_page(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    try:
        imported = _imported(
            session,
            clock,
            request.app.state.settings,
            staff,
            file.file.read(MAX_SETUP_BYTES + 1),
        )
    except DomainError as error:
        return page(
            request,
            "setup.html",
            {
                "checklist": checklist(request, session, clock),
                "import_error": error.render(locale),
            },
            error.status,
        )
    added = sum(imported.added.values())
    kept = sum(imported.kept.values())
    message = i18n.render(
        N_("Imported: {added} entries added, {kept} already here and kept as they were."),
        locale,
        {"added": added, "kept": kept},
    )
    return page(
        request,
        "setup.html",
        {"checklist": checklist(request, session, clock), "imported": message},
    )
