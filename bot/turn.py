"""What every step of the conversation works with: the `Turn` (the chat user, their state and a
database session inside the update's one transaction), what the bot says back (`Say`, with
buttons that are typed values, `bot.callbacks`, or web addresses, `Link`), and the few ways of
writing things every flow shares. Nothing here knows python-telegram-bot: `bot.app` turns these
into Telegram's messages."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from sqlmodel import Session

from bot import texts
from bot.callbacks import Callback
from bot.models import ChatState
from core import i18n
from core.clock import Clock
from core.errors import DomainError
from core.models import (
    ChatUser,
    Elder,
    Site,
    saved,
)
from core.settings import Settings
from core.sites import phone_to_call, site_for_elder
from core.types import ServiceMode
from usecases.elders import linked_elders

Keyboard = Literal["main", "contact", "location", "remove"]


@dataclass(frozen=True)
class Link:
    """A button that opens a web address (a map, a page) instead of coming back to the bot:
    Telegram sends it as a URL button, never as callback data (at most 64 bytes, and pressing
    it would only send the address back to us)."""

    url: str


Button = tuple[str, Callback | Link]
Buttons = list[list[Button]]  # rows of buttons, as a step builds them
MODES = {"d": ServiceMode.delivery, "p": ServiceMode.pickup, "i": ServiceMode.dine_in}
MODE_LETTERS = {mode: letter for letter, mode in MODES.items()}


@dataclass
class Say:
    """One thing the bot says: new text, or the pressed message replaced (`edit`)."""

    text: str
    buttons: Sequence[Sequence[Button]] | None = None
    keyboard: Keyboard | None = None
    edit: bool = False


class NotYours(DomainError):
    code = "not_yours"
    message = texts.NOT_YOURS


@dataclass
class Turn:
    session: Session
    clock: Clock
    settings: Settings
    user: ChatUser
    state: ChatState
    _elders: list[Elder] | None = field(default=None, repr=False)

    @property
    def locale(self) -> str:
        return self.user.language

    def t(self, message: str, **params: object) -> str:
        return i18n.render(message, self.locale, params)

    def money(self, fen: int) -> str:
        return i18n.money(fen, self.locale)

    def show(self, value: object) -> str:
        return i18n.display(value, self.locale)

    def phone(self, *elders: Elder, site: Site | None = None) -> str:
        """The number to call, by the one rule (core.sites.phone_to_call): the canteen of the
        meal in question, else that of the elders this is about (by default every elder this
        chat orders for), else the programme's."""
        return number_to_call(self.session, self.settings, elders or self.elders(), site)

    def join(self, items: Iterable[str]) -> str:
        """A list run together as the language writes it: 周一、周二 or Mon, Tue."""
        return ("、" if self.locale.startswith("zh") else ", ").join(items)

    def elders(self) -> list[Elder]:
        """The elders this chat may act for (read once per step; a link step resets it)."""
        if self._elders is None:
            self._elders = linked_elders(session=self.session, chat_user_id=saved(self.user.id))
        return self._elders

    def forget_elders(self) -> None:
        self._elders = None

    def elder(self, elder_id: int) -> Elder:
        """An elder this chat may act for; anything else (an old or forged button) is refused."""
        for elder in self.elders():
            if elder.id == elder_id:
                return elder
        raise NotYours()


def number_to_call(
    session: Session, settings: Settings, elders: Iterable[Elder], site: Site | None = None
) -> str:
    """core.sites.phone_to_call for a chat: the canteens of `elders` looked up."""
    return phone_to_call(
        programme_phone=settings.programme_phone,
        site_phone=site.phone if site is not None else None,
        elders_sites=[site_for_elder(session=session, elder=elder) for elder in elders],
    )


def main_menu(turn: Turn, message: str = texts.WELCOME_BACK) -> Say:
    return Say(turn.t(message), keyboard="main")


def day_label(turn: Turn, day: date) -> str:
    today = turn.clock.now().date()
    label = i18n.weekday_and_day(day, turn.locale)
    if day == today:
        return f"{turn.t(texts.TODAY)} · {label}"
    if day == today + timedelta(days=1):
        return f"{turn.t(texts.TOMORROW)} · {label}"
    return label


def capital(label: str) -> str:
    """Labels read as lower-case words in a sentence start with a capital on a button."""
    return label[:1].upper() + label[1:]
