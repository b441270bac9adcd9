"""Labels of the labelled enums: each enum has its own, so two enums that share a value (a
family link's relation and an alert that is with the family) never show each other's label."""

import pytest

import api.accounts.models  # noqa: F401  (Role)
import billing.models  # noqa: F401  (Share, AnomalyReason, ...)
import kitchen.models  # noqa: F401  (UnitKind)
from core.i18n import display
from core.types import LABELS, AlertLevel, Allergen, DietTag, Labelled, LinkRelation, Texture


def labelled_enums() -> list[type[Labelled]]:
    found, waiting = [], list(Labelled.__subclasses__())
    while waiting:
        enum = waiting.pop()
        found.append(enum)
        waiting += enum.__subclasses__()
    return sorted(found, key=lambda enum: enum.__name__)


def test_every_member_of_every_labelled_enum_has_a_label_of_its_own():
    enums = labelled_enums()
    # Values several enums share ("family", "community_worker", ...): the reason each enum
    # needs labels of its own.
    values = [member.value for enum in enums for member in enum]
    assert len(values) > len(set(values))
    # One label per member: none was overwritten by another enum's member of the same value.
    assert len(LABELS) == len(values)
    for enum in enums:
        for member in enum:
            assert member.label == LABELS.of(enum)[member.value], f"{enum.__name__}.{member.name}"


def test_a_family_link_is_not_an_alert_with_the_family():
    assert display(LinkRelation.family, "zh_CN") == "家属"
    assert display(AlertLevel.family, "zh_CN") == "已通知家属"
    assert display(LinkRelation.community_worker, "en") == "community worker"
    assert display(AlertLevel.community_worker, "en") == "with the community worker"


def test_an_enum_is_labelled_once_and_only_with_its_own_members():
    with pytest.raises(ValueError, match="LinkRelation"):
        LABELS.add(LinkRelation, {member: member.value for member in LinkRelation})
    with pytest.raises(ValueError, match="AlertLevel"):
        LABELS.add(AlertLevel, {LinkRelation.self_: "self"})


def test_codes_read_back_by_value_belong_to_one_enum_only():
    # core.types.code_name finds an allergen, texture or diet by its bare code.
    codes = [member.value for enum in (Allergen, Texture, DietTag) for member in enum]
    assert len(codes) == len(set(codes))
