"""What a pressed button carries back: one typed value per kind of button, sent as Telegram's
callback data (its short code and its fields joined by ":") and decoded before any step runs.

Telegram takes at most 64 bytes of callback data: a value that would not fit is refused when
the button is made (`encode`), in every test, not by Telegram in front of an elder. Data that
does not decode (an old or forged button, a field that is not what its kind says) is None, and
the conversation answers "not understood". The codes are those the buttons already in people's
chats carry, so a restart or a new version keeps them working.

A button that opens a web address is not one of these: it is `bot.turn.Link`."""

import dataclasses
import enum
import typing
from datetime import date
from typing import Any, ClassVar, dataclass_transform

from core.types import Slot

LIMIT = 64  # bytes: Telegram's limit on callback data
# How an order comes: delivery, pick-up, dine-in, or "-" the elder's usual.
MODES = ("d", "p", "i", "-")
Choices = dict[str, tuple[str, ...]]
_KINDS: dict[str, type["Callback"]] = {}


class Callback:
    """A kind of button; subclasses are frozen dataclasses made with `@kind("CODE")`."""

    code: ClassVar[str]
    # Fields that take one of a few words: anything else is not a button of ours.
    choices: ClassVar[Choices] = {}

    def __post_init__(self) -> None:
        for name, allowed in self.choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{self.code}.{name} is not one of {allowed}")

    def encode(self) -> str:
        parts = [self.code]
        values = [getattr(self, f.name) for f in dataclasses.fields(self)]  # type: ignore[arg-type]  # every kind is a dataclass
        while values and values[-1] is None:
            values.pop()  # an optional last field left out
        for value in values:
            parts.append(_text_of(value))
        data = ":".join(parts)
        if len(data.encode()) > LIMIT:
            raise ValueError(f"callback data over {LIMIT} bytes: {data!r}")
        return data


C = typing.TypeVar("C", bound=type[Callback])


# Tells the type checker that `@kind(...)` makes a frozen dataclass, as `register` does.
@dataclass_transform(frozen_default=True)
def kind(code: str) -> typing.Callable[[C], C]:
    """Register a kind of button under its code."""

    def register(cls: C) -> C:
        if code in _KINDS:
            raise ValueError(f"two kinds of button coded {code!r}")
        cls.code = code
        _KINDS[code] = cls
        dataclasses.dataclass(frozen=True)(cls)  # without slots: the same class, made over
        return cls

    return register


def decode(data: str) -> Callback | None:
    """The button's value, or None for data no button of ours makes."""
    code, *texts = data.split(":")
    cls = _KINDS.get(code)
    if cls is None:
        return None
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]  # every kind is a dataclass
    if len(texts) > len(fields):
        return None
    values: dict[str, Any] = {}
    try:
        for n, field in enumerate(fields):
            wanted = hints[field.name]
            if n >= len(texts):
                if not _optional(wanted):
                    return None
                values[field.name] = None
                continue
            values[field.name] = _value_of(texts[n], wanted)
        return cls(**values)
    except ValueError:
        return None


def _text_of(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return f"{value:%Y%m%d}"
    if isinstance(value, enum.Enum):
        return str(value.value)
    text = str(value)
    if ":" in text or not text:
        raise ValueError(f"a callback field may not be empty or hold ':': {text!r}")
    return text


def _optional(wanted: Any) -> bool:
    return type(None) in typing.get_args(wanted)


def _value_of(text: str, wanted: Any) -> object:
    if _optional(wanted):
        wanted = next(t for t in typing.get_args(wanted) if t is not type(None))
    if wanted is bool:
        if text not in ("0", "1"):
            raise ValueError(text)
        return text == "1"
    if wanted is int:
        if not text.isdigit() or len(text) > 12:
            raise ValueError(text)
        return int(text)
    if wanted is date:
        if len(text) != 8 or not text.isdigit():
            raise ValueError(text)
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    if isinstance(wanted, type) and issubclass(wanted, enum.Enum):
        return wanted(text)
    if wanted is str:
        if not text:
            raise ValueError(text)
        return text
    raise TypeError(f"no callback field of type {wanted!r}")


# -- first contact and the main menu -----------------------------------------------------------


@kind("L")
class Language(Callback):
    choices: ClassVar[Choices] = {"locale": ("zh_CN", "en")}
    locale: str


@kind("AC")
class HaveCode(Callback):
    pass


@kind("P")
class ForElder(Callback):
    """A main-menu action (O order, R repeat, M my orders, B bill, T standing, N nearby) for
    one of the elders this chat orders for."""

    choices: ClassVar[Choices] = {"action": ("O", "R", "M", "B", "T", "N")}
    action: str
    elder_id: int


# -- ordering ----------------------------------------------------------------------------------


@kind("O")
class PickDay(Callback):
    elder_id: int


@kind("NO")
class OrderAt(Callback):
    """Order at a canteen other than the elder's own (from the nearby list)."""

    elder_id: int
    site_id: int


@kind("D")
class PickSlot(Callback):
    elder_id: int
    day: date
    site_id: int | None = None


@kind("S")
class PickSet(Callback):
    elder_id: int
    day: date
    slot: Slot
    site_id: int | None = None


@kind("M")
class PickVariant(Callback):
    elder_id: int
    day: date
    slot: Slot
    dish_id: int
    site_id: int | None = None


@kind("V")
class Review(Callback):
    """The order as it would be placed: portions and how it comes ("-": the elder's usual)."""

    choices: ClassVar[Choices] = {"mode": MODES}

    elder_id: int
    item_id: int
    quantity: int
    mode: str


@kind("K")
class Place(Callback):
    choices: ClassVar[Choices] = {"mode": MODES}
    elder_id: int
    item_id: int
    quantity: int
    mode: str


@kind("MS")
class PickStyle(Callback):
    """The other ways the dish on the confirmation screen is cooked that suit the elder; the
    portions and the way it comes go along."""

    choices: ClassVar[Choices] = {"mode": MODES}
    elder_id: int
    item_id: int
    quantity: int
    mode: str


@kind("RD")
class RepeatOn(Callback):
    elder_id: int
    day: date
    slot: Slot | None = None


@kind("RP")
class RepeatMeals(Callback):
    """ "Same as last time" on another meal: the meals still open she has not ordered."""

    elder_id: int


# -- my orders ---------------------------------------------------------------------------------


@kind("MO")
class MyOrders(Callback):
    elder_id: int


@kind("X")
class AskCancel(Callback):
    order_id: int


@kind("XY")
class Cancel(Callback):
    order_id: int


@kind("XN")
class Keep(Callback):
    pass


@kind("CH")
class ChangeSets(Callback):
    order_id: int


@kind("CM")
class ChangeVariant(Callback):
    order_id: int
    dish_id: int


@kind("CS")
class ChangeStyle(Callback):
    choices: ClassVar[Choices] = {"mode": MODES}
    order_id: int
    item_id: int
    quantity: int
    mode: str


@kind("CV")
class ChangeReview(Callback):
    choices: ClassVar[Choices] = {"mode": MODES}
    order_id: int
    item_id: int
    quantity: int
    mode: str


@kind("CK")
class Change(Callback):
    choices: ClassVar[Choices] = {"mode": MODES}
    order_id: int
    item_id: int
    quantity: int
    mode: str


# -- standing orders ---------------------------------------------------------------------------


@kind("T")
class Standing(Callback):
    elder_id: int


@kind("SP")
class PauseFrom(Callback):
    standing_order_id: int


@kind("SPS")
class PauseUntil(Callback):
    standing_order_id: int
    start: date


@kind("SPE")
class Pause(Callback):
    standing_order_id: int
    start: date
    end: date


@kind("SR")
class Resume(Callback):
    standing_order_id: int


@kind("SX")
class AskStop(Callback):
    standing_order_id: int


@kind("SXY")
class Stop(Callback):
    standing_order_id: int


@kind("SN")
class NewStanding(Callback):
    elder_id: int


# A new standing order is built up in its buttons: the meal, the weekdays as a bit mask
# (Monday = 1, Sunday = 64), the variant ("-": whatever suits on the day's menu) and how it
# comes, then Confirm.


@kind("SNS")
class StandingDays(Callback):
    elder_id: int
    slot: Slot
    mask: int


@kind("SNV")
class StandingVariant(Callback):
    elder_id: int
    slot: Slot
    mask: int


@kind("SNC")
class StandingReview(Callback):
    choices: ClassVar[Choices] = {"mode": MODES}
    elder_id: int
    slot: Slot
    mask: int
    variant: str
    mode: str


@kind("SNK")
class StandingMake(Callback):
    choices: ClassVar[Choices] = {"mode": MODES}
    elder_id: int
    slot: Slot
    mask: int
    variant: str
    mode: str


# -- after the meal: welfare, ratings, riders --------------------------------------------------


@kind("WA")
class Acknowledge(Callback):
    choices: ClassVar[Choices] = {"how": ("reached", "coming")}
    alert_id: int
    how: str


@kind("RT")
class Rate(Callback):
    choices: ClassVar[Choices] = {"verdict": ("g", "b")}
    order_id: int
    verdict: str  # "g" good, "b" bad


@kind("RR")
class RateReason(Callback):
    order_id: int
    reason: str


@kind("RO")
class RiderOutcome(Callback):
    choices: ClassVar[Choices] = {"outcome": ("d", "n", "c", "b", "u")}
    route_id: int
    order_id: int
    # "d" delivered; "n" no answer, asked again; "c" no answer, confirmed; "b" back (a slip);
    # "u" take back the mark just made (within the undo minutes)
    outcome: str
