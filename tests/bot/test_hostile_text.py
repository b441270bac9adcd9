"""What the bot is sent that is not plain text (issue 23, finding 14): a shared contact whose
number carries a NUL or a direction override is refused in the chat's language and links
nothing (on PostgreSQL the NUL was an error for every message after); a family code pasted with
invisible characters, or typed with a Chinese keyboard's full-width letters, still works."""

from sqlmodel import select

from bot.flows import onboarding
from core.models import ChatUser, ElderLink
from tests.bot.test_flows import chat_for, next_turn, typed
from tests.conftest import row_counts
from usecases.elders import issue_link_code


def test_a_contact_with_a_hidden_character_in_its_number_is_refused(make, session):
    _, _, elder = make.world()
    turn = chat_for(make, language="en")
    for phone in (elder.phone + "\x00", "\u202e" + elder.phone):
        before = row_counts(session)
        [refused] = onboarding.contact_shared(next_turn(turn), phone, turn.user.telegram_user_id)
        assert refused.keyboard == "contact"
        assert "phone number" in refused.text and "characters" in refused.text
        assert row_counts(session) == before
        assert session.exec(select(ElderLink)).all() == []
        assert session.get(ChatUser, turn.user.id).phone is None
    chinese = chat_for(make, language="zh_CN")
    [refused] = onboarding.contact_shared(
        next_turn(chinese), elder.phone + "\x00", chinese.user.telegram_user_id
    )
    assert "电话" in refused.text


def test_a_family_code_pasted_with_invisible_or_full_width_characters_links(make, session):
    _, _, elder = make.world()
    code, _ = issue_link_code(session=session, clock=make.clock, actor="worker", elder_id=elder.id)
    turn = chat_for(make)
    typed(turn, "🔑 I have a code")
    # As copied out of another chat: zero-width spaces around it, and full-width letters.
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in code)
    [welcome] = typed(turn, f"\u200b{full_width.lower()}\u200b")
    assert elder.name in welcome.text
    [link] = session.exec(select(ElderLink)).all()
    assert link.elder_id == elder.id
