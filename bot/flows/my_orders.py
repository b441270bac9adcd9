"""The elder's orders of the past week and the coming days, cancelling and changing one
before its cutoff."""

from datetime import timedelta

from sqlmodel import col, select

from bot import callbacks as cb
from bot import texts
from bot.flows.ordering import (
    Flow,
    confirm_screen,
    done,
    item_at,
    mode_for,
    pick_set,
    pick_style,
    pick_variant,
)
from bot.turn import MODE_LETTERS, Buttons, NotYours, Say, Turn
from core import i18n
from core.errors import OrderNotFound
from core.models import (
    Order,
    Site,
    saved,
)
from core.types import OrderStatus, ServiceMode, Slot
from kitchen.exports import variant_name
from usecases import ordering


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
                cb.AskCancel(saved(o.id)),
            ),
            (turn.t(texts.CHANGE_BUTTON), cb.ChangeSets(saved(o.id))),
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
        [(turn.t(texts.CANCEL_YES), cb.Cancel(saved(order.id)))],
        [(turn.t(texts.CANCEL_NO), cb.Keep())],
    ]
    return [Say(text, rows, edit=True)]


def cancel(turn: Turn, order_id: int) -> list[Say]:
    order = _own_order(turn, order_id)
    ordering.cancel_order(
        session=turn.session, clock=turn.clock, settings=turn.settings, order_id=saved(order.id)
    )
    text = turn.t(
        texts.CANCELLED,
        date=i18n.weekday_and_day(order.service_date, turn.locale),
        slot=Slot(order.slot),
    )
    return [Say(text, edit=True)]


def keep(turn: Turn) -> list[Say]:
    return [Say(turn.t(texts.KEPT), edit=True)]


def _change_of(order: Order) -> Flow:
    """The change screens for an order: they start from its portions, the way it comes and
    its style."""
    mode = MODE_LETTERS[ServiceMode(order.mode)]
    return Flow(
        order.elder_id, change=order.id, quantity=order.quantity, mode=mode, variant=order.variant
    )


def change_sets(turn: Turn, order_id: int) -> list[Say]:
    """Change an order before its cutoff: the same meal's menu, at the order's own site."""
    order = _own_order(turn, order_id)
    site = turn.session.get(Site, order.site_id)
    flow = _change_of(order)
    return pick_set(turn, order.elder_id, order.service_date, Slot(order.slot), flow, site)


def change_variants(turn: Turn, order_id: int, dish_id: int) -> list[Say]:
    order = _own_order(turn, order_id)
    site = turn.session.get(Site, order.site_id)
    flow = _change_of(order)
    slot = Slot(order.slot)
    return pick_variant(turn, order.elder_id, order.service_date, slot, dish_id, flow, site)


def change_styles(
    turn: Turn, order_id: int, item_id: int, quantity: int, mode_letter: str
) -> list[Say]:
    order = _own_order(turn, order_id)
    _of_the_order(turn, order, item_id)
    return pick_style(turn, order.elder_id, item_id, quantity, mode_letter, _change_of(order))


def _of_the_order(turn: Turn, order: Order, item_id: int) -> None:
    """An item of the order's own meal (site, day, slot): a change swaps nothing else in."""
    item = item_at(turn, item_id)
    if (item.site.id, item.service_date, item.slot) != (
        order.site_id,
        order.service_date,
        Slot(order.slot),
    ):
        raise NotYours()


def change_screen(
    turn: Turn, order_id: int, item_id: int, quantity: int, mode_letter: str
) -> list[Say]:
    order = _own_order(turn, order_id)
    flow = _change_of(order)
    return confirm_screen(turn, order.elder_id, item_id, quantity, mode_letter, flow)


def change(turn: Turn, order_id: int, item_id: int, quantity: int, mode_letter: str) -> list[Say]:
    order = _own_order(turn, order_id)
    elder = turn.elder(order.elder_id)
    _of_the_order(turn, order, item_id)
    item = item_at(turn, item_id)
    changed = ordering.change_order(
        session=turn.session,
        clock=turn.clock,
        settings=turn.settings,
        order_id=order.id,
        dish_id=item.choice.dish_id,
        variant=item.choice.variant,
        quantity=quantity,
        mode=mode_for(turn, elder, item.site, mode_letter),
    )
    return [done(turn, texts.CHANGED, item, quantity, changed.split.elder_fen)]
