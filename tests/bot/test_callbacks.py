"""Every kind of button's data fits Telegram's 64 bytes at the largest values it can carry,
comes back as what was sent, and anything else (an old, forged or cut button) decodes to
nothing rather than to a step run with wrong values."""

import dataclasses
import typing
from datetime import date

import pytest

from bot import callbacks as cb
from core.types import MAX_ID, Slot

LONGEST_VARIANT = "x" * 24  # a variant code is at most 24 characters (core.schemas)


def _largest(kind: type[cb.Callback]) -> cb.Callback:
    """The kind with every field at its longest."""
    hints = typing.get_type_hints(kind)
    values = {}
    for field in dataclasses.fields(kind):
        wanted = hints[field.name]
        allowed = kind.choices.get(field.name)
        if allowed:
            values[field.name] = max(allowed, key=len)
        elif wanted in (int, int | None):
            values[field.name] = MAX_ID
        elif wanted is date:
            values[field.name] = date(2026, 12, 31)
        elif wanted in (Slot, Slot | None):
            values[field.name] = max(Slot, key=lambda s: len(s.value))
        else:
            values[field.name] = LONGEST_VARIANT
    return kind(**values)


KINDS = sorted(cb._KINDS.values(), key=lambda kind: kind.code)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_every_button_fits_and_comes_back_as_sent(kind):
    value = _largest(kind)
    data = value.encode()
    assert len(data.encode()) <= cb.LIMIT, data
    assert cb.decode(data) == value


def test_optional_last_fields_are_left_out_and_come_back_empty():
    day = date(2026, 11, 25)
    assert cb.PickSlot(7, day).encode() == "D:7:20261125"
    assert cb.decode("D:7:20261125") == cb.PickSlot(7, day, None)
    assert cb.decode("RD:7:20261125:lunch") == cb.RepeatOn(7, day, Slot.lunch)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "ZZ:1",  # no such kind
        "O",  # a field missing
        "O:1:2",  # a field too many
        "O:-1",  # not an id
        "O:1e3",
        "O:" + "9" * 13,
        "S:1:2026112:lunch",  # not a day
        "S:1:20261325:lunch",
        "S:1:20261125:brunch",  # not a meal
        "V:1:2:1:x",  # not a way a meal comes
        "WA:1:ignored",
        "RO:1:2:maybe",
        "P:Z:1",  # not a main-menu action
        "L:fr",
        "RR:1:",
    ],
)
def test_data_no_button_of_ours_makes_is_nothing(data):
    assert cb.decode(data) is None


def test_a_button_that_would_not_fit_is_refused_when_it_is_made():
    with pytest.raises(ValueError, match="64 bytes"):
        cb.StandingReview(MAX_ID, Slot.lunch, 127, "v" * 40, "-").encode()
    with pytest.raises(ValueError):
        cb.RateReason(1, "a:b").encode()  # the separator inside a field
