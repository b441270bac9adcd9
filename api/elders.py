"""The elders registry for community workers and the admin: search, register, edit, family-link
codes and links, pauses; pages and their JSON twins. A community worker sees and changes only
the elders of their own communities. Every view of a record and every change goes to the audit
log (names of fields, never their values)."""

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.datastructures import FormData

from api import elder_import
from api.accounts.access import Staff, elder_scope, may_see_elder
from api.accounts.errors import CommunityNotYours
from api.audit_log import phone_search, record_view
from api.deps import ClockDep, LocaleDep, ReadSessionDep, RegistryStaff, SessionDep, SettingsDep
from api.errors import REFUSED_RESPONSE, STAFF_RESPONSES, ErrorPublic
from api.forms import BlankIsNone, FormDep, FormInvalid, refusal, rows, text, validated
from api.templating import page
from core import i18n
from core.clock import Clock, today
from core.errors import DomainError, ElderNotFound
from core.i18n import N_
from core.models import ChatUser, Elder, ElderLink, saved
from core.schemas import ElderCreate, ElderUpdate, PauseCreate
from core.settings import Settings
from core.sites import list_communities, list_sites
from core.types import (
    MAX_ID,
    Allergen,
    Category,
    DietTag,
    ElderStatus,
    LinkRelation,
    RowId,
    ServiceMode,
    Texture,
)
from usecases import elders
from usecases.elders import (
    ElderPage,
    ElderRecord,
    elder_input,
    elder_record,
    get_elder,
    search_elders,
)
from usecases.ordering import PausedMeals
from usecases.phone_search import (
    PhoneDigitsTooFew,
    TooManyPhoneSearches,
)

router = APIRouter(tags=["elders"], responses={**STAFF_RESPONSES, 400: REFUSED_RESPONSE})
# The import's page and JSON twins before the routes below: "/elders/import" is no elder's id.
router.include_router(elder_import.router)

PAGE_SIZE = 50
E = TypeVar("E", bound=ElderCreate)
CHECK_FIELDS = N_("Nothing was saved. Please check the fields marked below.")
SAVED = N_("Saved.")
PAUSED = N_("Meals are paused for the dates below.")
PAUSE_ENDED = N_("The pause has ended: meals can be ordered again from today.")
PAUSE_CANCELLED = N_("The pause was cancelled before it began.")
LINK_REVOKED = N_("The link was revoked: this chat can no longer order for the elder.")
LINK_APPROVED = N_("The link was approved.")
CARD_REISSUED = N_(
    "A new meal card was issued: the old one no longer works at the counter. Print the new card."
)
CODE_INSTRUCTIONS = N_(
    "Give this code to the family member, on paper or by phone. In the MealAid chat they press "
    "“I have a family code” (or “Order for another elder” in the settings) and type the code. "
    "It works once, until {expires}. It is shown only now: if it is lost, issue a new one."
)
ORDERS_CANCELLED = N_("Orders in this period cancelled: {num}.")
ORDERS_KEPT = N_(
    "Orders in this period already confirmed for the kitchen: {num}. Please tell the kitchen."
)
NOTICES = {
    "saved": SAVED,
    "paused": PAUSED,
    "pause-ended": PAUSE_ENDED,
    "pause-cancelled": PAUSE_CANCELLED,
    "link-revoked": LINK_REVOKED,
    "link-approved": LINK_APPROVED,
    "card-reissued": CARD_REISSUED,
}


# -- the object-level rule, once --------------------------------------------------------------


def elder_for(session: Session, staff: Staff, elder_id: int) -> Elder:
    """The elder, if this person may see them. One of another community is answered as one
    that does not exist (404 both), so the answer does not tell which ids are elders."""
    elder = get_elder(session=session, elder_id=elder_id)
    if not may_see_elder(staff, elder.community_id):
        raise ElderNotFound(elder_id=elder_id)
    return elder


def _search(
    request: Request, session: Session, clock: Clock, staff: Staff, **wanted: Any
) -> ElderPage:
    """Search the elders this person looks after (`search_elders`); a search by phone digits
    is checked against this person's budget first and recorded with the answer."""
    search = phone_search(request, session, clock, staff.actor, wanted.get("query"), where="elders")
    found = search_elders(
        session=session, on=today(clock), community_ids=elder_scope(staff), **wanted
    )
    search.record(total=found.total, elder_ids=[e.id for e in found.rows])
    return found


def _check_community(staff: Staff, community_id: int) -> None:
    if not may_see_elder(staff, community_id):
        raise CommunityNotYours(community_id=community_id, field_code="community_id")


# -- use cases shared by the pages and the JSON API: who may, then usecases.elders ----------


def _locator(request: Request) -> elders.Locator:
    """Places an elder registered without a location (the app's geocoder, if configured)."""
    return elders.locator_from(request.app.state.settings)


LocatorDep = Annotated[elders.Locator, Depends(_locator)]


def register(
    session: Session, clock: Clock, staff: Staff, elder_in: ElderCreate, locator: elders.Locator
) -> Elder:
    _check_community(staff, elder_in.community_id)
    return elders.register_elder(
        session=session, clock=clock, actor=staff.actor, elder_in=elder_in, locator=locator
    )


def change(
    session: Session,
    clock: Clock,
    staff: Staff,
    elder_id: int,
    elder_in: ElderUpdate,
    locator: elders.Locator,
) -> list[str]:
    elder_for(session, staff, elder_id)
    _check_community(staff, elder_in.community_id)
    return elders.change_elder(
        session=session,
        clock=clock,
        actor=staff.actor,
        elder_id=elder_id,
        elder_in=elder_in,
        locator=locator,
    )


def new_code(session: Session, clock: Clock, staff: Staff, elder_id: int) -> tuple[str, datetime]:
    elder_for(session, staff, elder_id)
    return elders.issue_link_code(
        session=session, clock=clock, actor=staff.actor, elder_id=elder_id
    )


def link_action(
    session: Session, clock: Clock, staff: Staff, elder_id: int, link_id: int, act: str
) -> ElderLink:
    elder_for(session, staff, elder_id)
    change_link = elders.revoke_link if act == "revoke" else elders.approve_link
    return change_link(
        session=session, clock=clock, actor=staff.actor, elder_id=elder_id, link_id=link_id
    )


def pause(
    session: Session,
    clock: Clock,
    settings: Settings,
    staff: Staff,
    elder_id: int,
    pause_in: PauseCreate,
) -> PausedMeals:
    elder_for(session, staff, elder_id)
    return elders.pause_meals(
        session=session,
        clock=clock,
        settings=settings,
        actor=staff.actor,
        elder_id=elder_id,
        pause_in=pause_in,
    )


def unpause(session: Session, clock: Clock, staff: Staff, elder_id: int, pause_id: int) -> str:
    elder_for(session, staff, elder_id)
    return elders.end_pause(
        session=session, clock=clock, actor=staff.actor, elder_id=elder_id, pause_id=pause_id
    )


# -- JSON ------------------------------------------------------------------------------------


class ElderRowPublic(BaseModel):
    """An elder in a list: phone and address masked."""

    id: int
    name: str
    phone_masked: str
    address_masked: str
    community_id: int
    community: str
    categories: list[Category]
    status: ElderStatus
    consent: bool
    age: int
    id_tail: str | None = Field(description="The ID card number's last four characters")


class ElderListPublic(BaseModel):
    total: int
    offset: int
    limit: int
    elders: list[ElderRowPublic]


class CategoryPublic(BaseModel):
    category: Category
    valid_from: date
    valid_to: date | None


class ContactPublic(BaseModel):
    name: str
    relation: str
    phone: str
    priority: int


class LinkPublic(BaseModel):
    id: int
    chat_user_id: int
    name: str
    relation: LinkRelation
    verified_at: datetime
    verified_by: str
    revoked_at: datetime | None


class PausePublic(BaseModel):
    id: int
    start_date: date
    end_date: date
    reason: str | None


class ElderPublic(BaseModel):
    """An elder's whole record, for the admin and the elder's community workers."""

    id: int
    name: str
    phone: str | None
    address: str
    lat: float
    lon: float
    location_approximate: bool = Field(
        description="Placed at the community's centre: correct it by sending lat and lon"
    )
    community_id: int
    community: str
    birth_date: date
    id_number_tail: str | None = Field(description="The ID card number's last four characters")
    gender: str | None
    texture: Texture
    diet_needs: list[DietTag]
    allergies: list[Allergen]
    service_mode: ServiceMode
    home_site_id: int | None
    language: str
    status: ElderStatus
    notes: str | None
    consent_at: datetime | None
    created_at: datetime
    categories: list[CategoryPublic]
    emergency_contacts: list[ContactPublic]
    links: list[LinkPublic]
    pauses: list[PausePublic]


class LinkCodePublic(BaseModel):
    code: str
    expires_at: datetime
    instructions: str


class PauseMadePublic(PausePublic):
    cancelled_orders: list[int]  # orders in the period that were cancelled (budget released)
    kept_orders: list[int]  # orders already locked for the kitchen: tell the kitchen


class PauseEndPublic(BaseModel):
    pause_id: int
    result: str  # "ended" (it ended yesterday) or "cancelled" (it had not begun)


def _link_public(link: Any, name: str) -> LinkPublic:
    return LinkPublic(
        id=link.id,
        chat_user_id=link.chat_user_id,
        name=name,
        relation=LinkRelation(link.relation),
        verified_at=link.verified_at,
        verified_by=link.verified_by,
        revoked_at=link.revoked_at,
    )


def _elder_public(record: ElderRecord) -> ElderPublic:
    elder = record.elder
    return ElderPublic(
        **{name: getattr(elder, name) for name in ElderPublic.model_fields if hasattr(elder, name)},
        community=record.community.name,
        categories=[
            CategoryPublic(
                category=Category(c.category), valid_from=c.valid_from, valid_to=c.valid_to
            )
            for c in record.categories
        ],
        emergency_contacts=[
            ContactPublic(name=c.name, relation=c.relation, phone=c.phone, priority=c.priority)
            for c in record.contacts
        ],
        links=[LinkPublic(**vars(link)) for link in record.links],
        pauses=[
            PausePublic(
                id=saved(p.id), start_date=p.start_date, end_date=p.end_date, reason=p.reason
            )
            for p in record.pauses
        ],
    )


@router.get(
    "/api/v1/elders",
    response_model=ElderListPublic,
    responses={429: {"model": ErrorPublic, "description": "Too many searches by phone digits"}},
)
def elders_json(
    request: Request,
    staff: RegistryStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    q: Annotated[str | None, Query(max_length=64)] = None,
    community_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    category: Category | None = None,
    status: ElderStatus | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
) -> ElderListPublic:
    """Search the elders this account looks after, by name, phone digits (at least 4; each
    such search is recorded, and limited an hour and a day) or community name. Phone numbers
    and addresses are masked."""
    found = _search(
        request,
        session,
        clock,
        staff,
        query=q,
        community_id=community_id,
        category=category,
        status=status,
        offset=offset,
        limit=limit,
    )
    return ElderListPublic(
        total=found.total,
        offset=found.offset,
        limit=found.limit,
        elders=[
            ElderRowPublic(**{**vars(row), "categories": list(row.categories)})
            for row in found.rows
        ],
    )


@router.post("/api/v1/elders", response_model=ElderPublic, status_code=201)
def create_elder_json(
    elder_in: ElderCreate,
    staff: RegistryStaff,
    session: SessionDep,
    clock: ClockDep,
    locator: LocatorDep,
) -> ElderPublic:
    """Register an elder in one of this account's communities (without lat and lon: placed at
    her address, or at her community's centre marked approximate)."""
    elder = register(session, clock, staff, elder_in, locator)
    return _elder_public(elder_record(session=session, elder_id=saved(elder.id)))


@router.get("/api/v1/elders/{elder_id}", response_model=ElderPublic)
def elder_json(
    request: Request, elder_id: RowId, staff: RegistryStaff, session: ReadSessionDep
) -> ElderPublic:
    """An elder's whole record, with the full phone number and address (recorded in the audit
    log)."""
    elder_for(session, staff, elder_id)
    record = elder_record(session=session, elder_id=elder_id)
    record_view(request, actor=staff.actor, action="view_elder", subject=f"elder:{elder_id}")
    return _elder_public(record)


@router.put("/api/v1/elders/{elder_id}", response_model=ElderPublic)
def update_elder_json(
    elder_id: RowId,
    elder_in: ElderUpdate,
    staff: RegistryStaff,
    session: SessionDep,
    clock: ClockDep,
    locator: LocatorDep,
) -> ElderPublic:
    """Replace an elder's record (categories and emergency contacts replace the old ones)."""
    change(session, clock, staff, elder_id, elder_in, locator)
    return _elder_public(elder_record(session=session, elder_id=elder_id))


@router.post("/api/v1/elders/{elder_id}/link-codes", response_model=LinkCodePublic, status_code=201)
def link_code_json(
    elder_id: RowId, staff: RegistryStaff, session: SessionDep, clock: ClockDep, locale: LocaleDep
) -> LinkCodePublic:
    """A new one-time family-link code for the chat; shown only in this answer."""
    code, expires = new_code(session, clock, staff, elder_id)
    shown = expires.astimezone(clock.now().tzinfo)
    return LinkCodePublic(
        code=code,
        expires_at=expires,
        instructions=i18n.render(CODE_INSTRUCTIONS, locale, {"expires": shown}),
    )


@router.get("/api/v1/elders/{elder_id}/links", response_model=list[LinkPublic])
def links_json(
    request: Request, elder_id: RowId, staff: RegistryStaff, session: ReadSessionDep
) -> list[LinkPublic]:
    """The chats linked to an elder, revoked ones too."""
    elder_for(session, staff, elder_id)
    record = elder_record(session=session, elder_id=elder_id)
    record_view(
        request, actor=staff.actor, action="view_elder", subject=f"elder:{elder_id}", detail="links"
    )
    return [LinkPublic(**vars(link)) for link in record.links]


def _link_name(session: Session, chat_user_id: int) -> str:
    user = session.get(ChatUser, chat_user_id)
    return user.name if user else ""


@router.post("/api/v1/elders/{elder_id}/links/{link_id}/revoke", response_model=LinkPublic)
def revoke_link_json(
    elder_id: RowId, link_id: RowId, staff: RegistryStaff, session: SessionDep, clock: ClockDep
) -> LinkPublic:
    """This chat may no longer order for the elder nor get alerts about them."""
    link = link_action(session, clock, staff, elder_id, link_id, "revoke")
    return _link_public(link, _link_name(session, link.chat_user_id))


@router.post("/api/v1/elders/{elder_id}/links/{link_id}/approve", response_model=LinkPublic)
def approve_link_json(
    elder_id: RowId, link_id: RowId, staff: RegistryStaff, session: SessionDep, clock: ClockDep
) -> LinkPublic:
    """Approve a link (again): the chat may order for the elder."""
    link = link_action(session, clock, staff, elder_id, link_id, "approve")
    return _link_public(link, _link_name(session, link.chat_user_id))


@router.get("/api/v1/elders/{elder_id}/pauses", response_model=list[PausePublic])
def pauses_json(
    elder_id: RowId, staff: RegistryStaff, session: ReadSessionDep
) -> list[PausePublic]:
    """An elder's pauses, the latest first."""
    elder_for(session, staff, elder_id)
    return [
        PausePublic(id=saved(p.id), start_date=p.start_date, end_date=p.end_date, reason=p.reason)
        for p in elder_record(session=session, elder_id=elder_id).pauses
    ]


@router.post("/api/v1/elders/{elder_id}/pauses", response_model=PauseMadePublic, status_code=201)
def pause_json(
    elder_id: RowId,
    pause_in: PauseCreate,
    staff: RegistryStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> PausePublic:
    """Pause an elder's meals from today or later, for a period (inclusive); orders in the
    period still before their cutoff are cancelled, those already locked are named."""
    made = pause(session, clock, settings, staff, elder_id, pause_in)
    return PauseMadePublic(
        id=saved(made.pause.id),
        start_date=made.pause.start_date,
        end_date=made.pause.end_date,
        reason=made.pause.reason,
        cancelled_orders=made.cancelled,
        kept_orders=made.kept,
    )


@router.post("/api/v1/elders/{elder_id}/pauses/{pause_id}/end", response_model=PauseEndPublic)
def end_pause_json(
    elder_id: RowId, pause_id: RowId, staff: RegistryStaff, session: SessionDep, clock: ClockDep
) -> PauseEndPublic:
    """Meals resume today: a pause under way ends yesterday, one not begun is cancelled."""
    return PauseEndPublic(
        pause_id=pause_id, result=unpause(session, clock, staff, elder_id, pause_id)
    )


# -- pages -----------------------------------------------------------------------------------

SCALARS = (
    "name",
    "phone",
    "address",
    "lat",
    "lon",
    "community_id",
    "birth_date",
    "gender",
    "texture",
    "service_mode",
    "home_site_id",
    "language",
    "notes",
    "id_number",
)
# Left empty: no phone...; no location (the elder is placed at her address, or approximately);
# on an edit, the ID number there is kept (it is never shown again).
OPTIONAL = {"phone", "gender", "home_site_id", "notes", "lat", "lon", "id_number"}
WITH_DEFAULTS = {"texture", "service_mode", "language", "status"}
CATEGORY_FIELDS = ("category", "valid_from", "valid_to")
CONTACT_FIELDS = ("name", "relation", "phone", "priority")
BLANK_ROWS = 2


def _elder_data(
    form: FormData, with_status: bool
) -> tuple[dict[str, Any], dict[str, list[int]], dict[str, Any]]:
    """The schema's input from the form, the form's row numbers of each group, and what was
    typed (to show the form again as it was)."""
    data: dict[str, Any] = {}
    for name in (*SCALARS, "status") if with_status else SCALARS:
        value: Any = text(form, name)
        if value == "" and name in OPTIONAL:
            value = None
        if value == "" and name in WITH_DEFAULTS:
            continue
        data[name] = value
    data["diet_needs"] = [v for v in form.getlist("diet_needs") if isinstance(v, str)]
    data["allergies"] = [v for v in form.getlist("allergies") if isinstance(v, str)]
    data["consent"] = text(form, "consent") == "yes"
    categories = rows(form, "categories", CATEGORY_FIELDS)
    contacts = rows(form, "emergency_contacts", CONTACT_FIELDS)
    data["categories"] = [{**row, "valid_to": row["valid_to"] or None} for _, row in categories]
    data["emergency_contacts"] = [{**row, "priority": row["priority"] or 1} for _, row in contacts]
    numbers = {
        "categories": [n for n, _ in categories],
        "emergency_contacts": [n for n, _ in contacts],
    }
    typed = {
        **{name: text(form, name) for name in (*SCALARS, "status")},
        "diet_needs": data["diet_needs"],
        "allergies": data["allergies"],
        "consent": data["consent"],
        "categories": [{"row": n, **row} for n, row in categories],
        "emergency_contacts": [{"row": n, **row} for n, row in contacts],
    }
    return data, numbers, typed


def _typed_from(elder_in: ElderUpdate) -> dict[str, Any]:
    def shown(value: Any) -> str:
        return "" if value is None else str(value)

    return {
        **{name: shown(getattr(elder_in, name)) for name in (*SCALARS, "status")},
        "diet_needs": [str(v) for v in elder_in.diet_needs],
        "allergies": [str(v) for v in elder_in.allergies],
        "consent": elder_in.consent,
        "categories": [
            {
                "row": n,
                "category": str(c.category),
                "valid_from": shown(c.valid_from),
                "valid_to": shown(c.valid_to),
            }
            for n, c in enumerate(elder_in.categories)
        ],
        "emergency_contacts": [
            {
                "row": n,
                "name": c.name,
                "relation": c.relation,
                "phone": c.phone,
                "priority": str(c.priority),
            }
            for n, c in enumerate(elder_in.emergency_contacts)
        ],
    }


def _with_blank_rows(typed: dict[str, Any]) -> dict[str, Any]:
    for group, fields in (("categories", CATEGORY_FIELDS), ("emergency_contacts", CONTACT_FIELDS)):
        start = max((row["row"] for row in typed[group]), default=-1) + 1
        typed[group] = typed[group] + [
            {"row": start + i, **dict.fromkeys(fields, "")} for i in range(BLANK_ROWS)
        ]
    return typed


def _form_page(
    request: Request,
    session: Session,
    staff: Staff,
    *,
    typed: dict[str, Any],
    errors: dict[str, str],
    elder_id: int | None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "elder_form.html",
        {
            "values": _with_blank_rows(typed),
            "errors": errors,
            "elder_id": elder_id,
            "communities": list_communities(session=session, ids=elder_scope(staff)),
            "sites": list_sites(session=session),
            "choices": {
                "texture": list(Texture),
                "service_mode": list(ServiceMode),
                "diet_needs": list(DietTag),
                "allergies": list(Allergen),
                "category": list(Category),
                "status": list(ElderStatus),
            },
        },
        status,
    )


@router.get("/elders", response_class=HTMLResponse, include_in_schema=False)
def elders_page(
    request: Request,
    staff: RegistryStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    q: Annotated[str | None, Query(max_length=64)] = None,
    community_id: Annotated[
        Annotated[int, Field(ge=1, le=MAX_ID)] | None, BlankIsNone, Query()
    ] = None,
    category: Annotated[Category | None, BlankIsNone, Query()] = None,
    status: Annotated[ElderStatus | None, BlankIsNone, Query()] = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    locale: LocaleDep = "zh_CN",
) -> HTMLResponse:
    scope = elder_scope(staff)
    error, status_code = None, 200
    try:
        found = _search(
            request,
            session,
            clock,
            staff,
            query=q,
            community_id=community_id,
            category=category,
            status=status,
            offset=(page_number - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    except (PhoneDigitsTooFew, TooManyPhoneSearches) as refused:
        # Said above the search box, which keeps what was typed; nothing is listed.
        found = ElderPage(rows=[], total=0, offset=0, limit=PAGE_SIZE)
        error, status_code = refused.render(locale), refused.status
    return page(
        request,
        "elders.html",
        {
            "error": error,
            "found": found,
            "q": q or "",
            "community_id": community_id,
            "category": category,
            "status": status,
            "page_number": page_number,
            "pages": max(1, -(-found.total // PAGE_SIZE)),
            "communities": list_communities(session=session, ids=scope),
            "categories": list(Category),
            "statuses": list(ElderStatus),
        },
        status_code,
    )


@router.get("/elders/new", response_class=HTMLResponse, include_in_schema=False)
def new_elder_page(request: Request, staff: RegistryStaff, session: ReadSessionDep) -> HTMLResponse:
    communities = list_communities(session=session, ids=elder_scope(staff))
    typed: dict[str, Any] = {name: "" for name in (*SCALARS, "status")}
    typed.update(
        diet_needs=[],
        allergies=[],
        consent=False,
        categories=[],
        emergency_contacts=[],
        texture="regular",
        service_mode="delivery",
        language="zh_CN",
        community_id=str(communities[0].id) if len(communities) == 1 else "",
    )
    return _form_page(request, session, staff, typed=typed, errors={}, elder_id=None)


@router.post("/elders/new", response_class=HTMLResponse, include_in_schema=False)
def new_elder(
    request: Request,
    staff: RegistryStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    def save(elder_in: ElderCreate) -> int:
        return saved(register(session, clock, staff, elder_in, _locator(request)).id)

    return _submitted(
        request, session, staff, locale, form, elder_id=None, schema=ElderCreate, save=save
    )


def _submitted(
    request: Request,
    session: Session,
    staff: Staff,
    locale: str,
    form: FormData,
    *,
    elder_id: int | None,
    schema: type[E],
    save: Callable[[E], int],
) -> Response:
    """The elder form posted (new: `elder_id` None): saved and on to the elder's page, or
    shown again with each error next to its field and nothing written."""
    data, numbers, typed = _elder_data(form, with_status=elder_id is not None)
    try:
        elder_in = validated(schema, data, locale, numbers)
        try:
            saved_id = save(elder_in)
        except DomainError as error:
            raise refusal(error, locale, numbers) from None
    except FormInvalid as invalid:
        return _form_page(
            request,
            session,
            staff,
            typed=typed,
            errors=invalid.errors,
            elder_id=elder_id,
            status=invalid.status,
        )
    return RedirectResponse(f"/elders/{saved_id}?done=saved", status_code=303)


def _detail_page(
    request: Request,
    session: Session,
    staff: Staff,
    clock: Clock,
    elder_id: RowId,
    *,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The elder's page."""
    elder_for(session, staff, elder_id)
    record = elder_record(session=session, elder_id=elder_id)
    record_view(request, actor=staff.actor, action="view_elder", subject=f"elder:{elder_id}")
    done = request.query_params.get("done")
    notices = [i18n.gettext(NOTICES[done], request.state.locale)] if done in NOTICES else []
    if done == "paused":
        for key, message in (("cancelled", ORDERS_CANCELLED), ("kept", ORDERS_KEPT)):
            number = request.query_params.get(key, "")
            if number.isdigit() and 0 < int(number) < 1000:
                notices.append(i18n.render(message, request.state.locale, {"num": int(number)}))
    context = {
        "record": record,
        "status": ElderStatus(record.elder.status),
        "service_mode": ServiceMode(record.elder.service_mode),
        "today": today(clock),
        "notice": " ".join(notices) or None,
        "pause_values": {"start_date": "", "end_date": "", "reason": ""},
        "pause_errors": {},
        "tz": request.app.state.settings.tz,
        "categories_now": {
            Category(c.category)
            for c in record.categories
            if c.valid_from <= today(clock) and (c.valid_to is None or c.valid_to >= today(clock))
        },
    }
    context.update(extra or {})
    return page(request, "elder.html", context, status)


@router.get("/elders/{elder_id}", response_class=HTMLResponse, include_in_schema=False)
def elder_page(
    request: Request,
    elder_id: RowId,
    staff: RegistryStaff,
    session: ReadSessionDep,
    clock: ClockDep,
) -> HTMLResponse:
    return _detail_page(request, session, staff, clock, elder_id)


@router.get("/elders/{elder_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_elder_page(
    request: Request, elder_id: RowId, staff: RegistryStaff, session: ReadSessionDep
) -> HTMLResponse:
    elder_for(session, staff, elder_id)
    record = elder_record(session=session, elder_id=elder_id)
    record_view(
        request, actor=staff.actor, action="view_elder", subject=f"elder:{elder_id}", detail="edit"
    )
    typed = _typed_from(elder_input(record))
    return _form_page(request, session, staff, typed=typed, errors={}, elder_id=elder_id)


@router.post("/elders/{elder_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_elder(
    request: Request,
    elder_id: RowId,
    staff: RegistryStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    elder_for(session, staff, elder_id)

    def save(elder_in: ElderUpdate) -> int:
        change(session, clock, staff, elder_id, elder_in, _locator(request))
        return elder_id

    return _submitted(
        request, session, staff, locale, form, elder_id=elder_id, schema=ElderUpdate, save=save
    )


@router.post("/elders/{elder_id}/link-codes", response_class=HTMLResponse, include_in_schema=False)
def link_code_page(
    request: Request,
    elder_id: RowId,
    staff: RegistryStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
) -> HTMLResponse:
    elder = elder_for(session, staff, elder_id)
    code, expires = new_code(session, clock, staff, elder_id)
    shown = expires.astimezone(request.app.state.settings.tz)
    return page(
        request,
        "link_code.html",
        {
            "elder": elder,
            "code": code,
            "instructions": i18n.render(CODE_INSTRUCTIONS, locale, {"expires": shown}),
        },
    )


@router.post("/elders/{elder_id}/links/{link_id}/revoke", include_in_schema=False)
def revoke_link_page(
    elder_id: RowId, link_id: RowId, staff: RegistryStaff, session: SessionDep, clock: ClockDep
) -> RedirectResponse:
    link_action(session, clock, staff, elder_id, link_id, "revoke")
    return RedirectResponse(f"/elders/{elder_id}?done=link-revoked#links", status_code=303)


@router.post("/elders/{elder_id}/links/{link_id}/approve", include_in_schema=False)
def approve_link_page(
    elder_id: RowId, link_id: RowId, staff: RegistryStaff, session: SessionDep, clock: ClockDep
) -> RedirectResponse:
    link_action(session, clock, staff, elder_id, link_id, "approve")
    return RedirectResponse(f"/elders/{elder_id}?done=link-approved#links", status_code=303)


@router.post("/elders/{elder_id}/pauses", response_class=HTMLResponse, include_in_schema=False)
def pause_page(
    request: Request,
    elder_id: RowId,
    staff: RegistryStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    elder_for(session, staff, elder_id)
    typed = {name: text(form, name) for name in ("start_date", "end_date", "reason")}
    data = {**typed, "reason": typed["reason"] or None}
    try:
        pause_in = validated(PauseCreate, data, locale, {})
        try:
            made = pause(session, clock, request.app.state.settings, staff, elder_id, pause_in)
        except DomainError as error:
            raise refusal(error, locale, {}) from None
    except FormInvalid as invalid:
        return _detail_page(
            request,
            session,
            staff,
            clock,
            elder_id,
            status=invalid.status,
            extra={"pause_values": typed, "pause_errors": invalid.errors},
        )
    counts = f"&cancelled={len(made.cancelled)}&kept={len(made.kept)}"
    return RedirectResponse(
        f"/elders/{elder_id}?done=paused{counts}#pause-{made.pause.id}", status_code=303
    )


@router.post("/elders/{elder_id}/pauses/{pause_id}/end", include_in_schema=False)
def end_pause_page(
    elder_id: RowId, pause_id: RowId, staff: RegistryStaff, session: SessionDep, clock: ClockDep
) -> RedirectResponse:
    how = unpause(session, clock, staff, elder_id, pause_id)
    notice = "pause-ended" if how == "ended" else "pause-cancelled"
    return RedirectResponse(f"/elders/{elder_id}?done={notice}#pauses", status_code=303)
