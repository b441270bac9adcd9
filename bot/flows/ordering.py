"""Ordering a meal: the day, the meal, the set, the variant, then the order as it would be
placed (portions, how it comes, who pays what) and Confirm; and "same as last time". A change
to an order walks the same screens (`Flow`)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot import callbacks as cb
from bot import texts
from bot.callbacks import Callback
from bot.turn import MODE_LETTERS, MODES, Button, Buttons, Say, Turn, capital, day_label
from core import i18n
from core.diet import profile_of_elder
from core.errors import AllMealsOrdered, DomainError, DuplicateRequest, RepeatNotOnMenu
from core.models import (
    Elder,
    Site,
    saved,
)
from core.sites import (
    get_site,
    modes_offered,
    serves,
    site_for_elder,
)
from core.types import OrderSource, ServiceMode, Slot, code_name
from kitchen.exports import variant_name
from usecases import ordering
from usecases.menus import MenuChoice, menu_choices, menu_item, own_style_first, suitable_choices
from usecases.ordering import (
    meals_to_repeat,
    next_meal_to_repeat,
    orderable_meals,
    plan_repeat,
    quote,
)


def home_site(turn: Turn, elder: Elder, site_id: int | None = None) -> Site:
    """The elder's own site, or the canteen they chose from the nearby list."""
    if site_id is not None:
        return get_site(session=turn.session, site_id=site_id)
    site = site_for_elder(session=turn.session, elder=elder)
    if site is None:
        raise NoSite(name=elder.name, phone=turn.phone(elder))
    return site


class NoSite(DomainError):
    code = "no_site"
    message = texts.NO_SITE


class NothingOpen(DomainError):
    code = "nothing_open"
    message = texts.NOTHING_OPEN


def days_buttons(turn: Turn, site: Site, button: Callable[[date], Callback]) -> Buttons:
    meals = orderable_meals(session=turn.session, clock=turn.clock, site_id=saved(site.id))
    days = sorted({meal.service_date for meal in meals})
    if not days:
        raise NothingOpen(phone=turn.phone(site=site))
    return [[(day_label(turn, day), button(day))] for day in days]


def pick_day(turn: Turn, elder_id: int, edit: bool = True, site_id: int | None = None) -> list[Say]:
    elder = turn.elder(elder_id)
    site = home_site(turn, elder, site_id)
    rows = days_buttons(turn, site, lambda day: cb.PickSlot(saved(elder.id), day, site_id))
    text = turn.t(texts.PICK_DAY, name=elder.name)
    if site_id is not None:
        text += "\n" + site.name
    return [Say(text, rows, edit=edit)]


def pick_slot(turn: Turn, elder_id: int, day: date, site_id: int | None = None) -> list[Say]:
    elder = turn.elder(elder_id)
    site = home_site(turn, elder, site_id)
    meals = [
        meal
        for meal in orderable_meals(session=turn.session, clock=turn.clock, site_id=saved(site.id))
        if meal.service_date == day
    ]
    if not meals:
        raise NothingOpen(phone=turn.phone(site=site))
    rows: Buttons = [
        [
            (
                turn.t(texts.SLOT_BUTTON, slot=meal.slot, time=meal.closes_at.time()),
                cb.PickSet(saved(elder.id), day, meal.slot, site_id),
            )
        ]
        for meal in meals
    ]
    back: Callback = (
        cb.PickDay(saved(elder.id)) if site_id is None else cb.OrderAt(saved(elder.id), site_id)
    )
    rows.append([(turn.t(texts.BACK), back)])
    return [Say(turn.t(texts.PICK_SLOT, date=day_label(turn, day)), rows, edit=True)]


def suitable_for(turn: Turn, elder: Elder, site: Site, day: date, slot: Slot) -> list[MenuChoice]:
    choices = menu_choices(
        session=turn.session, site_id=saved(site.id), service_date=day, slot=slot
    )
    profile = profile_of_elder(elder.name, elder.texture, elder.diet_needs, elder.allergies)
    return suitable_choices(choices, profile)


@dataclass(frozen=True)
class Flow:
    """Where the meal choices lead: a new order for an elder, or a change to an order (the same
    screens, other buttons)."""

    elder_id: int
    change: int | None = None
    site_id: int | None = None
    # Where the portions and the way it comes start: a new order's 1 and the elder's usual
    # ("-"); a change's, the order's own (changing the dish keeps them).
    quantity: int = 1
    mode: str = "-"
    # The style a dish starts in when it offers it: a change's, the order's own; otherwise
    # the elder's own style (core.menus.own_style_first).
    variant: str | None = None
    # "Same as last time": the confirmation offers the other meals it could go to.
    repeat: bool = False

    def dish(self, day: date, slot: Slot, dish_id: int) -> Callback:
        if self.change:
            return cb.ChangeVariant(self.change, dish_id)
        return cb.PickVariant(self.elder_id, day, slot, dish_id, self.site_id)

    def screen(self, item_id: int, quantity: int, mode: str) -> Callback:
        if self.change:
            return cb.ChangeReview(self.change, item_id, quantity, mode)
        return cb.Review(self.elder_id, item_id, quantity, mode)

    def styles(self, item_id: int, quantity: int, mode: str) -> Callback:
        if self.change:
            return cb.ChangeStyle(self.change, item_id, quantity, mode)
        return cb.PickStyle(self.elder_id, item_id, quantity, mode)

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
    flow = flow or Flow(saved(elder.id))
    site = site or home_site(turn, elder, flow.site_id)
    suitable = suitable_for(turn, elder, site, day, slot)
    back = [(turn.t(texts.BACK), flow.before_sets(day))]
    if not suitable:
        text = turn.t(texts.NOTHING_SUITABLE, name=elder.name, phone=turn.phone(site=site))
        return [Say(text, [back], edit=True)]
    lines, rows, seen = [turn.t(texts.PICK_SET, date=day_label(turn, day), slot=slot)], [], set()
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


def dish_styles(
    turn: Turn, elder: Elder, site: Site, day: date, slot: Slot, dish_id: int
) -> list[MenuChoice]:
    """The ways a dish on the menu is cooked that suit the elder, her own style first."""
    choices = menu_choices(
        session=turn.session, site_id=saved(site.id), service_date=day, slot=slot
    )
    profile = profile_of_elder(elder.name, elder.texture, elder.diet_needs, elder.allergies)
    return own_style_first([c for c in choices if c.dish_id == dish_id], profile)


def pick_variant(
    turn: Turn,
    elder_id: int,
    day: date,
    slot: Slot,
    dish_id: int,
    flow: Flow | None = None,
    site: Site | None = None,
) -> list[Say]:
    """A dish pressed: its confirmation, in the style chosen for her (the order's own when
    changing one, else her own style), the others one button away: the common path is
    Confirm."""
    elder = turn.elder(elder_id)
    flow = flow or Flow(saved(elder.id))
    site = site or home_site(turn, elder, flow.site_id)
    styles = dish_styles(turn, elder, site, day, slot, dish_id)
    if not styles:
        return pick_set(turn, elder_id, day, slot, flow, site)
    chosen = next((c for c in styles if c.variant == flow.variant), styles[0])
    mode = None if flow.mode == "-" else flow.mode
    return confirm_screen(turn, elder_id, chosen.item_id, flow.quantity, mode, flow)


def pick_style(
    turn: Turn,
    elder_id: int,
    item_id: int,
    quantity: int,
    mode_letter: str,
    flow: Flow | None = None,
) -> list[Say]:
    """The other ways the dish is cooked that suit the elder (hers first), with their prices;
    the one on the confirmation screen marked."""
    elder = turn.elder(elder_id)
    item = item_at(turn, item_id)
    flow = flow or flow_for(turn, elder, item.site)
    styles = dish_styles(turn, elder, item.site, item.service_date, item.slot, item.choice.dish_id)
    rows: Buttons = [
        [
            (
                ("• " if c.item_id == item_id else "")
                + capital(f"{variant_name(c.variant, turn.locale)} · ")
                + i18n.money(c.price_fen, turn.locale),
                flow.screen(c.item_id, quantity, mode_letter),
            )
        ]
        for c in styles
    ]
    rows.append([(turn.t(texts.BACK), flow.screen(item_id, quantity, mode_letter))])
    text = turn.t(texts.PICK_VARIANT, dish=item.choice.name)
    return [Say(text, rows, edit=True)]


def flow_for(turn: Turn, elder: Elder, site: Site, repeat: bool = False) -> Flow:
    """A new order's screens at a site: the elder's own site, or a canteen she chose."""
    home = site_for_elder(session=turn.session, elder=elder)
    other = None if home is not None and home.id == site.id else site.id
    return Flow(saved(elder.id), site_id=other, repeat=repeat)


@dataclass(frozen=True)
class ItemAt:
    choice: MenuChoice
    site: Site
    service_date: date
    slot: Slot


def item_at(turn: Turn, item_id: int) -> ItemAt:
    found = menu_item(session=turn.session, item_id=item_id)
    site = turn.session.get_one(Site, found.site_id)
    return ItemAt(found.choice, site, found.service_date, found.slot)


def modes_for(turn: Turn, site: Site, elder: Elder) -> list[ServiceMode]:
    in_area = serves(session=turn.session, site_id=saved(site.id), community_id=elder.community_id)
    return modes_offered(site, in_service_area=in_area)


def mode_for(turn: Turn, elder: Elder, site: Site, letter: str | None) -> ServiceMode:
    modes = modes_for(turn, site, elder)
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
    edit: bool = True,
) -> list[Say]:
    """The order as it would be placed, what the elder pays and who pays the rest."""
    elder = turn.elder(elder_id)
    item = item_at(turn, item_id)
    flow = flow or flow_for(turn, elder, item.site)
    mode = mode_for(turn, elder, item.site, mode_letter)
    quantity = max(1, min(quantity, turn.settings.max_order_quantity))
    priced = quote(
        session=turn.session,
        elder_id=saved(elder.id),
        site_id=saved(item.site.id),
        service_date=item.service_date,
        slot=item.slot.value,
        price_fen=item.choice.price_fen * quantity,
        portions=quantity,
    )
    money = turn.money
    lines = [
        turn.t(texts.CHANGE_TITLE if flow.change else texts.CONFIRM_TITLE),
        turn.t(texts.CONFIRM_FOR, name=elder.name),
        turn.t(texts.CONFIRM_MEAL, date=day_label(turn, item.service_date), slot=item.slot),
        turn.t(
            texts.CONFIRM_DISH,
            dish=item.choice.name,
            variant=variant_name(item.choice.variant, turn.locale),
            quantity=quantity,
        ),
    ]
    if item.choice.allergens:
        allergens = (code_name(a, turn.locale) for a in sorted(item.choice.allergens))
        lines.append(turn.t(texts.CONFIRM_ALLERGENS, allergens=turn.join(allergens)))
    lines += [
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
    portions: list[Button] = [
        (
            ("• " if n == quantity else "") + turn.t(texts.PORTIONS, n=n),
            flow.screen(item_id, n, letter),
        )
        for n in range(1, turn.settings.max_order_quantity + 1)
    ]
    # Three to a row: five "n portion(s)" buttons side by side would be cut short on a phone.
    rows: Buttons = [portions[n : n + 3] for n in range(0, len(portions), 3)]
    styles = dish_styles(turn, elder, item.site, item.service_date, item.slot, item.choice.dish_id)
    if len(styles) > 1:
        rows.append([(turn.t(texts.OTHER_STYLES), flow.styles(item_id, quantity, letter))])
    modes = modes_for(turn, item.site, elder)
    if len(modes) > 1:
        rows.append(
            [
                (
                    ("• " if m == mode else "") + capital(turn.show(m)),
                    flow.screen(item_id, quantity, MODE_LETTERS[m]),
                )
                for m in modes
            ]
        )
    rows.append([(turn.t(texts.CONFIRM), flow.confirm(item_id, quantity, letter))])
    if flow.repeat:
        rows.append([(turn.t(texts.REPEAT_OTHER_MEAL), cb.RepeatMeals(saved(elder.id)))])
    rows.append([(turn.t(texts.BACK), flow.sets(item.service_date, item.slot))])
    return [Say("\n".join(lines), rows, edit=edit)]


def place(
    turn: Turn, elder_id: int, item_id: int, quantity: int, mode_letter: str, key: str
) -> list[Say]:
    """Confirm pressed: the order services decide; the key makes a double tap harmless."""
    elder = turn.elder(elder_id)
    item = item_at(turn, item_id)
    try:
        placed = ordering.place_order(
            session=turn.session,
            clock=turn.clock,
            settings=turn.settings,
            elder_id=elder.id,
            site_id=item.site.id,
            service_date=item.service_date,
            slot=item.slot,
            dish_id=item.choice.dish_id,
            variant=item.choice.variant,
            quantity=quantity,
            mode=mode_for(turn, elder, item.site, mode_letter),
            idempotency_key=key,
            source=OrderSource.chat,
            placed_by_chat_user_id=turn.user.id,
        )
    except DuplicateRequest:
        return [Say(turn.t(texts.ALREADY_PLACED))]
    return [done(turn, texts.ORDERED, item, quantity, placed.split.elder_fen)]


def done(turn: Turn, message: str, item: "ItemAt", quantity: int, elder_fen: int) -> Say:
    """The pressed confirmation screen becomes what was ordered (or changed) and its cost."""
    text = turn.t(
        message,
        dish=item.choice.name,
        variant=variant_name(item.choice.variant, turn.locale),
        quantity=quantity,
        date=day_label(turn, item.service_date),
        slot=item.slot,
        amount=i18n.money(elder_fen, turn.locale),
    )
    return Say(text, edit=True)


def repeat(turn: Turn, elder_id: int, edit: bool = True) -> list[Say]:
    """ "Same as last time" pressed: the confirmation of her last meal on the next meal she
    has not ordered yet, so a repeat is two taps (this one, then Confirm)."""
    elder = turn.elder(elder_id)
    meal = next_meal_to_repeat(session=turn.session, clock=turn.clock, elder_id=saved(elder.id))
    return repeat_on(turn, saved(elder.id), meal.service_date, meal.slot, edit=edit)


def pick_repeat_meal(turn: Turn, elder_id: int) -> list[Say]:
    """The other meals "same as last time" can go to: open, and not ordered yet."""
    elder = turn.elder(elder_id)
    meals = meals_to_repeat(session=turn.session, clock=turn.clock, elder_id=saved(elder.id))
    if not meals:
        raise AllMealsOrdered(name=elder.name)
    rows: Buttons = [
        [
            (
                turn.t(texts.CONFIRM_MEAL, date=day_label(turn, meal.service_date), slot=meal.slot),
                cb.RepeatOn(saved(elder.id), meal.service_date, meal.slot),
            )
        ]
        for meal in meals
    ]
    return [Say(turn.t(texts.PICK_REPEAT_MEAL, name=elder.name), rows, edit=True)]


def repeat_on(
    turn: Turn, elder_id: int, day: date, slot: Slot | None = None, edit: bool = True
) -> list[Say]:
    elder = turn.elder(elder_id)
    try:
        plan = plan_repeat(
            session=turn.session, elder_id=saved(elder.id), service_date=day, slot=slot
        )
    except RepeatNotOnMenu as missing:
        # Say so, and offer that meal's sets: never another dish in its place.
        site = get_site(session=turn.session, site_id=missing.params["site_id"])
        meal = missing.params["slot"]
        [sets] = pick_set(turn, saved(elder.id), day, meal, flow_for(turn, elder, site), site)
        note = turn.t(
            texts.REPEAT_NOT_ON_MENU,
            dish=missing.params["dish"],
            slot=meal,
            date=i18n.weekday_and_day(day, turn.locale),
        )
        rows = list(sets.buttons or [])
        # Her dish may be on another day's menu: "another day" before the sets' Back.
        rows.insert(
            len(rows) - 1, [(turn.t(texts.REPEAT_OTHER_MEAL), cb.RepeatMeals(saved(elder.id)))]
        )
        return [Say(f"{note}\n\n{sets.text}", rows, edit=edit)]
    site = get_site(session=turn.session, site_id=plan.site_id)
    flow = flow_for(turn, elder, site, repeat=True)
    letter = MODE_LETTERS[plan.mode]
    return confirm_screen(
        turn, saved(elder.id), plan.choice.item_id, plan.quantity, letter, flow, edit=edit
    )
