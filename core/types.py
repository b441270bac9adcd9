"""Column types and labelled enumerations shared by every table."""

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any

import sqlalchemy as sa
from annotated_types import Ge, Le
from sqlalchemy.types import TypeDecorator

from core.i18n import N_, gettext

# A row id as people and programs send it (a URL, a form, JSON): inside the database's integer
# range, so an absurd id is refused as bad input instead of overflowing in the driver.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Ge(1), Le(MAX_ID)]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC and read back aware on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use the clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Labelled(StrEnum):
    """A StrEnum whose members carry a translatable label for people."""

    @property
    def label(self) -> str:
        return LABELS[self]


class LabelTables:
    """The labels of the labelled enums, one table per enum. A StrEnum member is equal to its
    value and hashes as it, so one dict keyed by members would let two enums that share a value
    overwrite each other's label (a family link's relation shown as "with the family", the
    label of an alert's level)."""

    def __init__(self) -> None:
        self._tables: dict[type[Labelled], dict[str, str]] = {}

    def add(self, enum: type[Labelled], labels: Mapping[Labelled, str]) -> None:
        """Label every member of `enum`, once."""
        if enum in self._tables:
            raise ValueError(f"{enum.__name__} is labelled already")
        strangers = [repr(member) for member in labels if type(member) is not enum]
        missing = [member.name for member in enum if member not in labels]
        if strangers or missing:
            raise ValueError(f"{enum.__name__}: not its members {strangers}, unlabelled {missing}")
        self._tables[enum] = {member.value: label for member, label in labels.items()}

    def of(self, enum: type[Labelled]) -> Mapping[str, str]:
        """One enum's labels by value."""
        return MappingProxyType(self._tables[enum])

    def __getitem__(self, member: Labelled) -> str:
        return self._tables[type(member)][member.value]

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables.values())


class Category(Labelled):
    """Elder categories that subsidy rules depend on (民政 eligibility)."""

    extreme_poverty = "tekun"  # 特困
    minimum_living = "dibao"  # 低保
    low_income = "low_income"  # 低收入
    advanced_age = "advanced_age"  # 高龄
    disabled_care = "disabled_care"  # 失能
    dementia = "dementia"  # 失智
    living_alone = "living_alone"  # 独居
    family_planning = "family_planning"  # 计划生育特殊家庭
    disability = "disability"  # 残疾


class Texture(Labelled):
    """Food texture levels, firmest first (after IDDSI levels 7, 6, 5, 4)."""

    regular = "regular"
    soft = "soft"
    minced = "minced"
    pureed = "pureed"

    @property
    def level(self) -> int:
        return {"regular": 7, "soft": 6, "minced": 5, "pureed": 4}[self.value]


class DietTag(Labelled):
    low_salt = "low_salt"
    low_sugar = "low_sugar"
    low_fat = "low_fat"
    vegetarian = "vegetarian"
    halal = "halal"


class Allergen(Labelled):
    fish = "fish"
    shellfish = "shellfish"
    egg = "egg"
    milk = "milk"
    peanut = "peanut"
    tree_nut = "tree_nut"
    soy = "soy"
    wheat = "wheat"
    sesame = "sesame"


class ServiceMode(Labelled):
    delivery = "delivery"
    pickup = "pickup"
    dine_in = "dine_in"


class Slot(Labelled):
    breakfast = "breakfast"
    lunch = "lunch"
    dinner = "dinner"


class SiteKind(Labelled):
    central_kitchen = "central_kitchen"
    canteen = "canteen"
    pickup_point = "pickup_point"


class ElderStatus(Labelled):
    active = "active"
    inactive = "inactive"


class LinkRelation(Labelled):
    self_ = "self"
    family = "family"
    community_worker = "community_worker"


class OrderStatus(Labelled):
    placed = "placed"
    locked = "locked"
    cancelled = "cancelled"
    delivered = "delivered"
    picked_up = "picked_up"
    dined_in = "dined_in"
    no_answer = "no_answer"


class OrderSource(Labelled):
    chat = "chat"
    staff = "staff"
    standing = "standing"
    api = "api"
    counter = "counter"  # a walk-in served at the canteen counter


class RiderMode(Labelled):
    walk = "walk"
    ebike = "ebike"
    van = "van"


class AlertStatus(Labelled):
    open = "open"
    acknowledged = "acknowledged"
    closed = "closed"


class AlertLevel(Labelled):
    """Who a welfare alert is with: family first, then the community worker, then the duty
    phone of the programme."""

    family = "family"
    community_worker = "community_worker"
    duty = "duty"


LABELS = LabelTables()
LABELS.add(
    Category,
    {
        Category.extreme_poverty: N_("Extreme poverty support (特困)"),
        Category.minimum_living: N_("Minimum living allowance (低保)"),
        Category.low_income: N_("Low income"),
        Category.advanced_age: N_("Advanced age (80+)"),
        Category.disabled_care: N_("Needs care (失能)"),
        Category.dementia: N_("Dementia"),
        Category.living_alone: N_("Living alone"),
        Category.family_planning: N_("Family-planning special family"),
        Category.disability: N_("Disability"),
    },
)
LABELS.add(
    Texture,
    {
        Texture.regular: N_("regular"),
        Texture.soft: N_("soft"),
        Texture.minced: N_("minced"),
        Texture.pureed: N_("pureed"),
    },
)
LABELS.add(
    DietTag,
    {
        DietTag.low_salt: N_("low salt"),
        DietTag.low_sugar: N_("low sugar"),
        DietTag.low_fat: N_("low fat"),
        DietTag.vegetarian: N_("vegetarian"),
        DietTag.halal: N_("halal"),
    },
)
LABELS.add(
    Allergen,
    {
        Allergen.fish: N_("fish"),
        Allergen.shellfish: N_("shellfish"),
        Allergen.egg: N_("egg"),
        Allergen.milk: N_("milk"),
        Allergen.peanut: N_("peanut"),
        Allergen.tree_nut: N_("tree nuts"),
        Allergen.soy: N_("soy"),
        Allergen.wheat: N_("wheat"),
        Allergen.sesame: N_("sesame"),
    },
)
LABELS.add(
    ServiceMode,
    {
        ServiceMode.delivery: N_("home delivery"),
        ServiceMode.pickup: N_("pick-up"),
        ServiceMode.dine_in: N_("dine in"),
    },
)
LABELS.add(
    Slot,
    {
        Slot.breakfast: N_("breakfast"),
        Slot.lunch: N_("lunch"),
        Slot.dinner: N_("dinner"),
    },
)
LABELS.add(
    SiteKind,
    {
        SiteKind.central_kitchen: N_("central kitchen"),
        SiteKind.canteen: N_("elder canteen"),
        SiteKind.pickup_point: N_("pick-up point"),
    },
)
LABELS.add(
    ElderStatus,
    {
        ElderStatus.active: N_("active"),
        ElderStatus.inactive: N_("inactive"),
    },
)
LABELS.add(
    LinkRelation,
    {
        LinkRelation.self_: N_("self"),
        LinkRelation.family: N_("family"),
        LinkRelation.community_worker: N_("community worker"),
    },
)
LABELS.add(
    OrderStatus,
    {
        OrderStatus.placed: N_("placed"),
        OrderStatus.locked: N_("confirmed for the kitchen"),
        OrderStatus.cancelled: N_("cancelled"),
        OrderStatus.delivered: N_("delivered"),
        OrderStatus.picked_up: N_("picked up"),
        OrderStatus.dined_in: N_("eaten at the canteen"),
        OrderStatus.no_answer: N_("no answer at the door"),
    },
)
LABELS.add(
    OrderSource,
    {
        OrderSource.chat: N_("chat"),
        OrderSource.staff: N_("staff"),
        OrderSource.standing: N_("standing order"),
        OrderSource.api: N_("API"),
        OrderSource.counter: N_("counter"),
    },
)
LABELS.add(
    RiderMode,
    {
        RiderMode.walk: N_("on foot"),
        RiderMode.ebike: N_("e-bike"),
        RiderMode.van: N_("van"),
    },
)
LABELS.add(
    AlertStatus,
    {
        AlertStatus.open: N_("open"),
        AlertStatus.acknowledged: N_("acknowledged"),
        AlertStatus.closed: N_("closed"),
    },
)
LABELS.add(
    AlertLevel,
    {
        AlertLevel.family: N_("with the family"),
        AlertLevel.community_worker: N_("with the community worker"),
        AlertLevel.duty: N_("with the duty phone"),
    },
)


_BY_CODE: dict[str, Labelled] = {m.value: m for kind in (Allergen, Texture, DietTag) for m in kind}


def code_name(code: str, locale: str) -> str:
    """An allergen, texture or diet code as people read it ("egg" -> 鸡蛋)."""
    member = _BY_CODE.get(code)
    return gettext(member.label, locale) if member is not None else code
