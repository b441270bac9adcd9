"""What a central kitchen cooks for a slot: production lists (dish x variant x destination),
the special-diet list, a forecast before cutoff, and the purchase/prep list from recipes.
Counting happens in the database, not row by row in Python."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.db import int_sum
from core.diet import door_warnings
from core.errors import NoMenu, SiteNotFound
from core.i18n import N_, Bilingual, gettext
from core.menus import menu_choices
from core.models import Elder, MealSlot, Order, Site, SlotCutoff, saved
from core.orders import SERVED
from core.standing import choice_for, standing_orders_due
from core.types import OrderStatus, ServiceMode, SiteKind, Slot
from kitchen.models import Ingredient, RecipeLine, UnitKind

# (dish, variant, site, mode, route number) -> [dish name, texture, portions, forecast]
Counts = dict[tuple[int, str, int, str, int | None], list[Any]]

COOKED = [OrderStatus.locked.value, OrderStatus.no_answer.value, *[s.value for s in SERVED]]
LIVE = [OrderStatus.placed.value, *COOKED]


@dataclass(frozen=True)
class Destination:
    """Where portions go: home delivery from the kitchen, or a canteen's counter or tables."""

    site_id: int
    site: str
    mode: ServiceMode
    route: int | None = None  # home deliveries once routes are planned: route number


@dataclass(frozen=True)
class ProductionLine:
    dish_id: int
    dish: Bilingual
    variant: str
    texture: str
    destination: Destination
    portions: int
    forecast: int = 0  # portions standing orders will add at cutoff (before cutoff only)


@dataclass
class DishTotal:
    """What to cook of one dish in one variant, wherever the portions go."""

    dish_id: int
    dish: Bilingual
    variant: str
    portions: int
    forecast: int


@dataclass
class ProductionList:
    kitchen_id: int
    kitchen: str
    service_date: date
    slot: Slot
    final: bool  # every site's slot locked: these are the numbers to cook
    lines: list[ProductionLine] = field(default_factory=list)

    def totals(self) -> list[DishTotal]:
        """Portions per dish and variant, in the order of the lines (by dish, then variant)."""
        totals: dict[tuple[int, str], DishTotal] = {}
        for line in self.lines:
            total = totals.setdefault(
                (line.dish_id, line.variant),
                DishTotal(line.dish_id, line.dish, line.variant, 0, 0),
            )
            total.portions += line.portions
            total.forecast += line.forecast
        return list(totals.values())

    def by_dish(self) -> dict[tuple[int, str], int]:
        totals: dict[tuple[int, str], int] = defaultdict(int)
        for line in self.lines:
            totals[(line.dish_id, line.variant)] += line.portions + line.forecast
        return dict(totals)

    @property
    def portions(self) -> int:
        return sum(line.portions for line in self.lines)

    @property
    def forecast(self) -> int:
        return sum(line.forecast for line in self.lines)


def kitchen_sites(session: Session, kitchen_id: int) -> tuple[Site, dict[int, Site]]:
    kitchen = session.get(Site, kitchen_id)
    if kitchen is None or kitchen.kind != SiteKind.central_kitchen:
        raise SiteNotFound(site_id=kitchen_id)
    sites = session.exec(
        select(Site).where((col(Site.kitchen_id) == kitchen_id) | (col(Site.id) == kitchen_id))
    ).all()
    return kitchen, {saved(site.id): site for site in sites}


def kitchen_slots(session: Session, kitchen_id: int) -> list[Slot]:
    """The meals the kitchen cooks: those it or any site it cooks for serves, in the day's
    order."""
    _, sites = kitchen_sites(session, kitchen_id)
    served = set(
        session.exec(select(col(MealSlot.slot)).where(col(MealSlot.site_id).in_(sites))).all()
    )
    return [slot for slot in Slot if slot.value in served]


def production_list(
    *, session: Session, kitchen_id: int, service_date: date, slot: Slot
) -> ProductionList:
    """Portions per dish, variant and destination. Once every site's slot is locked these
    are the locked orders exactly; before that, the live count plus what standing orders
    will add (the forecast), marked as not final."""
    kitchen, sites = kitchen_sites(session, kitchen_id)
    locked_sites = set(
        session.exec(
            select(col(SlotCutoff.site_id)).where(
                col(SlotCutoff.service_date) == service_date,
                col(SlotCutoff.slot) == slot,
                col(SlotCutoff.site_id).in_(sites),
            )
        ).all()
    )
    from core.models import MealSlot  # the sites that serve this slot at all

    serving = set(
        session.exec(
            select(col(MealSlot.site_id)).where(
                col(MealSlot.slot) == slot, col(MealSlot.site_id).in_(sites)
            )
        ).all()
    )
    final = serving <= locked_sites
    from routing.records import DeliveryRoute, RouteStop  # planned routes, when there are

    rows = session.execute(
        sa.select(
            col(Order.dish_id),
            col(Order.dish_name_zh),
            col(Order.dish_name_en),
            col(Order.variant),
            col(Order.texture),
            col(Order.site_id),
            col(Order.mode),
            col(DeliveryRoute.number),
            int_sum(col(Order.quantity)),
        )
        .outerjoin(RouteStop, col(RouteStop.order_id) == col(Order.id))
        .outerjoin(DeliveryRoute, col(DeliveryRoute.id) == col(RouteStop.route_id))
        .where(
            col(Order.site_id).in_(sites),
            col(Order.service_date) == service_date,
            col(Order.slot) == slot.value,
            col(Order.status).in_(COOKED if final else LIVE),
        )
        .group_by(
            col(Order.dish_id),
            col(Order.dish_name_zh),
            col(Order.dish_name_en),
            col(Order.variant),
            col(Order.texture),
            col(Order.site_id),
            col(Order.mode),
            col(DeliveryRoute.number),
        )
    ).all()
    counts: Counts = {}
    for dish_id, zh, en, variant, texture, site_id, mode, route, portions in rows:
        key = (dish_id, variant, site_id, mode, route)
        counts[key] = [Bilingual(zh, en), texture, portions, 0]
    if not final:
        for site_id in sorted(serving - locked_sites):
            _add_forecast(session, counts, site_id, service_date, slot)
    result = ProductionList(kitchen_id, kitchen.name, service_date, slot, final)
    for (dish_id, variant, site_id, mode, route), (
        dish,
        texture,
        portions,
        forecast,
    ) in counts.items():
        result.lines.append(
            ProductionLine(
                dish_id,
                dish,
                variant,
                texture,
                Destination(site_id, sites[site_id].name, ServiceMode(mode), route),
                portions,
                forecast,
            )
        )
    result.lines.sort(
        key=lambda line: (
            line.dish_id,
            _variant_order(line.variant),
            line.destination.site_id,
            line.destination.mode,
            line.destination.route or 0,
        )
    )
    return result


def _add_forecast(session: Session, counts: Counts, site_id: int, day: date, slot: Slot) -> None:
    """Standing orders not yet turned into orders, counted as they will be at cutoff."""
    due = standing_orders_due(session=session, site_id=site_id, service_date=day, slot=slot)
    if not due:
        return
    ordered = set(
        session.exec(
            select(col(Order.elder_id)).where(
                col(Order.service_date) == day,
                col(Order.slot) == slot.value,
                col(Order.status) != OrderStatus.cancelled.value,
            )
        ).all()
    )
    try:
        choices = menu_choices(session=session, site_id=site_id, service_date=day, slot=slot)
    except NoMenu:
        return  # no menu yet: nothing to forecast
    for standing in due:
        if standing.elder_id in ordered:
            continue
        choice = choice_for(session.get_one(Elder, standing.elder_id), standing, choices)
        key = (choice.dish_id, choice.variant, site_id, standing.mode, None)
        entry = counts.setdefault(key, [choice.name, choice.texture.value, 0, 0])
        entry[3] += standing.quantity


VARIANT_ORDER = ["regular", "low_salt", "low_sugar", "soft", "minced", "pureed"]


def _variant_order(variant: str) -> int:
    return VARIANT_ORDER.index(variant) if variant in VARIANT_ORDER else len(VARIANT_ORDER)


@dataclass(frozen=True)
class SpecialPortion:
    """A portion that is not the regular dish, or for an elder with allergies: named, so
    that the right box reaches the right person."""

    order_id: int
    elder: str
    dish: Bilingual
    variant: str
    texture: str
    diet_tags: tuple[str, ...]
    allergies: tuple[str, ...]
    destination: str
    portions: int


def special_diets(
    *, session: Session, kitchen_id: int, service_date: date, slot: Slot
) -> list[SpecialPortion]:
    _, sites = kitchen_sites(session, kitchen_id)
    rows = session.execute(
        sa.select(
            col(Order.id),
            col(Elder.name),
            col(Order.dish_name_zh),
            col(Order.dish_name_en),
            col(Order.variant),
            col(Order.texture),
            col(Order.diet_tags),
            col(Elder.allergies),
            col(Order.site_id),
            col(Order.quantity),
        )
        .join(Elder, col(Elder.id) == col(Order.elder_id))
        .where(
            col(Order.site_id).in_(sites),
            col(Order.service_date) == service_date,
            col(Order.slot) == slot.value,
            col(Order.status).in_(LIVE),
            # Chosen in the database: a kitchen day has tens of thousands of plain meals.
            (col(Order.variant) != "regular") | (sa.cast(col(Elder.allergies), sa.Text) != "[]"),
        )
        .order_by(col(Order.site_id), col(Order.variant), col(Elder.name))
    ).all()
    return [
        SpecialPortion(
            order_id,
            name,
            Bilingual(zh, en),
            variant,
            texture,
            tuple(tags),
            tuple(allergies),
            sites[site_id].name,
            quantity,
        )
        for order_id, name, zh, en, variant, texture, tags, allergies, site_id, quantity in rows
    ]


@dataclass(frozen=True)
class PurchaseLine:
    ingredient: Bilingual
    kind: UnitKind
    milli: int  # thousandths of the base unit (g, ml, piece)

    def amount(self, locale: str = "en") -> str:
        """In the unit a cook would use: 850 g, 12.5 kg, 3 l, 40 pieces."""
        base = Decimal(self.milli) / 1000
        if self.kind == UnitKind.count:
            pieces = gettext(N_("pcs"), locale)
            return f"{_plain(base)} {pieces}"
        small, large = ("g", "kg") if self.kind == UnitKind.mass else ("ml", "l")
        if base >= 1000:
            return f"{_plain(base / 1000)} {large}"
        return f"{_plain(base)} {small}"


def _plain(value: Decimal) -> str:
    text = f"{value.quantize(Decimal('0.001')):f}".rstrip("0").rstrip(".")
    return text or "0"


def purchase_list(production: ProductionList, *, session: Session) -> list[PurchaseLine]:
    """Ingredients for the list's portions (forecast included), summed per ingredient."""
    portions: defaultdict[int, int] = defaultdict(int)
    for (dish_id, _variant), count in production.by_dish().items():
        portions[dish_id] += count
    if not portions:
        return []
    totals: dict[int, int] = defaultdict(int)
    for line in session.exec(select(RecipeLine).where(col(RecipeLine.dish_id).in_(portions))):
        totals[line.ingredient_id] += line.milli_per_portion * portions[line.dish_id]
    ingredients = {
        i.id: i for i in session.exec(select(Ingredient).where(col(Ingredient.id).in_(totals)))
    }
    return sorted(
        (
            PurchaseLine(
                Bilingual(ingredients[i].name_zh, ingredients[i].name_en),
                UnitKind(ingredients[i].kind),
                milli,
            )
            for i, milli in totals.items()
        ),
        key=lambda line: (line.kind, line.ingredient.zh),
    )


UNITS = {
    "g": (UnitKind.mass, 1),
    "kg": (UnitKind.mass, 1000),
    "ml": (UnitKind.volume, 1),
    "l": (UnitKind.volume, 1000),
    "piece": (UnitKind.count, 1),
    "pcs": (UnitKind.count, 1),
}


def to_milli(amount: str, unit: str, kind: UnitKind) -> int:
    """'0.12', 'kg' -> 120000 (mg) for a mass ingredient; refuses a unit of the wrong kind."""
    unit_kind, factor = UNITS[unit]
    if unit_kind != kind:
        raise ValueError(f"{unit} does not measure {kind.value}")
    value = Decimal(amount) * factor * 1000
    if value != value.to_integral_value() or value <= 0:
        raise ValueError(f"{amount} {unit} is not a positive whole number of thousandths")
    return int(value)


@dataclass(frozen=True)
class Box:
    stop: int
    order_id: int
    elder: str
    dish: Bilingual
    variant: str
    portions: int
    warnings: tuple[str, ...]  # allergies and texture needs, for the packer's last look


@dataclass
class PackingList:
    """One rider's boxes in the order they go into the bag: the last stop's box first, so
    that the first stop's box is on top."""

    route: int | None  # None: orders the plan could not put on a route
    rider: str
    boxes: list[Box] = field(default_factory=list)


def packing_lists(
    *, session: Session, kitchen_id: int, service_date: date, slot: Slot
) -> list[PackingList]:
    from core.models import Rider
    from routing.records import DeliveryRoute, RouteStop

    kitchen_sites(session, kitchen_id)
    rows = session.execute(
        sa.select(
            col(DeliveryRoute.number),
            col(Rider.name),
            col(RouteStop.position),
            col(Order.id),
            col(Elder.name),
            col(Order.dish_name_zh),
            col(Order.dish_name_en),
            col(Order.variant),
            col(Order.quantity),
            col(Elder.allergies),
            col(Elder.texture),
        )
        .select_from(RouteStop)
        .join(DeliveryRoute, col(DeliveryRoute.id) == col(RouteStop.route_id))
        .join(Rider, col(Rider.id) == col(DeliveryRoute.rider_id))
        .join(Order, col(Order.id) == col(RouteStop.order_id))
        .join(Elder, col(Elder.id) == col(Order.elder_id))
        .where(
            col(DeliveryRoute.kitchen_id) == kitchen_id,
            col(DeliveryRoute.service_date) == service_date,
            col(DeliveryRoute.slot) == slot.value,
        )
        .order_by(col(DeliveryRoute.number), col(RouteStop.position).desc())
    ).all()
    lists: dict[int, PackingList] = {}
    for (
        number,
        rider,
        position,
        order_id,
        elder,
        zh,
        en,
        variant,
        portions,
        allergies,
        texture,
    ) in rows:
        packing = lists.setdefault(number, PackingList(number, rider))
        warnings = door_warnings(allergies, texture)
        packing.boxes.append(
            Box(position, order_id, elder, Bilingual(zh, en), variant, portions, warnings)
        )
    return [lists[number] for number in sorted(lists)]


def route_stops(session: Session, order_ids: list[int]) -> dict[int, tuple[int, int]]:
    """order id -> (route number, stop number), for the orders that are on a route."""
    from routing.records import DeliveryRoute, RouteStop

    if not order_ids:
        return {}
    rows = session.execute(
        sa.select(col(RouteStop.order_id), col(DeliveryRoute.number), col(RouteStop.position))
        .join(DeliveryRoute, col(DeliveryRoute.id) == col(RouteStop.route_id))
        .where(col(RouteStop.order_id).in_(order_ids))
    ).all()
    return {order_id: (number, position) for order_id, number, position in rows}
