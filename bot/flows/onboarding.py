"""First contact: the language, then linking the chat to an elder by her own phone contact
or by a family code staff gave."""

from bot import callbacks as cb
from bot import texts
from bot.turn import Say, Turn, main_menu
from core import i18n
from core.errors import LinkCodeInvalid
from core.models import saved
from core.validation import invalid_text, text_problem
from usecases.chat_links import redeem_code
from usecases.elders import link_own_chat


def start(turn: Turn) -> list[Say]:
    turn.state.step = None
    if turn.elders():
        return [Say(turn.t(texts.WELCOME_BACK), keyboard="main")]
    return [choose_language_prompt(turn)]


# Each language named in itself, whatever the chat's language is now.
LANGUAGES: list[tuple[str, cb.Callback]] = [
    ("中文", cb.Language("zh_CN")),
    ("English", cb.Language("en")),
]


def choose_language_prompt(turn: Turn) -> Say:
    return Say(turn.t(texts.CHOOSE_LANGUAGE), [list(LANGUAGES)])


def choose_language(turn: Turn, locale: str) -> list[Say]:
    if locale not in i18n.LOCALES:
        return not_understood(turn)
    turn.user.language = locale
    turn.session.add(turn.user)
    if turn.elders():
        return [Say(turn.t(texts.LANGUAGE_SET), edit=True), main_menu(turn)]
    return [Say(turn.show(i18n.Bilingual("中文", "English")), edit=True), ask_phone(turn)]


def ask_phone(turn: Turn) -> Say:
    return Say(turn.t(texts.ASK_PHONE), keyboard="contact")


def contact_shared(turn: Turn, phone: str, contact_user_id: int | None) -> list[Say]:
    """Telegram vouches for a number only when people share their own contact."""
    if contact_user_id != turn.user.telegram_user_id:
        return [Say(turn.t(texts.NOT_OWN_CONTACT), keyboard="contact")]
    problem = text_problem(phone)
    if problem is not None:
        return [Say(invalid_text("phone", problem).render(turn.locale), keyboard="contact")]
    turn.user.phone = phone[:32]
    turn.session.add(turn.user)
    elder = link_own_chat(
        session=turn.session, clock=turn.clock, chat_user_id=saved(turn.user.id), phone=phone
    )
    if elder is None:
        return [Say(turn.t(texts.NOT_REGISTERED, phone=turn.phone()), keyboard="contact")]
    turn.forget_elders()
    return [Say(turn.t(texts.WELCOME, name=elder.name), keyboard="main")]


def ask_code(turn: Turn) -> list[Say]:
    turn.state.step = "code"
    return [Say(turn.t(texts.ASK_CODE), keyboard="remove")]


def code_typed(turn: Turn, code: str) -> list[Say]:
    """A code from staff: a family member's (to order for an elder), or a rider's or a
    community worker's own (their route, or their community's welfare alerts)."""
    linked = redeem_code(
        session=turn.session,
        clock=turn.clock,
        settings=turn.settings,
        chat_user_id=saved(turn.user.id),
        code=code,
    )
    if linked is None:
        return [Say(LinkCodeInvalid().render(turn.locale), keyboard="contact")]
    turn.state.step = None
    turn.forget_elders()
    if linked.kind == "rider":
        return [Say(turn.t(texts.WELCOME_RIDER, name=linked.name), keyboard="remove")]
    if linked.kind == "worker":
        return [Say(turn.t(texts.WELCOME_WORKER, name=linked.name), keyboard="remove")]
    return [Say(turn.t(texts.WELCOME_FAMILY, name=linked.name), keyboard="main")]


def not_understood(turn: Turn) -> list[Say]:
    if not turn.elders():
        if turn.state.step == "code":
            return [Say(turn.t(texts.ASK_CODE))]
        return [Say(turn.t(texts.NOT_UNDERSTOOD)), ask_phone(turn)]
    return [Say(turn.t(texts.NOT_UNDERSTOOD), keyboard="main")]
