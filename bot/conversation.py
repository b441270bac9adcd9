"""The conversation's entry points: what came in (a typed text, a pressed button, a shared contact
or location) goes to the flow it belongs to (`bot.flows`). Buttons carry their own state in
their callback data (`bot.callbacks`), so an old message or a restart never depends on memory
in the process; the one typed step (a family code) is kept in `ChatState`."""

from bot import callbacks as cb
from bot import texts
from bot.flows.bill import my_bill
from bot.flows.my_orders import (
    ask_cancel,
    cancel,
    change,
    change_screen,
    change_sets,
    change_styles,
    change_variants,
    keep,
    my_orders,
)
from bot.flows.nearby import nearby, nearby_list
from bot.flows.onboarding import (
    LANGUAGES,
    ask_code,
    ask_phone,
    choose_language,
    choose_language_prompt,
    code_typed,
    not_understood,
)
from bot.flows.ordering import (
    Flow,
    confirm_screen,
    pick_day,
    pick_repeat_meal,
    pick_set,
    pick_slot,
    pick_style,
    pick_variant,
    place,
    repeat,
    repeat_on,
)
from bot.flows.ratings import rate, rate_reason
from bot.flows.rider import rider_outcome
from bot.flows.standing import (
    ask_stop,
    new_standing,
    pause,
    pause_from,
    pause_until,
    resume,
    standing,
    standing_confirm,
    standing_days,
    standing_make,
    standing_variant,
    stop,
)
from bot.flows.welfare import acknowledge_alert
from bot.turn import Buttons, Say, Turn, main_menu
from core import i18n
from core.models import saved

# -- the main menu ---------------------------------------------------------------------------


def menu_action(turn: Turn, action: str) -> list[Say]:
    """A main-menu button: pick the elder first when this chat orders for several."""
    if action == "help":
        return [Say(turn.t(texts.HELP_TEXT, phone=turn.phone()), keyboard="main")]
    if action == "settings":
        rows: Buttons = [list(LANGUAGES), [(turn.t(texts.ADD_ELDER), cb.HaveCode())]]
        return [Say(turn.t(texts.SETTINGS_TEXT), rows)]
    elders = turn.elders()
    if not elders:
        return [choose_language_prompt(turn)]
    if len(elders) > 1:
        choose: Buttons = [[(elder.name, cb.ForElder(action, saved(elder.id)))] for elder in elders]
        return [Say(turn.t(texts.CHOOSE_ELDER), choose)]
    return for_elder(turn, action, saved(elders[0].id), edit=False)


def for_elder(turn: Turn, action: str, elder_id: int, edit: bool = True) -> list[Say]:
    step = {
        "O": pick_day,
        "R": repeat,
        "M": my_orders,
        "B": my_bill,
        "T": standing,
        "N": nearby,
    }
    if action not in step:
        return not_understood(turn)
    return step[action](turn, elder_id, edit=edit)


def cancel_flow(turn: Turn) -> list[Say]:
    turn.state.step = None
    if not turn.elders():
        return [ask_phone(turn)]
    return [main_menu(turn, texts.CANCELLED_FLOW)]


def location_shared(turn: Turn, lat: float, lon: float) -> list[Say]:
    """A shared location: the canteens nearest to it, priced for the elder being looked after."""
    elders = turn.elders()
    if not elders or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return not_understood(turn)
    elder_id = turn.state.elder_id if turn.state.step == "near" else None
    if elder_id is None:
        if len(elders) > 1:
            return menu_action(turn, "N")
        elder_id = saved(elders[0].id)
    elder = turn.elder(elder_id)
    return nearby_list(turn, elder, lat, lon, texts.NEARBY_FROM_HERE, edit=False)


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
        case cb.PickStyle(elder_id, item_id, quantity, mode):
            return pick_style(turn, elder_id, item_id, quantity, mode)
        case cb.Review(elder_id, item_id, quantity, mode):
            return confirm_screen(turn, elder_id, item_id, quantity, mode)
        case cb.Place(elder_id, item_id, quantity, mode):
            return place(turn, elder_id, item_id, quantity, mode, key)
        case cb.RepeatOn(elder_id, day, slot):
            return repeat_on(turn, elder_id, day, slot)
        case cb.RepeatMeals(elder_id):
            return pick_repeat_meal(turn, elder_id)
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
        case cb.ChangeStyle(order_id, item_id, quantity, mode):
            return change_styles(turn, order_id, item_id, quantity, mode)
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
