"""The conversation, one step per function: each takes a `Turn` (the chat user, their state and a
database session inside the update's one transaction) and returns what to say. Buttons carry
their own state in their callback data, so an old message or a restart never depends on memory
in the process; the one typed step (a family code) is kept in `ChatState`."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from babel.dates import format_date, get_day_names
from babel.numbers import format_decimal, format_percent
from sqlmodel import Session, col, select

from billing.models import Share
from bot import callbacks as cb
from bot import texts
from bot.callbacks import Callback
from bot.models import ChatState
from core import i18n, ratings
from core.clock import Clock
from core.diet import profile_of_elder
from core.errors import DomainError, DuplicateRequest, LinkCodeInvalid, NoMenu, OrderNotFound
from core.models import (
    ChatUser,
    Elder,
    MealSlot,
    Order,
    Rider,
    Site,
    StandingOrder,
    StandingOrderPause,
)
from core.settings import Settings
from core.sites import (
    cutoff_at,
    get_site,
    get_slot,
    modes_offered,
    nearby_sites,
    serves,
    site_for_elder,
)
from core.types import OrderSource, OrderStatus, ServiceMode, Slot, code_name
from kitchen.exports import variant_name
from routing.records import DeliveryRoute
from routing.service import route_of_order, route_view
from usecases import ordering, welfare
from usecases.elders import link_own_chat, linked_elders, redeem_link_code
from usecases.menus import MenuChoice, menu_choices, menu_item, suitable_choices
from usecases.ordering import (
    create_standing_order,
    elder_month,
    orderable_meals,
    pause_standing_order,
    plan_repeat,
    quote,
    resume_standing_order,
    stop_standing_order,
)

Keyboard = Literal["main", "contact", "location", "remove"]


@dataclass(frozen=True)
class Link:
    """A button that opens a web address (a map, a page) instead of coming back to the bot:
    Telegram sends it as a URL button, never as callback data (at most 64 bytes, and pressing
    it would only send the address back to us)."""

    url: str


Buttons = list[list[tuple[str, Callback | Link]]]
MODES = {"d": ServiceMode.delivery, "p": ServiceMode.pickup, "i": ServiceMode.dine_in}
MODE_LETTERS = {mode: letter for letter, mode in MODES.items()}


@dataclass
class Say:
    """One thing the bot says: new text, or the pressed message replaced (`edit`)."""

    text: str
    buttons: Buttons | None = None
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

    def show(self, value: object) -> str:
        return i18n.display(value, self.locale)

    def phone(self) -> str:
        return self.settings.programme_phone

    def join(self, items: Iterable[str]) -> str:
        """A list run together as the language writes it: 周一、周二 or Mon, Tue."""
        return ("、" if self.locale.startswith("zh") else ", ").join(items)

    def elders(self) -> list[Elder]:
        """The elders this chat may act for (read once per step; a link step resets it)."""
        if self._elders is None:
            self._elders = linked_elders(session=self.session, chat_user_id=self.user.id)
        return self._elders

    def forget_elders(self) -> None:
        self._elders = None

    def elder(self, elder_id: int) -> Elder:
        """An elder this chat may act for; anything else (an old or forged button) is refused."""
        for elder in self.elders():
            if elder.id == elder_id:
                return elder
        raise NotYours()


# -- first contact ---------------------------------------------------------------------------


def start(turn: Turn) -> list[Say]:
    turn.state.step = None
    if turn.elders():
        return [Say(turn.t(texts.WELCOME_BACK), keyboard="main")]
    return [choose_language_prompt(turn)]


def choose_language_prompt(turn: Turn) -> Say:
    languages: Buttons = [[("中文", cb.Language("zh_CN")), ("English", cb.Language("en"))]]
    return Say(turn.t(texts.CHOOSE_LANGUAGE), languages)


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
    turn.user.phone = phone[:32]
    turn.session.add(turn.user)
    elder = link_own_chat(
        session=turn.session, clock=turn.clock, chat_user_id=turn.user.id, phone=phone
    )
    if elder is None:
        return [Say(turn.t(texts.NOT_REGISTERED, phone=turn.phone()), keyboard="contact")]
    turn.forget_elders()
    return [Say(turn.t(texts.WELCOME, name=elder.name), keyboard="main")]


def ask_code(turn: Turn) -> list[Say]:
    turn.state.step = "code"
    return [Say(turn.t(texts.ASK_CODE), keyboard="remove")]


def code_typed(turn: Turn, code: str) -> list[Say]:
    elder = redeem_link_code(
        session=turn.session, clock=turn.clock, chat_user_id=turn.user.id, code=code
    )
    if elder is None:
        return [Say(LinkCodeInvalid().render(turn.locale), keyboard="contact")]
    turn.state.step = None
    turn.forget_elders()
    return [Say(turn.t(texts.WELCOME_FAMILY, name=elder.name), keyboard="main")]


# -- the main menu ---------------------------------------------------------------------------


def main_menu(turn: Turn, message: str = texts.WELCOME_BACK) -> Say:
    return Say(turn.t(message), keyboard="main")


def menu_action(turn: Turn, action: str) -> list[Say]:
    """A main-menu button: pick the elder first when this chat orders for several."""
    if action == "help":
        return [Say(turn.t(texts.HELP_TEXT, phone=turn.phone()), keyboard="main")]
    if action == "settings":
        rows: Buttons = [
            [("中文", cb.Language("zh_CN")), ("English", cb.Language("en"))],
            [(turn.t(texts.ADD_ELDER), cb.HaveCode())],
        ]
        return [Say(turn.t(texts.SETTINGS_TEXT), rows)]
    elders = turn.elders()
    if not elders:
        return [choose_language_prompt(turn)]
    if len(elders) > 1:
        rows: Buttons = [[(elder.name, cb.ForElder(action, elder.id))] for elder in elders]
        return [Say(turn.t(texts.CHOOSE_ELDER), rows)]
    return for_elder(turn, action, elders[0].id, edit=False)


def for_elder(turn: Turn, action: str, elder_id: int, edit: bool = True) -> list[Say]:
    step = {
        "O": pick_day,
        "R": pick_repeat_day,
        "M": my_orders,
        "B": my_bill,
        "T": standing,
        "N": nearby,
    }
    if action not in step:
        return not_understood(turn)
    return step[action](turn, elder_id, edit=edit)


def not_understood(turn: Turn) -> list[Say]:
    if not turn.elders():
        if turn.state.step == "code":
            return [Say(turn.t(texts.ASK_CODE))]
        return [Say(turn.t(texts.NOT_UNDERSTOOD)), ask_phone(turn)]
    return [Say(turn.t(texts.NOT_UNDERSTOOD), keyboard="main")]


def cancel_flow(turn: Turn) -> list[Say]:
    turn.state.step = None
    if not turn.elders():
        return [ask_phone(turn)]
    return [main_menu(turn, texts.CANCELLED_FLOW)]


# -- ordering --------------------------------------------------------------------------------


def _day_label(turn: Turn, day: date) -> str:
    today = turn.clock.now().date()
    label = i18n.weekday_and_day(day, turn.locale)
    if day == today:
        return f"{turn.t(texts.TODAY)} · {label}"
    if day == today + timedelta(days=1):
        return f"{turn.t(texts.TOMORROW)} · {label}"
    return label


def _site(turn: Turn, elder: Elder, site_id: int | None = None) -> Site:
    """The elder's own site, or the canteen they chose from the nearby list."""
    if site_id is not None:
        return get_site(session=turn.session, site_id=site_id)
    site = site_for_elder(session=turn.session, elder=elder)
    if site is None:
        raise NoSite(name=elder.name, phone=turn.phone())
    return site


class NoSite(DomainError):
    code = "no_site"
    message = texts.NO_SITE


class NothingOpen(DomainError):
    code = "nothing_open"
    message = texts.NOTHING_OPEN


def _days(turn: Turn, site: Site, button: Callable[[date], Callback]) -> Buttons:
    meals = orderable_meals(session=turn.session, clock=turn.clock, site_id=site.id)
    days = sorted({meal.service_date for meal in meals})
    if not days:
        raise NothingOpen(phone=site.phone)
    return [[(_day_label(turn, day), button(day))] for day in days]


def pick_day(turn: Turn, elder_id: int, edit: bool = True, site_id: int | None = None) -> list[Say]:
    elder = turn.elder(elder_id)
    site = _site(turn, elder, site_id)
    rows = _days(turn, site, lambda day: cb.PickSlot(elder.id, day, site_id))
    text = turn.t(texts.PICK_DAY, name=elder.name)
    if site_id is not None:
        text += "\n" + site.name
    return [Say(text, rows, edit=edit)]


def pick_slot(turn: Turn, elder_id: int, day: date, site_id: int | None = None) -> list[Say]:
    elder = turn.elder(elder_id)
    site = _site(turn, elder, site_id)
    meals = [
        meal
        for meal in orderable_meals(session=turn.session, clock=turn.clock, site_id=site.id)
        if meal.service_date == day
    ]
    if not meals:
        raise NothingOpen(phone=site.phone)
    rows = [
        [
            (
                turn.t(texts.SLOT_BUTTON, slot=meal.slot, time=meal.closes_at.time()),
                cb.PickSet(elder.id, day, meal.slot, site_id),
            )
        ]
        for meal in meals
    ]
    back = cb.PickDay(elder.id) if site_id is None else cb.OrderAt(elder.id, site_id)
    rows.append([(turn.t(texts.BACK), back)])
    return [Say(turn.t(texts.PICK_SLOT, date=_day_label(turn, day)), rows, edit=True)]


def _suitable(turn: Turn, elder: Elder, site: Site, day: date, slot: Slot) -> list[MenuChoice]:
    choices = menu_choices(session=turn.session, site_id=site.id, service_date=day, slot=slot)
    profile = profile_of_elder(elder.name, elder.texture, elder.diet_needs, elder.allergies)
    return suitable_choices(choices, profile)


@dataclass(frozen=True)
class Flow:
    """Where the meal choices lead: a new order for an elder, or a change to an order (the same
    screens, other buttons)."""

    elder_id: int
    change: int | None = None
    site_id: int | None = None

    def dish(self, day: date, slot: Slot, dish_id: int) -> Callback:
        if self.change:
            return cb.ChangeVariant(self.change, dish_id)
        return cb.PickVariant(self.elder_id, day, slot, dish_id, self.site_id)

    def screen(self, item_id: int, quantity: int, mode: str) -> Callback:
        if self.change:
            return cb.ChangeReview(self.change, item_id, quantity, mode)
        return cb.Review(self.elder_id, item_id, quantity, mode)

    def confirm(self, item_id: int, quantity: int, mode: str) -> Callback:
        if self.change:
            return cb.Change(self.change, item_id, quantity, mode)
        return cb.Place(self.elder_id, item_id, quantity, mode)

    def sets(self, day: date, slot: Slot) -> Callback:
        if self.change:
            return cb.ChangeSets(self.change)
        return cb.PickSet(self.elder_id, day, slot, self.site_id)

    def before_sets(self, day: date) -> Callback:
        if self.change:
            return cb.MyOrders(self.elder_id)
        return cb.PickSlot(self.elder_id, day, self.site_id)


def pick_set(
    turn: Turn,
    elder_id: int,
    day: date,
    slot: Slot,
    flow: Flow | None = None,
    site: Site | None = None,
) -> list[Say]:
    elder = turn.elder(elder_id)
    flow = flow or Flow(elder.id)
    site = site or _site(turn, elder, flow.site_id)
    suitable = _suitable(turn, elder, site, day, slot)
    back = [(turn.t(texts.BACK), flow.before_sets(day))]
    if not suitable:
        text = turn.t(texts.NOTHING_SUITABLE, name=elder.name, phone=site.phone)
        return [Say(text, [back], edit=True)]
    lines, rows, seen = [turn.t(texts.PICK_SET, date=_day_label(turn, day), slot=slot)], [], set()
    for choice in suitable:
        if choice.dish_id in seen:
            continue
        seen.add(choice.dish_id)
        name = turn.show(choice.name)
        line = f"• {name}"
        if choice.allergens:
            allergens = turn.join(code_name(a, turn.locale) for a in sorted(choice.allergens))
            line += " " + turn.t(texts.CONTAINS, allergens=allergens)
        lines.append(line)
        rows.append([(name, flow.dish(day, slot, choice.dish_id))])
    rows.append(back)
    return [Say("\n".join(lines), rows, edit=True)]


def pick_variant(
    turn: Turn,
    elder_id: int,
    day: date,
    slot: Slot,
    dish_id: int,
    flow: Flow | None = None,
    site: Site | None = None,
) -> list[Say]:
    elder = turn.elder(elder_id)
    flow = flow or Flow(elder.id)
    site = site or _site(turn, elder, flow.site_id)
    variants = [c for c in _suitable(turn, elder, site, day, slot) if c.dish_id == dish_id]
    if not variants:
        return pick_set(turn, elder_id, day, slot, flow, site)
    if len(variants) == 1:
        return confirm_screen(turn, elder_id, variants[0].item_id, 1, None, flow)
    rows = [
        [
            (
                _capital(f"{variant_name(c.variant, turn.locale)} · ")
                + i18n.money(c.price_fen, turn.locale),
                flow.screen(c.item_id, 1, "-"),
            )
        ]
        for c in variants
    ]
    rows.append([(turn.t(texts.BACK), flow.sets(day, slot))])
    text = turn.t(texts.PICK_VARIANT, dish=variants[0].name)
    return [Say(text, rows, edit=True)]


def _capital(label: str) -> str:
    """Labels read as lower-case words in a sentence start with a capital on a button."""
    return label[:1].upper() + label[1:]


@dataclass(frozen=True)
class ItemAt:
    choice: MenuChoice
    site: Site
    service_date: date
    slot: Slot


def _item(turn: Turn, item_id: int) -> ItemAt:
    found = menu_item(session=turn.session, item_id=item_id)
    site = turn.session.get(Site, found.site_id)
    return ItemAt(found.choice, site, found.service_date, found.slot)  # type: ignore[arg-type]


def _modes(turn: Turn, site: Site, elder: Elder) -> list[ServiceMode]:
    in_area = serves(session=turn.session, site_id=site.id, community_id=elder.community_id)
    return modes_offered(site, in_service_area=in_area)


def _mode_for(turn: Turn, elder: Elder, site: Site, letter: str | None) -> ServiceMode:
    modes = _modes(turn, site, elder)
    if letter in MODES and MODES[letter] in modes:
        return MODES[letter]
    preferred = ServiceMode(elder.service_mode)
    return preferred if preferred in modes or not modes else modes[0]


def confirm_screen(
    turn: Turn,
    elder_id: int,
    item_id: int,
    quantity: int,
    mode_letter: str | None,
    flow: Flow | None = None,
) -> list[Say]:
    """The order as it would be placed, what the elder pays and who pays the rest."""
    elder = turn.elder(elder_id)
    item = _item(turn, item_id)
    if flow is None:
        home = site_for_elder(session=turn.session, elder=elder)
        flow = Flow(elder.id, site_id=None if home and home.id == item.site.id else item.site.id)
    mode = _mode_for(turn, elder, item.site, mode_letter)
    quantity = max(1, min(quantity, turn.settings.max_order_quantity))
    priced = quote(
        session=turn.session,
        elder_id=elder.id,
        site_id=item.site.id,
        service_date=item.service_date,
        slot=item.slot.value,
        price_fen=item.choice.price_fen * quantity,
        portions=quantity,
    )
    money = lambda fen: i18n.money(fen, turn.locale)  # noqa: E731
    lines = [
        turn.t(texts.CHANGE_TITLE if flow.change else texts.CONFIRM_TITLE),
        turn.t(texts.CONFIRM_FOR, name=elder.name),
        turn.t(texts.CONFIRM_MEAL, date=_day_label(turn, item.service_date), slot=item.slot),
        turn.t(
            texts.CONFIRM_DISH,
            dish=item.choice.name,
            variant=variant_name(item.choice.variant, turn.locale),
            quantity=quantity,
        ),
        turn.t(texts.CONFIRM_MODE, mode=mode, site=item.site.name),
        turn.t(texts.CONFIRM_PRICE, price=money(item.choice.price_fen * quantity)),
        turn.t(texts.CONFIRM_ELDER_PAYS, amount=money(priced.elder_fen)),
    ]
    payers = [
        f"{turn.show(name) if name else turn.show(share)} {money(fen)}"
        for share, name, fen in priced.payers()
        if fen
    ]
    if payers:
        lines.append(turn.t(texts.CONFIRM_OTHERS_PAY, payers=turn.join(payers)))
    letter = MODE_LETTERS[mode]
    rows: Buttons = [
        [
            (
                ("• " if n == quantity else "") + turn.t(texts.PORTIONS, n=n),
                flow.screen(item_id, n, letter),
            )
            for n in range(1, 4)
        ]
    ]
    modes = _modes(turn, item.site, elder)
    if len(modes) > 1:
        rows.append(
            [
                (
                    ("• " if m == mode else "") + _capital(turn.show(m)),
                    flow.screen(item_id, quantity, MODE_LETTERS[m]),
                )
                for m in modes
            ]
        )
    rows.append([(turn.t(texts.CONFIRM), flow.confirm(item_id, quantity, letter))])
    rows.append([(turn.t(texts.BACK), flow.sets(item.service_date, item.slot))])
    return [Say("\n".join(lines), rows, edit=True)]


def place(
    turn: Turn, elder_id: int, item_id: int, quantity: int, mode_letter: str, key: str
) -> list[Say]:
    """Confirm pressed: the order services decide; the key makes a double tap harmless."""
    elder = turn.elder(elder_id)
    item = _item(turn, item_id)
    try:
        placed = ordering.place_order(
            session=turn.session,
            clock=turn.clock,
            elder_id=elder.id,
            site_id=item.site.id,
            service_date=item.service_date,
            slot=item.slot,
            dish_id=item.choice.dish_id,
            variant=item.choice.variant,
            quantity=quantity,
            mode=_mode_for(turn, elder, item.site, mode_letter),
            idempotency_key=key,
            source=OrderSource.chat,
            placed_by_chat_user_id=turn.user.id,
        )
    except DuplicateRequest:
        return [Say(turn.t(texts.ALREADY_PLACED))]
    return [_done(turn, texts.ORDERED, item, quantity, placed.split.elder_fen)]


def _done(turn: Turn, message: str, item: "ItemAt", quantity: int, elder_fen: int) -> Say:
    """The pressed confirmation screen becomes what was ordered (or changed) and its cost."""
    text = turn.t(
        message,
        dish=item.choice.name,
        variant=variant_name(item.choice.variant, turn.locale),
        quantity=quantity,
        date=_day_label(turn, item.service_date),
        slot=item.slot,
        amount=i18n.money(elder_fen, turn.locale),
    )
    return Say(text, edit=True)


# -- same as last time -----------------------------------------------------------------------


def pick_repeat_day(turn: Turn, elder_id: int, edit: bool = True) -> list[Say]:
    elder = turn.elder(elder_id)
    rows = _days(turn, _site(turn, elder), lambda day: cb.RepeatOn(elder.id, day))
    return [Say(turn.t(texts.PICK_REPEAT_DAY, name=elder.name), rows, edit=edit)]


def repeat_on(turn: Turn, elder_id: int, day: date, slot: Slot | None = None) -> list[Say]:
    elder = turn.elder(elder_id)
    plan = plan_repeat(session=turn.session, elder_id=elder.id, service_date=day, slot=slot)
    return confirm_screen(
        turn, elder.id, plan.choice.item_id, plan.quantity, MODE_LETTERS[plan.mode]
    )


# -- my orders, cancelling -------------------------------------------------------------------


def _order_line(turn: Turn, order: Order) -> str:
    return turn.t(
        texts.ORDER_LINE,
        date=i18n.weekday_and_day(order.service_date, turn.locale),
        slot=Slot(order.slot),
        dish=i18n.Bilingual(order.dish_name_zh, order.dish_name_en),
        variant=variant_name(order.variant, turn.locale),
        quantity=order.quantity,
        status=OrderStatus(order.status),
    )


def my_orders(turn: Turn, elder_id: int, edit: bool = True) -> list[Say]:
    elder = turn.elder(elder_id)
    today = turn.clock.now().date()
    orders = list(
        turn.session.exec(
            select(Order)
            .where(Order.elder_id == elder.id, Order.service_date >= today - timedelta(days=7))
            .order_by(col(Order.service_date), col(Order.slot), col(Order.id))
        )
    )
    if not orders:
        return [Say(turn.t(texts.NO_ORDERS, name=elder.name), keyboard="main")]
    live = (OrderStatus.placed, OrderStatus.locked)
    upcoming = [o for o in orders if o.service_date >= today and o.status in live]
    recent = [o for o in orders if o not in upcoming and o.service_date <= today]
    lines = [turn.t(texts.MY_ORDERS_TITLE, name=elder.name)]
    if upcoming:
        lines += [turn.t(texts.UPCOMING)] + [_order_line(turn, o) for o in upcoming]
    if recent:
        lines += [turn.t(texts.RECENT)] + [_order_line(turn, o) for o in reversed(recent)]
    rows = [
        [
            (
                turn.t(
                    texts.CANCEL_BUTTON,
                    date=i18n.weekday_and_day(o.service_date, turn.locale),
                    slot=Slot(o.slot),
                ),
                cb.AskCancel(o.id),
            ),
            (turn.t(texts.CHANGE_BUTTON), cb.ChangeSets(o.id)),
        ]
        for o in upcoming
        if o.status == OrderStatus.placed
    ]
    return [Say("\n".join(lines), rows or None, edit=edit and bool(rows))]


def _own_order(turn: Turn, order_id: int) -> Order:
    order = turn.session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id=order_id)
    turn.elder(order.elder_id)
    return order


def ask_cancel(turn: Turn, order_id: int) -> list[Say]:
    order = _own_order(turn, order_id)
    text = turn.t(
        texts.CANCEL_ASK,
        dish=i18n.Bilingual(order.dish_name_zh, order.dish_name_en),
        date=i18n.weekday_and_day(order.service_date, turn.locale),
        slot=Slot(order.slot),
    )
    rows: Buttons = [
        [(turn.t(texts.CANCEL_YES), cb.Cancel(order.id))],
        [(turn.t(texts.CANCEL_NO), cb.Keep())],
    ]
    return [Say(text, rows, edit=True)]


def cancel(turn: Turn, order_id: int) -> list[Say]:
    order = _own_order(turn, order_id)
    ordering.cancel_order(session=turn.session, clock=turn.clock, order_id=order.id)
    text = turn.t(
        texts.CANCELLED,
        date=i18n.weekday_and_day(order.service_date, turn.locale),
        slot=Slot(order.slot),
    )
    return [Say(text, edit=True)]


def keep(turn: Turn) -> list[Say]:
    return [Say(turn.t(texts.KEPT), edit=True)]


def change_sets(turn: Turn, order_id: int) -> list[Say]:
    """Change an order before its cutoff: the same meal's menu, at the order's own site."""
    order = _own_order(turn, order_id)
    site = turn.session.get(Site, order.site_id)
    flow = Flow(order.elder_id, change=order.id)
    return pick_set(turn, order.elder_id, order.service_date, Slot(order.slot), flow, site)


def change_variants(turn: Turn, order_id: int, dish_id: int) -> list[Say]:
    order = _own_order(turn, order_id)
    site = turn.session.get(Site, order.site_id)
    flow = Flow(order.elder_id, change=order.id)
    slot = Slot(order.slot)
    return pick_variant(turn, order.elder_id, order.service_date, slot, dish_id, flow, site)


def change_screen(
    turn: Turn, order_id: int, item_id: int, quantity: int, mode_letter: str
) -> list[Say]:
    order = _own_order(turn, order_id)
    flow = Flow(order.elder_id, change=order.id)
    return confirm_screen(turn, order.elder_id, item_id, quantity, mode_letter, flow)


def change(turn: Turn, order_id: int, item_id: int, quantity: int, mode_letter: str) -> list[Say]:
    order = _own_order(turn, order_id)
    elder = turn.elder(order.elder_id)
    item = _item(turn, item_id)
    if (item.site.id, item.service_date, item.slot) != (
        order.site_id,
        order.service_date,
        Slot(order.slot),
    ):
        raise NotYours()
    changed = ordering.change_order(
        session=turn.session,
        clock=turn.clock,
        order_id=order.id,
        dish_id=item.choice.dish_id,
        variant=item.choice.variant,
        quantity=quantity,
        mode=_mode_for(turn, elder, item.site, mode_letter),
    )
    return [_done(turn, texts.CHANGED, item, quantity, changed.split.elder_fen)]


# -- my bill, standing orders ----------------------------------------------------------------


def my_bill(turn: Turn, elder_id: int, edit: bool = True) -> list[Say]:
    elder = turn.elder(elder_id)
    today = turn.clock.now().date()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    month = elder_month(session=turn.session, elder_id=elder.id, first=first, last=last)
    money = lambda fen: i18n.money(fen, turn.locale)  # noqa: E731
    lines = [turn.t(texts.BILL_TITLE, name=elder.name, month=_month_name(turn, first))]
    if month.meals:
        lines.append(turn.t(texts.BILL_MEALS, meals=month.meals, price=money(month.price_fen)))
        lines.append(turn.t(texts.BILL_ELDER, amount=money(month.paid_fen[Share.elder])))
        for share in (Share.government, Share.business, Share.charity):
            if month.paid_fen[share]:
                lines.append(
                    turn.t(texts.BILL_SHARE, share=share, amount=money(month.paid_fen[share]))
                )
    else:
        lines.append(turn.t(texts.BILL_NOTHING))
    if month.upcoming_meals:
        lines.append(
            turn.t(
                texts.BILL_UPCOMING,
                meals=month.upcoming_meals,
                amount=money(month.upcoming_elder_fen),
            )
        )
    return [Say("\n".join(lines), keyboard="main")]


def _month_name(turn: Turn, first: date) -> str:
    pattern = "y年M月" if turn.locale == "zh_CN" else "MMMM y"
    return format_date(first, format=pattern, locale=i18n.babel_locale(turn.locale))


def _weekdays(turn: Turn, standing_order: StandingOrder) -> str:
    return _weekday_names(turn, standing_order.weekdays)


def _weekday_names(turn: Turn, weekdays: list[int]) -> str:
    days = get_day_names("abbreviated", locale=i18n.babel_locale(turn.locale))
    # ISO weekdays (Monday = 1); Babel counts from Monday = 0.
    return turn.join(days[d - 1] for d in sorted(weekdays))


def standing(turn: Turn, elder_id: int, edit: bool = True) -> list[Say]:
    """The elder's standing orders, with pause and resume buttons (a hospital stay, a visit)."""
    elder = turn.elder(elder_id)
    orders = list(
        turn.session.exec(
            select(StandingOrder).where(
                StandingOrder.elder_id == elder.id, col(StandingOrder.active).is_(True)
            )
        )
    )
    rows: Buttons = []
    if not orders:
        lines = [turn.t(texts.STANDING_NONE, name=elder.name)]
    else:
        lines = [turn.t(texts.STANDING_TITLE, name=elder.name)]
        today = turn.clock.now().date()
        for standing_order in orders:
            site = turn.session.get(Site, standing_order.site_id)
            slot, weekdays = Slot(standing_order.slot), _weekdays(turn, standing_order)
            line = turn.t(
                texts.STANDING_LINE, slot=slot, weekdays=weekdays, site=site.name if site else ""
            )
            pauses = list(
                turn.session.exec(
                    select(StandingOrderPause).where(
                        StandingOrderPause.standing_order_id == standing_order.id,
                        StandingOrderPause.end_date >= today,
                    )
                )
            )
            for pause in pauses:
                line += " · " + turn.t(
                    texts.STANDING_PAUSED, start=pause.start_date, end=pause.end_date
                )
            lines.append(line)
            rows.append(
                [
                    (
                        turn.t(texts.PAUSE_BUTTON, slot=slot, weekdays=weekdays),
                        cb.PauseFrom(standing_order.id),
                    )
                ]
            )
            if pauses:
                label = turn.t(texts.RESUME_BUTTON, slot=slot, weekdays=weekdays)
                rows.append([(label, cb.Resume(standing_order.id))])
            label = turn.t(texts.STANDING_STOP, slot=slot, weekdays=weekdays)
            rows.append([(label, cb.AskStop(standing_order.id))])
    lines.append(turn.t(texts.STANDING_CHANGE, phone=turn.phone()))
    rows.append([(turn.t(texts.STANDING_NEW), cb.NewStanding(elder.id))])
    return [Say("\n".join(lines), rows, edit=edit)]


def _own_standing(turn: Turn, standing_order_id: int) -> StandingOrder:
    standing_order = turn.session.get(StandingOrder, standing_order_id)
    if standing_order is None:
        raise NotYours()
    turn.elder(standing_order.elder_id)
    return standing_order


def pause_from(turn: Turn, standing_order_id: int) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    today = turn.clock.now().date()
    rows: Buttons = [
        [(_day_label(turn, day), cb.PauseUntil(standing_order.id, day))]
        for day in (today + timedelta(days=n) for n in range(7))
    ]
    return [Say(turn.t(texts.PAUSE_FROM), rows, edit=True)]


def pause_until(turn: Turn, standing_order_id: int, start: date) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    rows: Buttons = [
        [(_day_label(turn, day), cb.Pause(standing_order.id, start, day))]
        for day in (start + timedelta(days=n) for n in range(14))
    ]
    return [Say(turn.t(texts.PAUSE_UNTIL), rows, edit=True)]


def pause(turn: Turn, standing_order_id: int, start: date, end: date) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    pause_standing_order(
        session=turn.session,
        standing_order_id=standing_order.id,
        start_date=start,
        end_date=end,
        reason="chat",
    )
    text = turn.t(
        texts.PAUSED,
        slot=Slot(standing_order.slot),
        start=_day_label(turn, start),
        end=_day_label(turn, end),
        again=_day_label(turn, end + timedelta(days=1)),
    )
    return [Say(text, edit=True)]


def ask_stop(turn: Turn, standing_order_id: int) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    slot, weekdays = Slot(standing_order.slot), _weekdays(turn, standing_order)
    text = turn.t(texts.STANDING_STOP_ASK, slot=slot, weekdays=weekdays)
    rows: Buttons = [
        [(turn.t(texts.STANDING_STOP_YES), cb.Stop(standing_order.id))],
        [(turn.t(texts.CANCEL_NO), cb.Keep())],
    ]
    return [Say(text, rows, edit=True)]


def stop(turn: Turn, standing_order_id: int) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    if standing_order.active:
        stop_standing_order(session=turn.session, standing_order_id=standing_order.id)
    slot, weekdays = Slot(standing_order.slot), _weekdays(turn, standing_order)
    return [Say(turn.t(texts.STANDING_STOPPED, slot=slot, weekdays=weekdays), edit=True)]


# A new standing order is built up in its buttons' data: the meal, then the weekdays as a bit
# mask (Monday = 1, Sunday = 64), then the variant ("-": whatever the menu has that suits) and
# the way it comes, then Confirm.
MONDAY_TO_FRIDAY, EVERY_DAY = 0b0011111, 0b1111111


def _mask_days(mask: int) -> list[int]:
    return [day for day in range(1, 8) if mask & (1 << (day - 1))]


def new_standing(turn: Turn, elder_id: int) -> list[Say]:
    elder = turn.elder(elder_id)
    site = _site(turn, elder)
    slots = [
        meal_slot.slot
        for meal_slot in turn.session.exec(
            select(MealSlot).where(MealSlot.site_id == site.id).order_by(MealSlot.cutoff_time)
        )
    ]
    rows: Buttons = [
        [(_capital(turn.show(Slot(slot))), cb.StandingDays(elder.id, Slot(slot), 0))]
        for slot in slots
    ]
    rows.append([(turn.t(texts.BACK), cb.Standing(elder.id))])
    return [Say(turn.t(texts.STANDING_PICK_SLOT, name=elder.name), rows, edit=True)]


def standing_days(turn: Turn, elder_id: int, slot: Slot, mask: int) -> list[Say]:
    elder = turn.elder(elder_id)
    mask &= EVERY_DAY
    names = get_day_names("wide", locale=i18n.babel_locale(turn.locale))
    rows: Buttons = []
    for day in range(1, 8):
        bit = 1 << (day - 1)
        label = ("☑️ " if mask & bit else "⬜ ") + names[day - 1]
        rows.append([(label, cb.StandingDays(elder.id, slot, mask ^ bit))])
    rows.append(
        [
            (turn.t(texts.STANDING_WEEKDAYS), cb.StandingDays(elder.id, slot, MONDAY_TO_FRIDAY)),
            (turn.t(texts.STANDING_EVERY_DAY), cb.StandingDays(elder.id, slot, EVERY_DAY)),
        ]
    )
    if mask:
        rows.append([(turn.t(texts.STANDING_NEXT), cb.StandingVariant(elder.id, slot, mask))])
    rows.append([(turn.t(texts.BACK), cb.NewStanding(elder.id))])
    return [Say(turn.t(texts.STANDING_PICK_DAYS, slot=slot), rows, edit=True)]


def _coming_choices(turn: Turn, elder: Elder, site: Site, slot: Slot) -> list[MenuChoice]:
    """What suits the elder on the site's menus for this meal over the coming week."""
    today = turn.clock.now().date()
    found: list[MenuChoice] = []
    for offset in range(7):
        try:
            found += _suitable(turn, elder, site, today + timedelta(days=offset), slot)
        except NoMenu:
            continue  # not published yet
    return found


def standing_variant(turn: Turn, elder_id: int, slot: Slot, mask: int) -> list[Say]:
    elder = turn.elder(elder_id)
    if not mask & EVERY_DAY:
        return standing_days(turn, elder_id, slot, mask)
    site = _site(turn, elder)
    variants = list(dict.fromkeys(c.variant for c in _coming_choices(turn, elder, site, slot)))
    days = mask & EVERY_DAY
    rows: Buttons = [
        [
            (
                _capital(variant_name(variant, turn.locale)),
                cb.StandingReview(elder.id, slot, days, variant, "-"),
            )
        ]
        for variant in variants
    ]
    rows.append(
        [(turn.t(texts.STANDING_ANY_VARIANT), cb.StandingReview(elder.id, slot, days, "-", "-"))]
    )
    rows.append([(turn.t(texts.BACK), cb.StandingDays(elder.id, slot, mask))])
    return [Say(turn.t(texts.STANDING_PICK_VARIANT), rows, edit=True)]


def _standing_start(turn: Turn, site: Site, slot: Slot) -> date:
    """Today if today's meal still takes orders, else tomorrow."""
    now = turn.clock.now()
    meal_slot = get_slot(session=turn.session, site=site, slot=slot)
    today = now.date()
    return today if cutoff_at(meal_slot, today, turn.clock.tz) > now else today + timedelta(1)


def standing_confirm(
    turn: Turn, elder_id: int, slot: Slot, mask: int, variant: str, letter: str
) -> list[Say]:
    elder = turn.elder(elder_id)
    site = _site(turn, elder)
    days = _mask_days(mask)
    if not days:
        return standing_days(turn, elder_id, slot, 0)
    mode = _mode_for(turn, elder, site, letter)
    start = _standing_start(turn, site, slot)
    wanted = (
        variant_name(variant, turn.locale)
        if variant != "-"
        else turn.t(texts.STANDING_AS_THE_MENU_COMES)
    )
    lines = [
        turn.t(
            texts.STANDING_CONFIRM,
            slot=slot,
            weekdays=_weekday_names(turn, days),
            variant=wanted,
            mode=mode,
            site=site.name,
            start=_day_label(turn, start),
        )
    ]
    choices = [
        c
        for c in _coming_choices(turn, elder, site, slot)
        if variant == "-" or c.variant == variant
    ]
    if choices:
        sample = choices[0]
        priced = quote(
            session=turn.session,
            elder_id=elder.id,
            site_id=site.id,
            service_date=start,
            slot=slot.value,
            price_fen=sample.price_fen,
            portions=1,
        )
        money = lambda fen: i18n.money(fen, turn.locale)  # noqa: E731
        lines.append(
            turn.t(
                texts.STANDING_PRICE,
                price=money(sample.price_fen),
                amount=money(priced.elder_fen),
            )
        )
    rows: Buttons = []
    modes = _modes(turn, site, elder)
    if len(modes) > 1:
        rows.append(
            [
                (
                    ("• " if m == mode else "") + _capital(turn.show(m)),
                    cb.StandingReview(elder.id, slot, mask, variant, MODE_LETTERS[m]),
                )
                for m in modes
            ]
        )
    make = cb.StandingMake(elder.id, slot, mask, variant, MODE_LETTERS[mode])
    rows.append([(turn.t(texts.CONFIRM), make)])
    rows.append([(turn.t(texts.BACK), cb.StandingVariant(elder.id, slot, mask))])
    return [Say("\n".join(lines), rows, edit=True)]


def standing_make(
    turn: Turn, elder_id: int, slot: Slot, mask: int, variant: str, letter: str
) -> list[Say]:
    elder = turn.elder(elder_id)
    site = _site(turn, elder)
    days = _mask_days(mask)
    start = _standing_start(turn, site, slot)
    create_standing_order(
        session=turn.session,
        clock=turn.clock,
        elder_id=elder.id,
        site_id=site.id,
        slot=slot,
        weekdays=days,
        variant=None if variant == "-" else variant,
        mode=_mode_for(turn, elder, site, letter),
        start_date=start,
    )
    text = turn.t(
        texts.STANDING_MADE,
        slot=slot,
        weekdays=_weekday_names(turn, days),
        start=_day_label(turn, start),
    )
    return [Say(text, edit=True)]


def resume(turn: Turn, standing_order_id: int) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    today = turn.clock.now().date()
    resume_standing_order(session=turn.session, standing_order_id=standing_order.id, on=today)
    text = turn.t(
        texts.RESUMED,
        slot=Slot(standing_order.slot),
        weekdays=_weekdays(turn, standing_order),
        date=_day_label(turn, today),
    )
    return [Say(text, edit=True)]


# -- nearby canteens -----------------------------------------------------------------------

NEARBY_COUNT = 5


def nearby(turn: Turn, elder_id: int, edit: bool = True) -> list[Say]:
    """The canteens nearest to the elder's home, and a button to share where one is instead."""
    elder = turn.elder(elder_id)
    turn.state.step, turn.state.elder_id = "near", elder.id
    listed = _nearby_list(turn, elder, elder.lat, elder.lon, texts.NEARBY_FROM_HOME, edit)
    return [*listed, Say(turn.t(texts.NEARBY_ELSEWHERE), keyboard="location")]


def location_shared(turn: Turn, lat: float, lon: float) -> list[Say]:
    """A shared location: the canteens nearest to it, priced for the elder being looked after."""
    elders = turn.elders()
    if not elders or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return not_understood(turn)
    elder_id = turn.state.elder_id if turn.state.step == "near" else None
    if elder_id is None:
        if len(elders) > 1:
            return menu_action(turn, "N")
        elder_id = elders[0].id
    elder = turn.elder(elder_id)
    return _nearby_list(turn, elder, lat, lon, texts.NEARBY_FROM_HERE, edit=False)


def _distance(turn: Turn, metres: float) -> str:
    if metres < 1000:
        return turn.t(texts.METRES, metres=int(round(metres, -1)))
    km = format_decimal(metres / 1000, format="#,##0.0", locale=i18n.babel_locale(turn.locale))
    return turn.t(texts.KILOMETRES, km=km)


def _nearby_list(
    turn: Turn, elder: Elder, lat: float, lon: float, title: str, edit: bool
) -> list[Say]:
    found = nearby_sites(session=turn.session, lat=lat, lon=lon, limit=NEARBY_COUNT)
    if not found:
        return [Say(turn.t(texts.NEARBY_NONE, phone=turn.phone()), edit=edit)]
    today = turn.clock.now().date()
    rated = ratings.site_ratings(
        session=turn.session, site_ids=[site.id for site, _ in found], today=today
    )
    lines, rows = [turn.t(title, name=elder.name)], []
    babel = i18n.babel_locale(turn.locale)
    for n, (site, metres) in enumerate(found, start=1):
        rating = rated.get(site.id)
        opinion = (
            turn.t(
                texts.NEARBY_RATING,
                percent=format_percent(rating.good / rating.total, locale=babel),
                count=rating.total,
            )
            if rating
            else turn.t(texts.NEARBY_NOT_RATED)
        )
        distance = _distance(turn, metres)
        title = turn.t(texts.NEARBY_SITE, n=n, site=site.name, distance=distance, rating=opinion)
        lines += ["", title]
        lines += [site.address, _next_meal(turn, elder, site)]
        order_here = turn.t(texts.NEARBY_ORDER_AT, site=site.name)
        rows.append([(order_here, cb.OrderAt(elder.id, site.id))])
    return [Say("\n".join(lines), rows, edit=edit)]


def _next_meal(turn: Turn, elder: Elder, site: Site) -> str:
    """The next meal one can still order at a site: what suits the elder and what they pay."""
    for meal in orderable_meals(session=turn.session, clock=turn.clock, site_id=site.id):
        suitable = _suitable(turn, elder, site, meal.service_date, meal.slot)
        if not suitable:
            continue
        cheapest = min(suitable, key=lambda choice: choice.price_fen)
        priced = quote(
            session=turn.session,
            elder_id=elder.id,
            site_id=site.id,
            service_date=meal.service_date,
            slot=meal.slot.value,
            price_fen=cheapest.price_fen,
            portions=1,
        )
        names = list(dict.fromkeys(turn.show(choice.name) for choice in suitable))
        return turn.t(
            texts.NEARBY_MEAL,
            date=_day_label(turn, meal.service_date),
            slot=meal.slot,
            dishes=turn.join(names[:3]),
            name=elder.name,
            amount=i18n.money(priced.elder_fen, turn.locale),
        )
    return turn.t(texts.NEARBY_NO_MEAL)


# -- welfare alerts --------------------------------------------------------------------------


def acknowledge_alert(turn: Turn, alert_id: int, how: str) -> list[Say]:
    welfare.acknowledge(
        session=turn.session,
        clock=turn.clock,
        chat_user_id=turn.user.id,
        alert_id=alert_id,
        how=how,
    )
    return [Say(turn.t(texts.ACK_THANKS, how=turn.t(welfare.ACKNOWLEDGEMENTS[how])), edit=True)]


# -- rating a meal --------------------------------------------------------------------------


def rate(turn: Turn, order_id: int, good: bool) -> list[Say]:
    ratings.rate_meal(
        session=turn.session,
        clock=turn.clock,
        order_id=order_id,
        chat_user_id=turn.user.id,
        good=good,
    )
    if good:
        return [Say(turn.t(texts.RATE_THANKS), edit=True)]
    rows: Buttons = [
        [(turn.t(label), cb.RateReason(order_id, code))] for code, label in ratings.REASONS.items()
    ]
    return [Say(turn.t(texts.RATE_WHY), rows, edit=True)]


def rate_reason(turn: Turn, order_id: int, reason: str) -> list[Say]:
    ratings.rate_meal(
        session=turn.session,
        clock=turn.clock,
        order_id=order_id,
        chat_user_id=turn.user.id,
        good=False,
        reason=reason,
    )
    return [Say(turn.t(texts.RATE_THANKS), edit=True)]


# -- riders ----------------------------------------------------------------------------------


def _rider(turn: Turn) -> Rider:
    rider = turn.session.exec(select(Rider).where(Rider.chat_user_id == turn.user.id)).first()
    if rider is None:
        raise NotARider()
    return rider


class NotARider(DomainError):
    code = "not_a_rider"
    message = texts.NOT_A_RIDER


def rider_route(turn: Turn, edit: bool = False) -> list[Say]:
    """Today's route in stop order; buttons for the next stop still to do."""
    rider = _rider(turn)
    today = turn.clock.now().date()
    routes = turn.session.exec(
        select(DeliveryRoute)
        .where(DeliveryRoute.rider_id == rider.id, DeliveryRoute.service_date == today)
        .order_by(col(DeliveryRoute.departure_at))
    ).all()
    views = [route_view(session=turn.session, route_id=route.id) for route in routes]
    pending = [v for v in views if any(s.status == OrderStatus.locked for s in v.stops)]
    if not views:
        return [Say(turn.t(texts.RIDER_NO_ROUTE))]
    view = pending[0] if pending else views[-1]
    route = next(r for r in routes if r.id == view.id)
    lines = [
        turn.t(
            texts.RIDER_ROUTE,
            number=view.number,
            slot=Slot(route.slot),
            stops=len(view.stops),
            departure=view.departure_at.astimezone(turn.clock.tz).time(),
        )
    ]
    marks = {OrderStatus.delivered: "✅", OrderStatus.no_answer: "🚪"}
    for stop in view.stops:
        line = (
            marks.get(stop.status, "▫️")
            + " "
            + turn.t(
                texts.RIDER_STOP,
                position=stop.position,
                eta=stop.eta.astimezone(turn.clock.tz).time(),
                name=stop.elder,
                address=stop.address,
                phone=stop.phone or stop.contact_phone or "-",
                dish=i18n.Bilingual(stop.dish_zh, stop.dish_en),
                variant=variant_name(stop.variant, turn.locale),
                quantity=stop.portions,
            )
        )
        warnings = [code_name(code, turn.locale) for code in stop.warnings]
        if warnings:
            line += "\n   " + turn.t(texts.RIDER_WARN, warnings=turn.join(warnings))
        lines.append(line)
    following = next((s for s in view.stops if s.status == OrderStatus.locked), None)
    if following is None:
        lines.append(turn.t(texts.RIDER_ALL_DONE))
        return [Say("\n".join(lines), edit=edit)]
    lines.append(turn.t(texts.RIDER_NEXT, position=following.position, name=following.elder))
    navigate = turn.settings.navigation_url.format(lat=following.lat, lon=following.lon)
    rows: Buttons = [
        [
            (turn.t(texts.RIDER_DELIVERED), cb.RiderOutcome(view.id, following.order_id, "d")),
            (turn.t(texts.RIDER_NO_ANSWER), cb.RiderOutcome(view.id, following.order_id, "n")),
        ],
        [(turn.t(texts.RIDER_NAVIGATE), Link(navigate))],
    ]
    return [Say("\n".join(lines), rows, edit=edit)]


def rider_outcome(turn: Turn, route_id: int, order_id: int, letter: str) -> list[Say]:
    rider = _rider(turn)
    route = turn.session.get(DeliveryRoute, route_id)
    on_route = route_of_order(session=turn.session, order_id=order_id)
    if route is None or route.rider_id != rider.id or on_route is None or on_route[0] != route_id:
        raise NotYours()
    outcome = {"d": OrderStatus.delivered, "n": OrderStatus.no_answer}[letter]
    ordering.record_outcome(
        session=turn.session,
        clock=turn.clock,
        order_id=order_id,
        outcome=outcome,
        by=f"rider:{rider.id}",
    )
    return rider_route(turn, edit=True)


# -- what came in ----------------------------------------------------------------------------


def typed(turn: Turn, text: str) -> list[Say]:
    """Text: a main-menu button (in either language), the awaited code, or not understood."""
    text = text.strip()
    actions = {
        texts.ORDER: "O",
        texts.REPEAT: "R",
        texts.MY_ORDERS: "M",
        texts.MY_BILL: "B",
        texts.STANDING: "T",
        texts.NEARBY: "N",
        texts.HELP: "help",
        texts.SETTINGS: "settings",
    }
    for label, action in actions.items():
        if text in {i18n.gettext(label, locale) for locale in i18n.LOCALES}:
            turn.state.step = None
            return menu_action(turn, action)
    if text in {i18n.gettext(texts.HAVE_CODE, locale) for locale in i18n.LOCALES}:
        return ask_code(turn)
    if turn.state.step == "code":
        return code_typed(turn, text)
    return not_understood(turn)


def button(turn: Turn, data: str, key: str) -> list[Say]:
    """A pressed inline button; `key` names the message it was on (the order's idempotency key:
    a double tap on Confirm is one order)."""
    match cb.decode(data):
        case cb.Language(locale):
            return choose_language(turn, locale)
        case cb.HaveCode():
            return ask_code(turn)
        case cb.ForElder(action, elder_id):
            return for_elder(turn, action, elder_id)
        case cb.PickDay(elder_id):
            return pick_day(turn, elder_id)
        case cb.OrderAt(elder_id, site_id):
            return pick_day(turn, elder_id, site_id=site_id)
        case cb.PickSlot(elder_id, day, site_id):
            return pick_slot(turn, elder_id, day, site_id)
        case cb.PickSet(elder_id, day, slot, site_id):
            return pick_set(turn, elder_id, day, slot, Flow(elder_id, site_id=site_id))
        case cb.PickVariant(elder_id, day, slot, dish_id, site_id):
            flow = Flow(elder_id, site_id=site_id)
            return pick_variant(turn, elder_id, day, slot, dish_id, flow)
        case cb.Review(elder_id, item_id, quantity, mode):
            return confirm_screen(turn, elder_id, item_id, quantity, mode)
        case cb.Place(elder_id, item_id, quantity, mode):
            return place(turn, elder_id, item_id, quantity, mode, key)
        case cb.RepeatOn(elder_id, day, slot):
            return repeat_on(turn, elder_id, day, slot)
        case cb.MyOrders(elder_id):
            return my_orders(turn, elder_id)
        case cb.AskCancel(order_id):
            return ask_cancel(turn, order_id)
        case cb.Cancel(order_id):
            return cancel(turn, order_id)
        case cb.Keep():
            return keep(turn)
        case cb.ChangeSets(order_id):
            return change_sets(turn, order_id)
        case cb.ChangeVariant(order_id, dish_id):
            return change_variants(turn, order_id, dish_id)
        case cb.ChangeReview(order_id, item_id, quantity, mode):
            return change_screen(turn, order_id, item_id, quantity, mode)
        case cb.Change(order_id, item_id, quantity, mode):
            return change(turn, order_id, item_id, quantity, mode)
        case cb.Standing(elder_id):
            return standing(turn, elder_id)
        case cb.PauseFrom(standing_order_id):
            return pause_from(turn, standing_order_id)
        case cb.PauseUntil(standing_order_id, start):
            return pause_until(turn, standing_order_id, start)
        case cb.Pause(standing_order_id, start, end):
            return pause(turn, standing_order_id, start, end)
        case cb.Resume(standing_order_id):
            return resume(turn, standing_order_id)
        case cb.AskStop(standing_order_id):
            return ask_stop(turn, standing_order_id)
        case cb.Stop(standing_order_id):
            return stop(turn, standing_order_id)
        case cb.NewStanding(elder_id):
            return new_standing(turn, elder_id)
        case cb.StandingDays(elder_id, slot, mask):
            return standing_days(turn, elder_id, slot, mask)
        case cb.StandingVariant(elder_id, slot, mask):
            return standing_variant(turn, elder_id, slot, mask)
        case cb.StandingReview(elder_id, slot, mask, variant, mode):
            return standing_confirm(turn, elder_id, slot, mask, variant, mode)
        case cb.StandingMake(elder_id, slot, mask, variant, mode):
            return standing_make(turn, elder_id, slot, mask, variant, mode)
        case cb.Acknowledge(alert_id, how):
            return acknowledge_alert(turn, alert_id, how)
        case cb.Rate(order_id, verdict):
            return rate(turn, order_id, verdict == "g")
        case cb.RateReason(order_id, reason):
            return rate_reason(turn, order_id, reason)
        case cb.RiderOutcome(route_id, order_id, outcome):
            return rider_outcome(turn, route_id, order_id, outcome)
    return not_understood(turn)
