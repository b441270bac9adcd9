"""MealAid's core tables: elders and their chat links, sites and slots, dishes and menus, orders,
standing orders and riders. Table models do not validate; the schemas in `core.schemas` do."""

from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.types import (
    AlertLevel,
    AlertStatus,
    ElderStatus,
    LinkRelation,
    OrderSource,
    OrderStatus,
    RiderMode,
    ServiceMode,
    SiteKind,
    Texture,
    UTCDateTime,
)

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def saved(row_id: int | None) -> int:
    """The id of a row that is in the database (SQLModel types every id as optional, since a
    row has none before its first flush)."""
    if row_id is None:
        raise ValueError("the row has not been saved yet")
    return row_id


def table_of(model: type[SQLModel]) -> sa.Table:
    """A table model's Table, for queries in SQLAlchemy Core."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]  # set by SQLAlchemy's mapping, undeclared by SQLModel
    return table


def _enum(length: int = 24) -> type[sa.String]:
    # Enums are stored as plain strings: no PostgreSQL enum types to migrate when a value is added.
    return sa.String(length)  # type: ignore[return-value]  # sa_type is typed as a class; takes an instance


def _json_list() -> sa.JSON:
    return sa.JSON()


class District(SQLModel, table=True):
    """A district (区) of a city: a jurisdiction a government funder's layer can name by id."""

    __tablename__ = "district"
    __table_args__ = (sa.UniqueConstraint("city", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    city: str = Field(max_length=64)
    name: str = Field(max_length=64)


class Street(SQLModel, table=True):
    """A street (街道) of a district. Two districts may each have a street of one name (北京街):
    they are two rows, told apart by id."""

    __tablename__ = "street"
    __table_args__ = (sa.UniqueConstraint("district_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    district_id: int = Field(foreign_key="district.id", index=True)
    name: str = Field(max_length=64)


class Community(SQLModel, table=True):
    """A residents' community (社区) and its jurisdiction: street (街道), district, city.
    `street_id` and `district_id` are the jurisdiction (rules match by them); the name columns
    are copies of the street's and district's names, for reading and for reports."""

    __tablename__ = "community"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=64)
    street: str = Field(max_length=64)
    district: str = Field(max_length=64)
    city: str = Field(max_length=64)
    lat: float
    lon: float
    street_id: int = Field(foreign_key="street.id", index=True)
    district_id: int = Field(foreign_key="district.id", index=True)


class Site(SQLModel, table=True):
    """A central kitchen, elder canteen (长者饭堂) or pick-up point."""

    __tablename__ = "site"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=64)
    kind: SiteKind = Field(sa_type=_enum())
    address: str = Field(max_length=200)
    lat: float
    lon: float
    community_id: int = Field(foreign_key="community.id", index=True)
    phone: str = Field(max_length=32)
    # The central kitchen that cooks for this site (a kitchen cooks for itself).
    kitchen_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    offers_delivery: bool = False
    offers_pickup: bool = False
    offers_dine_in: bool = False
    active: bool = True


class SiteServiceArea(SQLModel, table=True):
    """The communities a site serves; an elder elsewhere cannot order from it."""

    __tablename__ = "site_service_area"
    site_id: int = Field(foreign_key="site.id", primary_key=True)
    community_id: int = Field(foreign_key="community.id", primary_key=True)


class MealSlot(SQLModel, table=True):
    """A meal a site serves, with its ordering cutoff and delivery window."""

    __tablename__ = "meal_slot"
    __table_args__ = (sa.UniqueConstraint("site_id", "slot"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    slot: str = Field(sa_type=_enum(16))
    cutoff_time: time
    # 0: cutoff on the service day itself; 1: the day before, and so on.
    cutoff_days_before: int = 0
    delivery_start: time
    delivery_end: time


class Elder(SQLModel, table=True):
    __tablename__ = "elder"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    phone: str | None = Field(default=None, max_length=32, unique=True)
    address: str = Field(max_length=200)
    lat: float
    lon: float
    community_id: int = Field(foreign_key="community.id", index=True)
    birth_date: date
    gender: str | None = Field(default=None, max_length=8)
    texture: Texture = Field(default=Texture.regular, sa_type=_enum(16))
    diet_needs: list[str] = Field(default_factory=list, sa_type=_json_list())
    allergies: list[str] = Field(default_factory=list, sa_type=_json_list())
    service_mode: ServiceMode = Field(default=ServiceMode.delivery, sa_type=_enum(16))
    home_site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    language: str = Field(default="zh_CN", max_length=8)
    status: ElderStatus = Field(default=ElderStatus.active, sa_type=_enum(16))
    notes: str | None = Field(default=None, max_length=500)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # The elder's meal card now in use: a reissued card gets the next number, and the code of
    # every earlier card stops working (core.meal_cards).
    card_number: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # The ID card number (身份证号) is never stored in clear: a keyed hash finds the same person
    # again (a re-import) and the last four digits tell two elders of one name apart on pages
    # (core.id_numbers; docs/security.md).
    id_number_hash: str | None = Field(default=None, max_length=64, unique=True)
    id_number_tail: str | None = Field(default=None, max_length=4)
    # Placed at the community's centre for want of a geocoded address: pages, the planner's
    # output and route sheets say so until someone corrects the location.
    location_approximate: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )


class ElderCategory(SQLModel, table=True):
    """An eligibility category held by an elder over a validity period (valid_to inclusive)."""

    __tablename__ = "elder_category"
    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    category: str = Field(sa_type=_enum())
    valid_from: date
    valid_to: date | None = None


class EmergencyContact(SQLModel, table=True):
    __tablename__ = "emergency_contact"
    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    name: str = Field(max_length=64)
    relation: str = Field(max_length=32)
    phone: str = Field(max_length=32)
    priority: int = 1


class ElderPause(SQLModel, table=True):
    """A period (inclusive) when an elder takes no meals at all: hospital stay, visiting family."""

    __tablename__ = "elder_pause"
    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    start_date: date
    end_date: date
    reason: str | None = Field(default=None, max_length=200)


class ChatUser(SQLModel, table=True):
    """A person who uses the chat: an elder, a family member, a community worker or a rider."""

    __tablename__ = "chat_user"
    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_type=sa.BigInteger, unique=True)
    name: str = Field(max_length=128)
    language: str = Field(default="zh_CN", max_length=8)
    phone: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ElderLink(SQLModel, table=True):
    """A verified link from a chat user to an elder they may order for."""

    __tablename__ = "elder_link"
    __table_args__ = (sa.UniqueConstraint("chat_user_id", "elder_id"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_user_id: int = Field(foreign_key="chat_user.id", index=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    relation: LinkRelation = Field(sa_type=_enum(24))
    verified_at: datetime = Field(sa_type=UTCDateTime)
    verified_by: str = Field(max_length=64)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Dish(SQLModel, table=True):
    """A meal set as the kitchen knows it, with the allergens it contains."""

    __tablename__ = "dish"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=96)
    allergens: list[str] = Field(default_factory=list, sa_type=_json_list())
    diet_tags: list[str] = Field(default_factory=list, sa_type=_json_list())
    description: str | None = Field(default=None, max_length=300)
    # The variants it is cooked in: [{"code": "soft", "texture": "soft", "diet_tags": [...]}].
    variants: list[dict[str, Any]] = Field(default_factory=list, sa_type=_json_list())


class Menu(SQLModel, table=True):
    """What a site serves in one slot of one service day."""

    __tablename__ = "menu"
    __table_args__ = (sa.UniqueConstraint("site_id", "service_date", "slot"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    service_date: date = Field(index=True)
    slot: str = Field(sa_type=_enum(16))


class MenuItem(SQLModel, table=True):
    """One orderable variant of a dish on a menu (texture and diet), with its price in fen."""

    __tablename__ = "menu_item"
    __table_args__ = (
        sa.UniqueConstraint("menu_id", "dish_id", "variant"),
        sa.CheckConstraint("price_fen >= 0", name="price_not_negative"),
    )
    id: int | None = Field(default=None, primary_key=True)
    menu_id: int = Field(foreign_key="menu.id", index=True)
    dish_id: int = Field(foreign_key="dish.id", index=True)
    position: int = 0
    variant: str = Field(max_length=24)
    texture: Texture = Field(default=Texture.regular, sa_type=_enum(16))
    diet_tags: list[str] = Field(default_factory=list, sa_type=_json_list())
    price_fen: int


class Rider(SQLModel, table=True):
    __tablename__ = "rider"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    phone: str = Field(max_length=32)
    kitchen_id: int = Field(foreign_key="site.id", index=True)
    mode: RiderMode = Field(default=RiderMode.ebike, sa_type=_enum(16))
    capacity: int = 30
    shift_start: time
    shift_end: time
    chat_user_id: int | None = Field(default=None, foreign_key="chat_user.id")
    active: bool = True


class StandingOrder(SQLModel, table=True):
    """A repeating order, e.g. weekday lunches, materialised into orders at each cutoff."""

    __tablename__ = "standing_order"
    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    slot: str = Field(sa_type=_enum(16))
    # ISO weekdays, Monday = 1.
    weekdays: list[int] = Field(default_factory=list, sa_type=_json_list())
    variant: str | None = Field(default=None, max_length=24)
    quantity: int = 1
    mode: ServiceMode = Field(default=ServiceMode.delivery, sa_type=_enum(16))
    start_date: date
    end_date: date | None = None
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class StandingOrderPause(SQLModel, table=True):
    __tablename__ = "standing_order_pause"
    id: int | None = Field(default=None, primary_key=True)
    standing_order_id: int = Field(foreign_key="standing_order.id", index=True)
    start_date: date
    end_date: date
    reason: str | None = Field(default=None, max_length=200)


class StandingOrderRefusal(SQLModel, table=True):
    """A standing order the order rules refused at a meal's cutoff (no menu, nothing for the
    elder's diet, a limit lowered since): kept for staff, since most elders have no chat to be
    told and expect the meal all the same. One per standing order and meal, however often the
    cutoff runs. The reason is kept as its message (an English msgid) and its values as each
    language shows them (dates, dish names and enumerations are not JSON), so it reads in
    either. Whether an order has come since is asked of the orders, not kept here."""

    __tablename__ = "standing_order_refusal"
    __table_args__ = (
        sa.UniqueConstraint("standing_order_id", "service_date", "slot"),
        sa.Index("ix_standing_order_refusal_day_site", "service_date", "site_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    standing_order_id: int = Field(foreign_key="standing_order.id")
    service_date: date
    slot: str = Field(sa_type=_enum(16))
    site_id: int = Field(foreign_key="site.id")
    elder_id: int = Field(foreign_key="elder.id")
    code: str = Field(max_length=48)
    message: str = Field(max_length=300)
    # {locale: {placeholder: the value as that language shows it}}
    values: dict[str, dict[str, str]] = Field(default_factory=dict, sa_type=sa.JSON())
    refused_at: datetime = Field(sa_type=UTCDateTime)


ACTIVE_ORDER = sa.text("status <> 'cancelled'")


class Order(SQLModel, table=True):
    """A meal ordered for one elder, slot and service day, with a snapshot of what was ordered
    (dish, variant, price, site) so that history and bills survive menu and price changes."""

    __tablename__ = "meal_order"
    __table_args__ = (
        # One live order per elder and meal, across all sites: a second one is a mistake or fraud.
        sa.Index(
            "uq_meal_order_elder_day_slot_live",
            "elder_id",
            "service_date",
            "slot",
            unique=True,
            sqlite_where=ACTIVE_ORDER,
            postgresql_where=ACTIVE_ORDER,
        ),
        sa.Index("ix_meal_order_site_day_slot_status", "site_id", "service_date", "slot", "status"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint(
            "total_fen = unit_price_fen * quantity", name="total_is_price_times_qty"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id")
    site_id: int = Field(foreign_key="site.id")
    service_date: date
    slot: str = Field(sa_type=_enum(16))
    menu_item_id: int | None = Field(default=None, foreign_key="menu_item.id")
    dish_id: int = Field(foreign_key="dish.id")
    dish_name_zh: str = Field(max_length=64)
    dish_name_en: str = Field(max_length=96)
    variant: str = Field(max_length=24)
    texture: Texture = Field(sa_type=_enum(16))
    diet_tags: list[str] = Field(default_factory=list, sa_type=_json_list())
    allergens: list[str] = Field(default_factory=list, sa_type=_json_list())
    unit_price_fen: int
    quantity: int
    total_fen: int
    mode: ServiceMode = Field(sa_type=_enum(16))
    status: OrderStatus = Field(default=OrderStatus.placed, sa_type=_enum(16), index=True)
    source: OrderSource = Field(sa_type=_enum(16))
    idempotency_key: str = Field(max_length=128, unique=True)
    standing_order_id: int | None = Field(default=None, foreign_key="standing_order.id")
    placed_by_chat_user_id: int | None = Field(default=None, foreign_key="chat_user.id")
    ordered_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What happened at the door or the counter, when, and who said so (rider, staff).
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome_by: str | None = Field(default=None, max_length=64)


class MarkRequest(SQLModel, table=True):
    """A mark sent from the counter (served, not collected, undo) under the key its page gave
    it. A page that lost its connection sends the mark again; the same key counts once, and
    the answer is the one the first send got."""

    __tablename__ = "mark_request"
    key: str = Field(max_length=64, primary_key=True)
    actor: str = Field(max_length=80)
    action: str = Field(max_length=16)
    order_id: int | None = Field(default=None, foreign_key="meal_order.id")
    result: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime)


class SlotCutoff(SQLModel, table=True):
    """The record that a site's slot for a service day is locked: no more orders or changes."""

    __tablename__ = "slot_cutoff"
    __table_args__ = (sa.UniqueConstraint("site_id", "service_date", "slot"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id")
    service_date: date
    slot: str = Field(sa_type=_enum(16))
    locked_at: datetime = Field(sa_type=UTCDateTime)
    orders_locked: int = 0
    standing_orders_placed: int = 0


class FamilyLinkCode(SQLModel, table=True):
    """A one-time code a community worker gives a family member so their chat can order for an
    elder. Only a keyed hash is stored: a database leak does not hand out links."""

    __tablename__ = "family_link_code"
    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    relation: LinkRelation = Field(default=LinkRelation.family, sa_type=_enum(24))
    issued_by: str = Field(max_length=64)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_chat_user_id: int | None = Field(default=None, foreign_key="chat_user.id")


class LinkCodeAttempt(SQLModel, table=True):
    """Each code a chat user typed and whether it worked: wrong guesses are limited per hour."""

    __tablename__ = "link_code_attempt"
    __table_args__ = (sa.Index("ix_link_code_attempt_user_at", "chat_user_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_user_id: int = Field(foreign_key="chat_user.id")
    at: datetime = Field(sa_type=UTCDateTime)
    succeeded: bool = False


class StaffChatCode(SQLModel, table=True):
    """A one-time code the admin gives a rider or a community worker, so that their own chat
    gets their route or the welfare alerts. Only a keyed hash is stored."""

    __tablename__ = "staff_chat_code"
    id: int | None = Field(default=None, primary_key=True)
    rider_id: int | None = Field(default=None, foreign_key="rider.id")
    worker_id: int | None = Field(default=None, foreign_key="community_worker.id")
    code_hash: str = Field(max_length=64, unique=True)
    issued_by: str = Field(max_length=64)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_chat_user_id: int | None = Field(default=None, foreign_key="chat_user.id")


class CommunityWorker(SQLModel, table=True):
    """The community worker a welfare alert escalates to when family do not answer."""

    __tablename__ = "community_worker"
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    name: str = Field(max_length=64)
    phone: str = Field(max_length=32)
    chat_user_id: int | None = Field(default=None, foreign_key="chat_user.id")
    active: bool = True


class CommunityWorkerCommunity(SQLModel, table=True):
    """The communities a community worker covers: her own (community_id) and any others her
    welfare alerts come from."""

    __tablename__ = "community_worker_community"
    worker_id: int = Field(foreign_key="community_worker.id", primary_key=True)
    community_id: int = Field(foreign_key="community.id", primary_key=True, index=True)


class WelfareAlert(SQLModel, table=True):
    """Nobody answered the door for a meal: the programme's daily check on the elder failed.
    It goes to family at once, then up the escalation ladder until someone acknowledges."""

    __tablename__ = "welfare_alert"
    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    order_id: int = Field(foreign_key="meal_order.id", unique=True)
    raised_at: datetime = Field(sa_type=UTCDateTime)
    raised_by: str = Field(max_length=64)
    status: AlertStatus = Field(default=AlertStatus.open, sa_type=_enum(16), index=True)
    level: AlertLevel = Field(default=AlertLevel.family, sa_type=_enum(24))
    # When it goes to the next level if nobody has acknowledged it; None at the top.
    escalate_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=64)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=300)


class WelfareAlertStep(SQLModel, table=True):
    """Each thing that happened to an alert, with its time: raised, sent to whom, escalated,
    acknowledged (and how), closed."""

    __tablename__ = "welfare_alert_step"
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="welfare_alert.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=64)
    note: str | None = Field(default=None, max_length=300)


class ChatNotification(SQLModel, table=True):
    """A message the bot owes someone (an outbox): written in the transaction that caused it,
    sent by a bot process, marked sent once Telegram has answered. `key` makes the same notice
    impossible twice. A bot process claims a notice until `claimed_until` (a process that dies
    holding it lets the claim run out, and another takes it up). `send_started_at` is set just
    before each send and cleared only when Telegram refused it: a notice claimed again with it
    set may have reached the chat already, and goes out once more marked as sent again."""

    __tablename__ = "chat_notification"
    __table_args__ = (sa.Index("ix_chat_notification_unsent", "sent_at", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_user_id: int = Field(foreign_key="chat_user.id", index=True)
    kind: str = Field(max_length=32)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    key: str = Field(max_length=128, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    send_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Telegram's id of the message that went out (in the recipient's chat).
    message_id: int | None = Field(default=None, sa_type=sa.BigInteger)


class MealRating(SQLModel, table=True):
    """How a served meal was, one tap after it came (the programme's satisfaction follow-up,
    电话回访, without the phone call). One per order; a second tap replaces the first."""

    __tablename__ = "meal_rating"
    order_id: int = Field(foreign_key="meal_order.id", primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    service_date: date = Field(index=True)
    good: bool
    reason: str | None = Field(default=None, max_length=24)
    rated_by_chat_user_id: int | None = Field(default=None, foreign_key="chat_user.id")
    rated_at: datetime = Field(sa_type=UTCDateTime)


class DailyRun(SQLModel, table=True):
    """That a once-a-day job (the morning reminders) has run for a day: the bot checks often,
    the job runs once, whichever process or restart gets there first."""

    __tablename__ = "daily_run"
    job: str = Field(max_length=32, primary_key=True)
    service_date: date = Field(primary_key=True)
    ran_at: datetime = Field(sa_type=UTCDateTime)


class HealthProbe(SQLModel, table=True):
    """The one row `/healthz` writes: reading says the database answers, only a committed
    write says it can take orders (a full disk, a read-only file or standby)."""

    __tablename__ = "health_probe"
    id: int = Field(primary_key=True)
    written_at: datetime = Field(sa_type=UTCDateTime)


class GeocodeCache(SQLModel, table=True):
    """What the geocoder answered for an address (found or not), so an import or a second
    registration at the same address asks it once. Keyed by a hash of the address asked, so
    the cache holds no address in clear."""

    __tablename__ = "geocode_cache"
    query_hash: str = Field(max_length=64, primary_key=True)
    provider: str = Field(max_length=32)
    found: bool
    lat: float | None = None
    lon: float | None = None
    looked_up_at: datetime = Field(sa_type=UTCDateTime)
