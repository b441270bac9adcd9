"""Text and dates that must be refused where they come in (issue 23, finding 14): NUL and other
control characters, zero-width spaces, characters that turn the direction of text, a name with
nothing visible, and birth dates no one registered can have. Each is refused with a translated
message naming the field, and nothing is written; the names of real people (Chinese, Uyghur
with its middle dot, a rare character from the private-use area) are kept as typed."""

from datetime import date, datetime

import pytest
from sqlmodel import select

from core import errors
from core.clock import FixedClock
from core.elders import chat_user_for, create_elder, issue_link_code, update_elder
from core.models import ChatUser, Elder
from core.orders import place_order
from core.schemas import ElderUpdate
from core.types import Slot
from core.validation import text_problem
from tests.conftest import SHANGHAI, row_counts
from tests.core.test_registry import elder_values
from tests.factories import ORDER_LIMITS

# Saturday 5 December 2026 in Shanghai.
TODAY = FixedClock(datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI))

HIDDEN_NAMES = {
    "zero-width spaces only": "\u200b\u200b\u200b",
    "zero-width space inside": "王\u200b小明",
    "right-to-left override": "王小明\u202egnp.exe",
    "isolate": "\u2067王小明",
    "byte-order mark": "\ufeff王小明",
    "NUL": "王\x00小明",
    "DEL": "王\x7f小明",
    "C1 control": "王\x85小明",
    "line separator": "王\u2028小明",
    "new line": "王\n小明",
    "tab": "王\t小明",
    "lone surrogate": "王\ud800小明",
    "Hangul fillers only": "\u3164\u3164",
}
KEPT_NAMES = [
    "阿依古丽·买买提",
    "欧阳 娜娜",
    "Zoë O'Brien-Smith",
    "\ue000丽",  # a rare character of a name, in the private-use area
    "👨\u200d👩\u200d👧 李家",  # emoji joined by zero-width joiners
]


def refused(session, call) -> errors.InvalidInput:
    before = row_counts(session)
    with pytest.raises(errors.InvalidInput) as caught:
        call()
    assert row_counts(session) == before
    assert caught.value.render("zh_CN") != caught.value.render("en")
    return caught.value


@pytest.mark.parametrize("name", list(HIDDEN_NAMES.values()), ids=list(HIDDEN_NAMES))
def test_a_name_with_hidden_or_control_characters_is_refused_and_nothing_is_written(
    make, session, name
):
    community = make.community()
    error = refused(
        session,
        lambda: create_elder(
            session=session, clock=TODAY, elder_in=elder_values(community.id, name=name)
        ),
    )
    assert error.params["field_code"] == "name"


def test_what_is_wrong_with_the_text_is_said_in_the_readers_language(make, session):
    community = make.community()
    error = refused(
        session,
        lambda: create_elder(
            session=session,
            clock=TODAY,
            elder_in=elder_values(community.id, name="王小明\u202egnp.exe"),
        ),
    )
    assert "invisible characters" in error.render("en") and "“name”" in error.render("en")
    assert "不可见" in error.render("zh_CN")
    stored = refused(
        session,
        lambda: create_elder(
            session=session, clock=TODAY, elder_in=elder_values(community.id, name="王\x00明")
        ),
    )
    assert "cannot be stored" in stored.render("en")
    nothing = refused(
        session,
        lambda: create_elder(
            session=session, clock=TODAY, elder_in=elder_values(community.id, name="\u3164")
        ),
    )
    assert "nothing in it that can be seen" in nothing.render("en")


@pytest.mark.parametrize("name", KEPT_NAMES)
def test_real_names_are_kept_as_typed(make, session, name):
    community = make.community()
    elder = create_elder(
        session=session, clock=TODAY, elder_in=elder_values(community.id, name=name, phone=None)
    )
    session.expire_all()
    assert session.get(Elder, elder.id).name == name


@pytest.mark.parametrize("notes", ["\x1b[31m红色", "a\x7fb", "a\x85b", "a\x00b", "a\u202eb"])
def test_control_characters_in_notes_are_refused(make, session, notes):
    community = make.community()
    error = refused(
        session,
        lambda: create_elder(
            session=session, clock=TODAY, elder_in=elder_values(community.id, notes=notes)
        ),
    )
    assert error.params["field_code"] == "notes"


def test_notes_keep_their_lines_and_tabs(make, session):
    community = make.community()
    notes = "住四楼，无电梯\r\n下午睡觉：\t请敲门两次"
    elder = create_elder(
        session=session, clock=TODAY, elder_in=elder_values(community.id, notes=notes)
    )
    session.expire_all()
    assert session.get(Elder, elder.id).notes == notes


@pytest.mark.parametrize(
    "born", ["0001-01-01", "2027-06-01", "9999-12-31", "2026-12-06", "1906-12-04"]
)
def test_a_birth_date_no_one_registered_can_have_is_refused(make, session, born):
    community = make.community()
    error = refused(
        session,
        lambda: create_elder(
            session=session, clock=TODAY, elder_in=elder_values(community.id, birth_date=born)
        ),
    )
    assert error.params["field_code"] == "birth_date"
    assert "120 years" in error.render("en") and "120" in error.render("zh_CN")


@pytest.mark.parametrize("born", ["1906-12-05", "1938-01-02", "2026-12-05"])
def test_a_birth_date_in_the_last_120_years_is_kept(make, session, born):
    community = make.community()
    elder = create_elder(
        session=session,
        clock=TODAY,
        elder_in=elder_values(community.id, birth_date=born, phone=None),
    )
    assert elder.birth_date == date.fromisoformat(born)


def test_a_change_to_an_impossible_birth_date_is_refused(make, session):
    elder = make.elder()
    values = elder_values(elder.community_id, phone=None, birth_date="9999-12-31")
    refused(
        session,
        lambda: update_elder(
            session=session, clock=TODAY, elder_id=elder.id, elder_in=ElderUpdate(**values)
        ),
    )
    session.expire_all()
    assert session.get(Elder, elder.id).birth_date == date(1940, 5, 1)


@pytest.mark.parametrize("key", ["phone\x00in", "phone\u202ein", "a\nb"])
def test_an_idempotency_key_with_control_characters_is_refused(make, session, key):
    site, dishes, elder = make.world()
    error = refused(
        session,
        lambda: place_order(
            session=session,
            clock=make.clock,
            elder_id=elder.id,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            dish_id=dishes[0].id,
            variant="regular",
            idempotency_key=key,
            **ORDER_LIMITS,
        ),
    )
    assert error.params["field_code"] == "idempotency_key"


def test_a_link_code_issued_by_a_hidden_name_is_refused(make, session):
    elder = make.elder()
    refused(
        session,
        lambda: issue_link_code(
            session=session, clock=make.clock, elder_id=elder.id, issued_by="cli:\u202eadmin"
        ),
    )


def test_a_telegram_name_is_kept_without_its_hidden_characters(make, session):
    user = chat_user_for(
        session=session,
        telegram_user_id=9_900_123,
        name="\u202e李\x00明\u200b",
        language="zh_CN",
        clock=make.clock,
    )
    session.expire_all()
    assert session.exec(select(ChatUser.name).where(ChatUser.id == user.id)).one() == "李明"


def test_the_text_rules_by_kind_of_character():
    assert text_problem("阿依古丽·买买提") is None
    assert text_problem("a\r\nb\tc", lines=True) is None
    assert text_problem("a\r\nb", lines=False) == "control_characters"
    assert text_problem("\u200b") == "invisible_characters"
    assert text_problem("\u200d") == "nothing_visible"
    assert text_problem("   ") is None  # blank, not hidden: "required" is the field's own rule
