"""A programme's set-up as the admin keeps it: communities with their street and district,
sites with the communities they serve and their meal slots, riders and community workers; each
change with its audit entry (the set-up is programme policy: who changed what is in the log).
The staff pages, the JSON API, `mealaid setup import` and the demo's city call these."""

from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import Field
from sqlmodel import Session, SQLModel, col, func, select

from billing.models import Funder, SubsidyRule
from core import audit
from core.accounts import Role, StaffAccount
from core.clock import Clock, today
from core.errors import Conflict, DomainError, NotFound
from core.i18n import N_
from core.models import (
    ACTIVE_ORDER,
    Community,
    CommunityWorker,
    CommunityWorkerCommunity,
    Dish,
    District,
    Elder,
    MealSlot,
    Menu,
    Order,
    Rider,
    Site,
    SiteServiceArea,
    StandingOrder,
    Street,
    saved,
)
from core.schemas import (
    CommunityCreate,
    Latitude,
    Longitude,
    MealSlotCreate,
    Name,
    Phone,
    RiderCreate,
    Schema,
    SiteCreate,
)
from core.sites import (
    create_community as _create_community,
)
from core.sites import (
    create_site as _create_site,
)
from core.sites import (
    get_community,
    list_communities,
    place_in_jurisdiction,
)
from core.types import RowId, SiteKind, Slot
from core.validation import LINE, service

__all__ = [
    "CommunityCreate",
    "CommunityUpdate",
    "MealSlotCreate",
    "RiderCreate",
    "RiderUpdate",
    "SiteCreate",
    "SiteUpdate",
    "WorkerCreate",
    "WorkerUpdate",
    "create_community",
    "create_rider",
    "create_site",
    "create_worker",
    "get_community",
    "get_rider",
    "get_site_any",
    "get_worker",
    "list_all_sites",
    "list_communities",
    "list_districts",
    "list_funders",
    "list_riders",
    "list_streets",
    "list_workers",
    "programme_is_new",
    "remove_meal_slot",
    "served_communities",
    "set_meal_slot",
    "setup_progress",
    "site_slots",
    "update_community",
    "update_rider",
    "update_site",
    "update_worker",
    "worker_communities",
]


# -- refusals -----------------------------------------------------------------------------------


class NotAKitchen(DomainError):
    code = "not_a_kitchen"
    message = N_("{site} is not a central kitchen.")
    status = 422


class SlotInUse(Conflict):
    code = "slot_in_use"
    message = N_(
        "{site} has orders for {slot} from today on: cancel them or keep serving this meal."
    )


class RiderNotFound(NotFound):
    code = "rider_not_found"
    message = N_("We could not find this rider.")


class WorkerNotFound(NotFound):
    code = "worker_not_found"
    message = N_("We could not find this community worker.")


class SiteMissing(NotFound):
    code = "site_not_found"
    message = N_("We could not find this meal site.")


# -- inputs -------------------------------------------------------------------------------------


class CommunityUpdate(Schema):
    """A community's name, place and jurisdiction; its code stays (elders' records name it)."""

    name: Name
    street: Name
    district: Name
    city: Name
    lat: Latitude
    lon: Longitude


class SiteUpdate(Schema):
    """Everything about a site but its code and its slots (set one at a time)."""

    name: Name
    kind: SiteKind
    address: Annotated[str, Field(min_length=1, max_length=200), LINE]
    lat: Latitude
    lon: Longitude
    community_id: RowId
    phone: Phone
    kitchen_id: RowId | None = None
    offers_delivery: bool = False
    offers_pickup: bool = False
    offers_dine_in: bool = False
    serves_community_ids: list[RowId] = Field(default_factory=list)
    active: bool = True


class RiderUpdate(RiderCreate):
    active: bool = True


class WorkerCreate(Schema):
    community_id: RowId
    # The other communities she covers; her welfare alerts come from all of them.
    community_ids: list[RowId] = Field(default_factory=list)
    name: Name
    phone: Phone


class WorkerUpdate(WorkerCreate):
    active: bool = True


# -- reads --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Jurisdiction:
    """A district or a street with its id, for the pages and for policy rules' layers."""

    id: int
    name: str
    district_id: int | None  # a street's district; None for a district
    city: str


def list_districts(*, session: Session) -> list[Jurisdiction]:
    rows = session.exec(select(District).order_by(col(District.city), col(District.name)))
    return [Jurisdiction(saved(d.id), d.name, None, d.city) for d in rows]


def list_streets(*, session: Session) -> list[Jurisdiction]:
    rows = session.exec(
        select(Street, District)
        .join(District, col(District.id) == Street.district_id)
        .order_by(col(District.city), col(District.name), col(Street.name))
    )
    return [Jurisdiction(saved(s.id), s.name, s.district_id, d.city) for s, d in rows]


def get_site_any(*, session: Session, site_id: int) -> Site:
    """A site, active or not (the set-up pages show both)."""
    site = session.get(Site, site_id)
    if site is None:
        raise SiteMissing(site_id=site_id)
    return site


def list_all_sites(*, session: Session) -> list[Site]:
    return list(session.exec(select(Site).order_by(col(Site.name), col(Site.id))))


def site_slots(*, session: Session, site_id: int) -> list[MealSlot]:
    order = sa.case({"breakfast": 0, "lunch": 1, "dinner": 2}, value=col(MealSlot.slot), else_=3)
    return list(session.exec(select(MealSlot).where(MealSlot.site_id == site_id).order_by(order)))


def served_communities(*, session: Session, site_id: int) -> list[int]:
    return sorted(
        session.exec(select(SiteServiceArea.community_id).where(SiteServiceArea.site_id == site_id))
    )


def list_funders(*, session: Session) -> list[Funder]:
    return list(session.exec(select(Funder).order_by(col(Funder.id))))


def list_riders(*, session: Session) -> list[Rider]:
    return list(session.exec(select(Rider).order_by(col(Rider.name), col(Rider.id))))


def get_rider(*, session: Session, rider_id: int) -> Rider:
    rider = session.get(Rider, rider_id)
    if rider is None:
        raise RiderNotFound(rider_id=rider_id)
    return rider


def list_workers(*, session: Session) -> list[CommunityWorker]:
    return list(
        session.exec(
            select(CommunityWorker).order_by(col(CommunityWorker.name), col(CommunityWorker.id))
        )
    )


def worker_communities(*, session: Session, worker_id: int) -> list[int]:
    """Every community a worker covers, her own among them (also for a worker written before
    she had the others listed)."""
    own = get_worker(session=session, worker_id=worker_id).community_id
    return sorted({own, *_covered(session, worker_id)})


def _covered(session: Session, worker_id: int) -> set[int]:
    return set(
        session.exec(
            select(CommunityWorkerCommunity.community_id).where(
                CommunityWorkerCommunity.worker_id == worker_id
            )
        )
    )


def _cover(session: Session, worker: CommunityWorker, worker_in: WorkerCreate) -> bool:
    """Checks each community exists, then sets the ones the worker covers; whether they
    changed."""
    after = {worker_in.community_id, *worker_in.community_ids}
    for community_id in sorted(after):
        get_community(session=session, community_id=community_id)
    worker_id = saved(worker.id)
    before = _covered(session, worker_id)
    if before == after:
        return False
    session.exec(
        sa.delete(CommunityWorkerCommunity).where(
            col(CommunityWorkerCommunity.worker_id) == worker_id,
            col(CommunityWorkerCommunity.community_id).not_in(after),
        )
    )
    for community_id in sorted(after - before):
        session.add(CommunityWorkerCommunity(worker_id=worker_id, community_id=community_id))
    session.flush()
    return True


def get_worker(*, session: Session, worker_id: int) -> CommunityWorker:
    worker = session.get(CommunityWorker, worker_id)
    if worker is None:
        raise WorkerNotFound(worker_id=worker_id)
    return worker


# -- communities --------------------------------------------------------------------------------


def create_community(
    *, session: Session, clock: Clock, actor: str, community_in: CommunityCreate
) -> Community:
    """A community, in the street and district its names say (each made the first time it is
    named: a street is its district's, so 北京街 of two districts are two streets)."""
    community = _create_community(session=session, community_in=community_in)
    _record(session, clock, actor, "create_community", f"community:{community.id}", community.code)
    return community


@service
def update_community(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    community_id: RowId,
    community_in: CommunityUpdate,
) -> Community:
    community = get_community(session=session, community_id=community_id)
    changed = _assign(community, community_in.model_dump())
    place_in_jurisdiction(session=session, community=community)
    session.add(community)
    session.flush()
    _record(session, clock, actor, "update_community", f"community:{community_id}", changed)
    return community


# -- sites and their slots ----------------------------------------------------------------------


def _check_kitchen(session: Session, kitchen_id: int | None, site_id: int | None) -> None:
    if kitchen_id is None or kitchen_id == site_id:
        return
    kitchen = get_site_any(session=session, site_id=kitchen_id)
    if kitchen.kind != SiteKind.central_kitchen:
        raise NotAKitchen(site=kitchen.name, field_code="kitchen_id")


def create_site(*, session: Session, clock: Clock, actor: str, site_in: SiteCreate) -> Site:
    """A site with its slots and the communities it serves; a central kitchen cooks for itself
    unless it names another."""
    _check_kitchen(session, site_in.kitchen_id, None)
    site = _create_site(session=session, site_in=site_in)
    if site.kind == SiteKind.central_kitchen and site.kitchen_id is None:
        site.kitchen_id = site.id
        session.add(site)
        session.flush()
    _record(session, clock, actor, "create_site", f"site:{site.id}", site.code)
    return site


@service
def update_site(
    *, session: Session, clock: Clock, actor: str, site_id: RowId, site_in: SiteUpdate
) -> Site:
    """Change a site. Orders already placed keep their site; the service area applies to new
    orders."""
    site = get_site_any(session=session, site_id=site_id)
    for community_id in {site_in.community_id, *site_in.serves_community_ids}:
        get_community(session=session, community_id=community_id)
    _check_kitchen(session, site_in.kitchen_id, site_id)
    values = site_in.model_dump(exclude={"serves_community_ids"})
    if values["kind"] == SiteKind.central_kitchen and values["kitchen_id"] is None:
        values["kitchen_id"] = site_id
    changed = _assign(site, values)
    before = set(served_communities(session=session, site_id=site_id))
    after = set(site_in.serves_community_ids)
    if before != after:
        changed = ",".join(filter(None, [changed, "serves_community_ids"]))
        session.exec(
            sa.delete(SiteServiceArea).where(
                col(SiteServiceArea.site_id) == site_id,
                col(SiteServiceArea.community_id).not_in(after or [-1]),
            )
        )
        for community_id in sorted(after - before):
            session.add(SiteServiceArea(site_id=site_id, community_id=community_id))
    session.add(site)
    session.flush()
    _record(session, clock, actor, "update_site", f"site:{site_id}", changed)
    return site


@service
def set_meal_slot(
    *, session: Session, clock: Clock, actor: str, site_id: RowId, slot_in: MealSlotCreate
) -> MealSlot:
    """Serve a meal at a site, or change its cutoff and delivery window (a new cutoff applies
    to meals not yet closed)."""
    get_site_any(session=session, site_id=site_id)
    meal_slot = session.exec(
        select(MealSlot).where(MealSlot.site_id == site_id, MealSlot.slot == slot_in.slot)
    ).first()
    if meal_slot is None:
        meal_slot = MealSlot(site_id=site_id, **slot_in.model_dump())
        action = "add_meal_slot"
    else:
        _assign(meal_slot, slot_in.model_dump())
        action = "update_meal_slot"
    session.add(meal_slot)
    session.flush()
    detail = (
        f"{slot_in.slot.value} cutoff {slot_in.cutoff_time:%H:%M}-{slot_in.cutoff_days_before}d "
        f"window {slot_in.delivery_start:%H:%M}-{slot_in.delivery_end:%H:%M}"
    )
    _record(session, clock, actor, action, f"site:{site_id}", detail)
    return meal_slot


@service
def remove_meal_slot(
    *, session: Session, clock: Clock, actor: str, site_id: RowId, slot: Slot
) -> None:
    """Stop serving a meal at a site: refused while orders for it from today on are live, or
    standing orders still name it (they would fail at every cutoff to come)."""
    site = get_site_any(session=session, site_id=site_id)
    live = session.exec(
        select(func.count())
        .select_from(Order)
        .where(
            Order.site_id == site_id,
            Order.slot == slot,
            col(Order.service_date) >= today(clock),
            ACTIVE_ORDER,
        )
    ).one()
    standing = session.exec(
        select(func.count())
        .select_from(StandingOrder)
        .where(
            StandingOrder.site_id == site_id,
            StandingOrder.slot == slot,
            col(StandingOrder.active).is_(True),
            sa.or_(
                col(StandingOrder.end_date).is_(None),
                col(StandingOrder.end_date) >= today(clock),
            ),
        )
    ).one()
    if live or standing:
        raise SlotInUse(site=site.name, slot=slot)
    session.exec(
        sa.delete(MealSlot).where(col(MealSlot.site_id) == site_id, col(MealSlot.slot) == slot)
    )
    session.flush()
    _record(session, clock, actor, "remove_meal_slot", f"site:{site_id}", slot.value)


# -- riders and community workers ---------------------------------------------------------------


def _check_rider(session: Session, rider_in: RiderCreate) -> None:
    kitchen = get_site_any(session=session, site_id=rider_in.kitchen_id)
    if kitchen.kind != SiteKind.central_kitchen:
        raise NotAKitchen(site=kitchen.name, field_code="kitchen_id")
    if rider_in.shift_end <= rider_in.shift_start:
        raise ShiftOutOfOrder(field_code="shift_end")


class ShiftOutOfOrder(DomainError):
    code = "shift_out_of_order"
    message = N_("The shift must end after it starts.")
    status = 422


@service
def create_rider(*, session: Session, clock: Clock, actor: str, rider_in: RiderCreate) -> Rider:
    """A rider of a central kitchen: how they ride, how many boxes they carry, their shift."""
    _check_rider(session, rider_in)
    rider = Rider(**rider_in.model_dump())
    session.add(rider)
    session.flush()
    _record(session, clock, actor, "create_rider", f"rider:{rider.id}", rider_in.mode.value)
    return rider


@service
def update_rider(
    *, session: Session, clock: Clock, actor: str, rider_id: RowId, rider_in: RiderUpdate
) -> Rider:
    """Change a rider; routes already planned keep them. An inactive rider is not planned."""
    rider = get_rider(session=session, rider_id=rider_id)
    _check_rider(session, rider_in)
    changed = _assign(rider, rider_in.model_dump())
    session.add(rider)
    session.flush()
    _record(session, clock, actor, "update_rider", f"rider:{rider_id}", changed)
    return rider


@service
def create_worker(
    *, session: Session, clock: Clock, actor: str, worker_in: WorkerCreate
) -> CommunityWorker:
    """A community worker of one or several communities: welfare alerts there escalate to
    them."""
    for community_id in sorted({worker_in.community_id, *worker_in.community_ids}):
        get_community(session=session, community_id=community_id)
    worker = CommunityWorker(**worker_in.model_dump(exclude={"community_ids"}))
    session.add(worker)
    session.flush()
    _cover(session, worker, worker_in)
    _record(session, clock, actor, "create_worker", f"community_worker:{worker.id}")
    return worker


@service
def update_worker(
    *, session: Session, clock: Clock, actor: str, worker_id: RowId, worker_in: WorkerUpdate
) -> CommunityWorker:
    worker = get_worker(session=session, worker_id=worker_id)
    for community_id in sorted({worker_in.community_id, *worker_in.community_ids}):
        get_community(session=session, community_id=community_id)
    changed = _assign(worker, worker_in.model_dump(exclude={"community_ids"}))
    session.add(worker)
    session.flush()
    if _cover(session, worker, worker_in):
        changed = ",".join(filter(None, [changed, "community_ids"]))
    _record(session, clock, actor, "update_worker", f"community_worker:{worker_id}", changed)
    return worker


# -- helpers ------------------------------------------------------------------------------------


def _assign(row: object, values: dict[str, object]) -> str:
    """Set a row's fields; the names of those that changed (the audit entry's detail: names,
    never values, for rows that hold phone numbers)."""
    changed = []
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.append(name)
    return ",".join(changed)


def _record(
    session: Session, clock: Clock, actor: str, action: str, subject: str, detail: str = ""
) -> None:
    audit.record(
        session=session, clock=clock, actor=actor, action=action, subject=subject, detail=detail
    )


# -- the first-run checklist --------------------------------------------------------------------


@dataclass(frozen=True)
class SetupStep:
    """One step of setting a programme up: what there is, and whether it is enough to start."""

    key: str  # communities, sites, menus, policy, staff, elders
    done: bool
    counts: dict[str, int]


def _count(session: Session, table: type[SQLModel], *where: Any) -> int:
    query = select(func.count()).select_from(table)
    for condition in where:
        query = query.where(condition)
    return int(session.exec(query).one())


def programme_is_new(*, session: Session) -> bool:
    """Nobody to serve yet (no elder registered): the admin's day starts on the checklist."""
    return session.exec(select(Elder.id).limit(1)).first() is None


def setup_progress(*, session: Session, clock: Clock) -> list[SetupStep]:
    """The first-run checklist, in the order a programme is set up: communities, sites and
    their meals, dishes and menus, the policy (funders and rules), staff, elders."""
    communities = _count(session, Community)
    sites = _count(session, Site, col(Site.active).is_(True))
    slots = _count(session, MealSlot)
    sites_without_meals = _count(
        session,
        Site,
        col(Site.active).is_(True),
        ~sa.exists().where(col(MealSlot.site_id) == col(Site.id)),
    )
    delivering = _count(session, Site, col(Site.active).is_(True), col(Site.offers_delivery))
    dishes = _count(session, Dish)
    menus = _count(session, Menu, col(Menu.service_date) >= today(clock))
    funders = _count(session, Funder)
    rules = _count(session, SubsidyRule)
    riders = _count(session, Rider, col(Rider.active).is_(True))
    workers = _count(session, CommunityWorker, col(CommunityWorker.active).is_(True))
    accounts = _count(
        session, StaffAccount, col(StaffAccount.active).is_(True), StaffAccount.role != Role.admin
    )
    elders = _count(session, Elder)
    return [
        SetupStep("communities", communities > 0, {"communities": communities}),
        SetupStep(
            "sites",
            sites > 0 and sites_without_meals == 0,
            {"sites": sites, "slots": slots, "sites_without_meals": sites_without_meals},
        ),
        SetupStep("menus", dishes > 0 and menus > 0, {"dishes": dishes, "menus": menus}),
        SetupStep("policy", funders > 0 and rules > 0, {"funders": funders, "rules": rules}),
        SetupStep(
            "staff",
            workers > 0 and accounts > 0 and (riders > 0 or delivering == 0),
            {"riders": riders, "workers": workers, "accounts": accounts},
        ),
        SetupStep("elders", elders > 0, {"elders": elders}),
    ]
