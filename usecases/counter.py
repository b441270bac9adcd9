"""The canteen counter: the day's dine-in and pick-up meals at a site, found by name or phone
digits, marked served (eaten or collected) one tap at a time, and the rest marked not collected
when the meal is over. Each mark goes through the same outcome use case as a delivery
(`usecases.ordering.record_outcome`: the ledger entries, the dashboard, the month's checks see
canteen meals like any other) and leaves an audit entry. An elder's meal card, read from a photo
of it, finds her meals (core.meal_cards). A registered elder who turns up without an order is
served on the spot from today's menu (serve_walk_in): placed and marked served through the same
use cases as any order, only the cutoff relaxed."""

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from core import audit, meal_cards
from core.clock import Clock, today
from core.diet import profile_of_elder
from core.elders import age_on, id_tail_of
from core.errors import DomainError, ElderNotFound, OrderNotFound, OutcomeNotAllowed
from core.i18n import N_
from core.menus import MenuChoice, menu_choices, own_style_first
from core.models import Community, Elder, MealSlot, Order, Site, SlotCutoff, saved
from core.settings import Settings
from core.sites import cutoff_at
from core.types import OrderSource, OrderStatus, ServiceMode, Slot
from usecases import marks, ordering
from usecases.phone_search import phone_digits

# A phone number's last digits the counter shows (and finds an elder by).
SHOWN_DIGITS = 4
# How a counter meal is served, by the way it was ordered.
SERVED_AS = {ServiceMode.dine_in: OrderStatus.dined_in, ServiceMode.pickup: OrderStatus.picked_up}


@dataclass(frozen=True)
class CounterMeal:
    """One order at the counter: who, what, and how far it has got. The phone shows only its
    last four digits (enough to tell two 陆伟雄 apart, and to be found by)."""

    order_id: int
    elder_id: int
    elder: str
    phone_tail: str
    site_id: int
    site: str
    slot: Slot
    dish_zh: str
    dish_en: str
    variant: str
    quantity: int
    mode: ServiceMode
    status: OrderStatus
    allergens: list[str]
    outcome_at: datetime | None = None
    outcome_by: str | None = None

    def undo_until(self, *, actor: str, settings: Settings, admin: bool = False) -> datetime | None:
        """Until when this person may take back the meal's mark (None: not theirs, or no mark),
        by the settings' undo window. The use case checks again when they do."""
        if self.outcome_at is None or not (admin or self.outcome_by == actor):
            return None
        return ordering.undo_deadline(self.outcome_at, undo_minutes=settings.undo_minutes)


def counter_meals(
    *,
    session: Session,
    service_date: date,
    site_ids: Collection[int] | None,
    slot: Slot | None = None,
    query: str = "",
    elder_id: int | None = None,
) -> list[CounterMeal]:
    """The day's dine-in and pick-up orders (not the cancelled ones) at these sites (None:
    every site), optionally of one meal, of one elder, and of elders whose name has `query` in
    it, or whose phone number ends with its digits (the surface checks the search first:
    usecases.phone_search)."""
    conditions: list[sa.ColumnElement[bool]] = [
        col(Order.service_date) == service_date,
        col(Order.mode).in_([m.value for m in SERVED_AS]),
        col(Order.status) != OrderStatus.cancelled.value,
    ]
    if site_ids is not None:
        conditions.append(col(Order.site_id).in_(list(site_ids) or [-1]))
    if slot is not None:
        conditions.append(col(Order.slot) == slot.value)
    if elder_id is not None:
        conditions.append(col(Order.elder_id) == elder_id)
    query = query.strip()
    digits = phone_digits(query)
    if digits is not None:
        # The end of the number only: the counter shows a phone's last four digits, and a
        # search matching anywhere could be walked along the hidden middle ones. Phones are
        # stored as typed ("139 1234 5678"): compare digits only.
        stored = sa.func.replace(sa.func.replace(col(Elder.phone), " ", ""), "-", "")
        conditions.append(stored.endswith(digits, autoescape=True))
    elif query:
        conditions.append(col(Elder.name).contains(query))
    rows = session.execute(
        sa.select(Order, col(Elder.name), col(Elder.phone), col(Site.name))
        .join(Elder, col(Elder.id) == col(Order.elder_id))
        .join(Site, col(Site.id) == col(Order.site_id))
        .where(*conditions)
        .order_by(col(Site.name), col(Order.slot), col(Elder.name), col(Order.id))
    ).all()
    return [
        CounterMeal(
            order_id=order.id,
            elder_id=order.elder_id,
            elder=name,
            phone_tail=re.sub(r"\D", "", phone or "")[-SHOWN_DIGITS:],
            site_id=order.site_id,
            site=site,
            slot=Slot(order.slot),
            dish_zh=order.dish_name_zh,
            dish_en=order.dish_name_en,
            variant=order.variant,
            quantity=order.quantity,
            mode=ServiceMode(order.mode),
            status=OrderStatus(order.status),
            allergens=list(order.allergens or []),
            outcome_at=order.outcome_at,
            outcome_by=order.outcome_by,
        )
        for order, name, phone, site in rows
    ]


def counter_site_of(*, session: Session, order_id: int) -> int:
    """The site an order is served at (for the surface's check of whose counter it is)."""
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id=order_id)
    return order.site_id


@dataclass(frozen=True)
class Served:
    order_id: int
    status: OrderStatus
    already: bool  # it had been served before this mark (a second tap, the same card again)


def serve(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    actor: str,
    order_id: int,
    key: str | None = None,
) -> Served:
    """The elder ate her meal here, or collected it: recorded once (a second tap, or the same
    mark sent again, finds it recorded and changes nothing; sent again under its `key` after
    an undo, it does not serve the meal a second time)."""
    earlier = marks.sent_before(
        session, clock, key=key, actor=actor, mark="serve", order_id=order_id
    )
    if earlier is not None:
        return Served(order_id=order_id, status=OrderStatus(earlier.result), already=True)
    served = _serve(session=session, clock=clock, settings=settings, actor=actor, order_id=order_id)
    marks.answered(session, key, served.status.value)
    return served


def _serve(
    *, session: Session, clock: Clock, settings: Settings, actor: str, order_id: int
) -> Served:
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id=order_id)
    mode = ServiceMode(order.mode)
    if mode not in SERVED_AS:
        raise OutcomeNotAllowed(status=OrderStatus(order.status), outcome=OrderStatus.dined_in)
    outcome = SERVED_AS[mode]
    if order.status == outcome:
        return Served(order_id=order_id, status=outcome, already=True)
    served = ordering.record_outcome(
        session=session,
        clock=clock,
        settings=settings,
        order_id=order_id,
        outcome=outcome,
        by=actor,
    )
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="counter_served",
        subject=f"elder:{order.elder_id}",
        detail=f"order:{order_id} {outcome.value}",
    )
    return Served(order_id=order_id, status=OrderStatus(served.status), already=False)


@dataclass(frozen=True)
class Undone:
    order_id: int
    status: OrderStatus  # waiting again
    was: OrderStatus  # the mark taken back


def undo(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    actor: str,
    order_id: int,
    admin: bool = False,
    key: str | None = None,
) -> Undone:
    """Take back a counter mark (served, collected, not collected) within `undo_minutes`: the
    one who made it, or the admin (usecases.ordering.undo_outcome: the ledger reversed, the
    budget held again, audited). Sent again under its `key`, it counts once."""
    earlier = marks.sent_before(
        session, clock, key=key, actor=actor, mark="undo", order_id=order_id
    )
    if earlier is not None:
        order = session.get_one(Order, order_id)
        return Undone(order_id, OrderStatus(order.status), OrderStatus(earlier.result))
    undone = ordering.undo_outcome(
        session=session,
        clock=clock,
        settings=settings,
        actor=actor,
        order_id=order_id,
        by=actor,
        admin=admin,
    )
    marks.answered(session, key, undone.was.value)
    return Undone(order_id, OrderStatus(undone.order.status), undone.was)


class NoMealHereToday(DomainError):
    code = "no_meal_here_today"
    message = N_("The elder of this card has no meal at this counter today.")
    status = 404


@dataclass(frozen=True)
class ScannedCard:
    elder_id: int
    elder: str
    meals: list[CounterMeal]


def scan_card(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    code: str,
    service_date: date,
    site_ids: Collection[int] | None,
) -> ScannedCard:
    """The meal card read at the counter: its elder and her meals today at these sites. A code
    of no elder, a replaced card, or an elder with no meal here today is refused with nothing
    recorded; a card that finds her meals is recorded (who scanned, which elder)."""
    elder = meal_cards.elder_of_card(session=session, code=code)
    elder_id = saved(elder.id)
    meals = counter_meals(
        session=session, service_date=service_date, site_ids=site_ids, elder_id=elder_id
    )
    if not meals:
        raise NoMealHereToday()
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="counter_scan",
        subject=f"elder:{elder_id}",
        detail=f"card:{elder.card_number} " + ",".join(f"order:{m.order_id}" for m in meals),
    )
    return ScannedCard(elder_id=elder_id, elder=elder.name, meals=meals)


def not_collected(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    actor: str,
    site_id: int,
    service_date: date,
    slot: Slot,
    key: str | None = None,
) -> int:
    """The meal is over: every counter meal at the site still waiting is marked not collected
    (billing applies the programme's rule for unserved meals). How many were (sent again
    under its `key`: how many the first send marked)."""
    earlier = marks.sent_before(
        session, clock, key=key, actor=actor, mark="not_collected", order_id=None
    )
    if earlier is not None:
        return int(earlier.result)
    waiting = session.execute(
        sa.select(col(Order.id)).where(
            col(Order.site_id) == site_id,
            col(Order.service_date) == service_date,
            col(Order.slot) == slot.value,
            col(Order.status) == OrderStatus.locked.value,
            col(Order.mode).in_([m.value for m in SERVED_AS]),
        )
    ).scalars()
    count = 0
    for order_id in list(waiting):
        ordering.record_outcome(
            session=session,
            clock=clock,
            settings=settings,
            order_id=order_id,
            outcome=OrderStatus.no_answer,
            by=actor,
        )
        count += 1
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="counter_not_collected",
        subject=f"site:{site_id}",
        detail=f"{service_date.isoformat()} {slot.value} {count}",
    )
    marks.answered(session, key, str(count))
    return count


# -- walk-ins ---------------------------------------------------------------------------------


def serving_now(*, session: Session, clock: Clock, site_id: int) -> list[Slot]:
    """The site's meals a walk-in can be served today: past their cutoff (the kitchen has
    cooked them; a slot locked early counts) and not past the end of their service window."""
    now = clock.now()
    locked = set(
        session.execute(
            sa.select(col(SlotCutoff.slot)).where(
                col(SlotCutoff.site_id) == site_id, col(SlotCutoff.service_date) == now.date()
            )
        ).scalars()
    )
    slots = session.execute(sa.select(MealSlot).where(col(MealSlot.site_id) == site_id)).scalars()
    ordered = list(Slot)
    return sorted(
        (
            Slot(s.slot)
            for s in slots
            if (s.slot in locked or now >= cutoff_at(s, now.date(), clock.tz))
            and now < datetime.combine(now.date(), s.delivery_end, tzinfo=clock.tz)
        ),
        key=ordered.index,
    )


@dataclass(frozen=True)
class WalkInElder:
    elder_id: int
    name: str
    phone_tail: str
    # Told apart from another of her name: age, community, ID card number's last four.
    age: int | None = None
    community: str = ""
    id_tail: str | None = None


# Elders a walk-in search lists, at most: the counter wants the one in front of it.
WALK_IN_FOUND = 20


def walk_in_elders(*, session: Session, query: str, on: date | None = None) -> list[WalkInElder]:
    """Registered elders by name, by the last digits of their phone (as the counter's own
    search; the surface checks a search by digits first: usecases.phone_search) or by the
    last four characters of their ID card number; with their age on `on`."""
    query = query.strip()
    if not query:
        return []
    digits = phone_digits(query)
    tail = id_tail_of(query)
    if digits is not None:
        stored = sa.func.replace(sa.func.replace(col(Elder.phone), " ", ""), "-", "")
        condition = stored.endswith(digits, autoescape=True)
        if tail:
            condition = condition | (col(Elder.id_number_tail) == tail)
    elif tail:
        condition = col(Elder.id_number_tail) == tail
    else:
        condition = col(Elder.name).contains(query)
    rows = session.execute(
        sa.select(Elder, col(Community.name))
        .join(Community, col(Community.id) == Elder.community_id)
        .where(condition)
        .order_by(col(Elder.name), col(Elder.id))
        .limit(WALK_IN_FOUND)
    ).all()
    return [_walk_in_elder(elder, community, on) for elder, community in rows]


def walk_in_elder(*, session: Session, elder_id: int, on: date | None = None) -> WalkInElder:
    elder = session.get(Elder, elder_id)
    if elder is None:
        raise ElderNotFound(elder_id=elder_id)
    return _walk_in_elder(elder, session.get_one(Community, elder.community_id).name, on)


def _walk_in_elder(elder: Elder, community: str, on: date | None) -> WalkInElder:
    return WalkInElder(
        saved(elder.id),
        elder.name,
        re.sub(r"\D", "", elder.phone or "")[-SHOWN_DIGITS:],
        age_on(elder.birth_date, on) if on is not None else None,
        community,
        elder.id_number_tail,
    )


@dataclass(frozen=True)
class WalkInChoice:
    slot: Slot
    choice: MenuChoice


def walk_in_choices(
    *, session: Session, clock: Clock, site_id: int, elder_id: int
) -> list[WalkInChoice]:
    """What this elder can be served here now: the dishes on today's menus of the meals still
    being served, only those she can safely eat, her own style first."""
    elder = session.get(Elder, elder_id)
    if elder is None:
        return []
    profile = profile_of_elder(elder.name, elder.texture, elder.diet_needs, elder.allergies)
    found = []
    for slot in serving_now(session=session, clock=clock, site_id=site_id):
        try:
            choices = menu_choices(
                session=session, site_id=site_id, service_date=today(clock), slot=slot
            )
        except DomainError:  # no menu for this meal today
            continue
        found += [WalkInChoice(slot, c) for c in own_style_first(choices, profile)]
    return found


def serve_walk_in(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    actor: str,
    site_id: int,
    elder_id: int,
    dish_id: int,
    variant: str,
    slot: Slot,
    mode: ServiceMode = ServiceMode.dine_in,
) -> Served:
    """A registered elder turned up without an order: her meal is placed through the ordering
    use case like any order (the menu, her diet, one order per meal, paused days, the budget
    reserved and the split), with the counter as its source and the cutoff relaxed (she is
    served from what the kitchen made), then marked served through the outcome use case. Every
    refusal writes nothing. A meal whose service window has ended is over (core.orders)."""
    if mode not in SERVED_AS:
        raise OutcomeNotAllowed(status=OrderStatus.placed, outcome=OrderStatus.dined_in)
    served_on = today(clock)
    placed = ordering.place_order(
        session=session,
        clock=clock,
        settings=settings,
        elder_id=elder_id,
        site_id=site_id,
        service_date=served_on,
        slot=slot,
        dish_id=dish_id,
        variant=variant,
        mode=mode,
        source=OrderSource.counter,
        idempotency_key=f"walk-in:{elder_id}:{served_on.isoformat()}:{slot.value}:{site_id}",
        walk_in=True,
    )
    order_id = placed.order.id
    outcome = SERVED_AS[mode]
    ordering.record_outcome(
        session=session,
        clock=clock,
        settings=settings,
        order_id=order_id,
        outcome=outcome,
        by=actor,
    )
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="counter_walk_in",
        subject=f"elder:{elder_id}",
        detail=f"order:{order_id} {outcome.value} {slot.value} dish:{dish_id} {variant}",
    )
    return Served(order_id=order_id, status=outcome, already=False)
