"""Communities, sites (kitchens, canteens, pick-up points), their service areas and meal slots."""

from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from sqlmodel import Session, col, select

from core.errors import (
    AlreadyExists,
    CommunityNotFound,
    ModeNotOffered,
    OutsideServiceArea,
    SiteNotFound,
    SlotNotOffered,
)
from core.geo import distance_m
from core.models import (
    Community,
    District,
    Elder,
    MealSlot,
    Site,
    SiteServiceArea,
    Street,
    saved,
)
from core.schemas import CommunityCreate, SiteCreate
from core.types import ServiceMode, Slot
from core.validation import service


def district_of(*, session: Session, city: str, name: str) -> District:
    """The district of this name in this city, created the first time it is named."""
    found = session.exec(
        select(District).where(District.city == city, District.name == name)
    ).first()
    if found is None:
        found = District(city=city, name=name)
        session.add(found)
        session.flush()
    return found


def street_of(*, session: Session, district: District, name: str) -> Street:
    """The street of this name in this district, created the first time it is named: a
    street of the same name in another district is another street."""
    found = session.exec(
        select(Street).where(Street.district_id == district.id, Street.name == name)
    ).first()
    if found is None:
        found = Street(district_id=saved(district.id), name=name)
        session.add(found)
        session.flush()
    return found


def place_in_jurisdiction(*, session: Session, community: Community) -> None:
    """Point a community at the street and district its names say (made when new)."""
    district = district_of(session=session, city=community.city, name=community.district)
    street = street_of(session=session, district=district, name=community.street)
    community.district_id = saved(district.id)
    community.street_id = saved(street.id)


@service
def create_community(*, session: Session, community_in: CommunityCreate) -> Community:
    taken = select(Community.id).where(Community.code == community_in.code)
    if session.exec(taken).first() is not None:
        raise AlreadyExists(value=community_in.code)
    community = Community(**community_in.model_dump())
    place_in_jurisdiction(session=session, community=community)
    session.add(community)
    session.flush()
    return community


@service
def create_site(*, session: Session, site_in: SiteCreate) -> Site:
    """A site with its slots and the communities it serves."""
    for community_id in {site_in.community_id, *site_in.serves_community_ids}:
        get_community(session=session, community_id=community_id)
    if site_in.kitchen_id is not None:
        get_site(session=session, site_id=site_in.kitchen_id)
    if session.exec(select(Site.id).where(Site.code == site_in.code)).first() is not None:
        raise AlreadyExists(value=site_in.code)
    site = Site(**site_in.model_dump(exclude={"serves_community_ids", "slots"}))
    session.add(site)
    session.flush()
    for community_id in site_in.serves_community_ids:
        session.add(SiteServiceArea(site_id=saved(site.id), community_id=community_id))
    for slot_in in site_in.slots:
        session.add(MealSlot(site_id=saved(site.id), **slot_in.model_dump()))
    session.flush()
    return site


def get_community(*, session: Session, community_id: int) -> Community:
    community = session.get(Community, community_id)
    if community is None:
        raise CommunityNotFound(community_id=community_id)
    return community


def get_site(*, session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None or not site.active:
        raise SiteNotFound(site_id=site_id)
    return site


def get_slot(*, session: Session, site: Site, slot: Slot) -> MealSlot:
    meal_slot = session.exec(
        select(MealSlot).where(MealSlot.site_id == site.id, MealSlot.slot == slot)
    ).first()
    if meal_slot is None:
        raise SlotNotOffered(site=site.name, slot=slot)
    return meal_slot


class SlotTimes(Protocol):
    """What fixes a slot's cutoff: a meal slot row, or the order rules' prefetched context."""

    @property
    def cutoff_time(self) -> time: ...
    @property
    def cutoff_days_before(self) -> int | None: ...


def cutoff_at(meal_slot: SlotTimes, service_date: date, tz: tzinfo) -> datetime:
    """The moment ordering for this slot on this service day closes, in the programme's zone.
    The only place this is worked out: ordering, the cutoff, the bot and the pages ask here."""
    day = service_date - timedelta(days=meal_slot.cutoff_days_before or 0)
    return datetime.combine(day, meal_slot.cutoff_time, tzinfo=tz)


class OffersModes(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def offers_delivery(self) -> bool: ...
    @property
    def offers_pickup(self) -> bool: ...
    @property
    def offers_dine_in(self) -> bool: ...


def modes_offered(site: OffersModes, *, in_service_area: bool) -> list[ServiceMode]:
    """How an elder can have a meal from this site: delivered only inside its service area;
    anyone may pick up or eat in at any canteen that offers it (a city's unified entry lets
    them). The one place this is worked out: ordering, standing orders and the bot ask here."""
    offered = (
        (ServiceMode.delivery, site.offers_delivery and in_service_area),
        (ServiceMode.pickup, site.offers_pickup),
        (ServiceMode.dine_in, site.offers_dine_in),
    )
    return [mode for mode, yes in offered if yes]


def check_mode(
    site: OffersModes, mode: ServiceMode, *, in_service_area: bool, elder_name: str
) -> None:
    """Refuse a way of having the meal that `modes_offered` does not list, saying why."""
    if mode in modes_offered(site, in_service_area=in_service_area):
        return
    if mode == ServiceMode.delivery and site.offers_delivery:
        raise OutsideServiceArea(name=elder_name, site=site.name)
    raise ModeNotOffered(site=site.name, mode=mode)


def serves(*, session: Session, site_id: int, community_id: int) -> bool:
    return (
        session.exec(
            select(SiteServiceArea.site_id).where(
                SiteServiceArea.site_id == site_id,
                SiteServiceArea.community_id == community_id,
            )
        ).first()
        is not None
    )


def site_for_elder(*, session: Session, elder: Elder) -> Site | None:
    """Where an elder's meals come from: their home site, else the first active site whose
    service area takes in their community."""
    if elder.home_site_id is not None:
        home = session.get(Site, elder.home_site_id)
        if home is not None and home.active:
            return home
    return session.exec(
        select(Site)
        .join(SiteServiceArea, col(SiteServiceArea.site_id) == Site.id)
        .where(SiteServiceArea.community_id == elder.community_id, col(Site.active).is_(True))
        .order_by(col(Site.id))
    ).first()


def phone_to_call(
    *,
    programme_phone: str,
    site_phone: str | None = None,
    elders_sites: Iterable[Site | None] = (),
) -> str:
    """The one number an elder or their family is told to call, wherever the chat (or a
    refusal) says "call": the canteen of the meal in question (`site_phone`); else the
    canteen the elders' meals come from (`elders_sites`, from `site_for_elder`), which cooks
    them, brings them and can still take an order by phone; else (no canteen yet, elders of
    canteens with different numbers, or nobody known) the programme's number."""
    if site_phone:
        return site_phone
    phones = {site.phone if site is not None and site.phone else None for site in elders_sites}
    only = phones.pop() if len(phones) == 1 else None
    return only or programme_phone


def list_communities(*, session: Session, ids: Collection[int] | None = None) -> list[Community]:
    """Communities by name; only these ids when given."""
    query = select(Community).order_by(col(Community.name), col(Community.id))
    if ids is not None:
        query = query.where(col(Community.id).in_(list(ids) or [-1]))
    return list(session.exec(query))


def list_sites(*, session: Session) -> list[Site]:
    """Active sites by name."""
    return list(
        session.exec(
            select(Site).where(col(Site.active).is_(True)).order_by(col(Site.name), col(Site.id))
        )
    )


def nearby_sites(
    *, session: Session, lat: float, lon: float, limit: int = 5
) -> list[tuple[Site, float]]:
    """The open canteens and meal points (sites where one can eat in or pick up) nearest to a
    point, nearest first, each with its distance in metres. A city has tens to hundreds of
    them, so they are measured in Python rather than by a spatial index."""
    sites = session.exec(
        select(Site).where(
            col(Site.active).is_(True),
            col(Site.offers_dine_in).is_(True) | col(Site.offers_pickup).is_(True),
        )
    )
    measured = [(site, distance_m(lat, lon, site.lat, site.lon)) for site in sites]
    measured.sort(key=lambda pair: (pair[1], pair[0].id))
    return measured[:limit]
