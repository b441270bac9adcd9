"""Sending what the bot owes people (the `ChatNotification` outbox) and moving welfare alerts up
their ladder. A repeating job does both; the database is the only state, so nothing needs to be
rebuilt after a restart, and each notice is claimed in a transaction before it is sent: it is
never sent twice (a failed send is put back for a later try)."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from bot import callbacks as cb
from bot import texts
from bot.turn import Buttons
from core import i18n
from core.clock import Clock
from core.db import Database
from core.models import ChatNotification, ChatUser, Elder, Order
from core.settings import Settings
from core.types import OrderStatus, Slot
from kitchen.exports import variant_name
from usecases import welfare

MAX_ATTEMPTS = 5
BATCH = 50


@dataclass(frozen=True)
class Outgoing:
    notice_id: int
    chat_id: int
    text: str
    buttons: Buttons | None
    locale: str


def _time(value: str, clock: Clock, locale: str) -> str:
    return i18n.clock_time(datetime.fromisoformat(value).astimezone(clock.tz), locale)


def render(session: Session, notice: ChatNotification, locale: str, clock: Clock) -> Outgoing:
    params = notice.params
    elder = session.get(Elder, params.get("elder_id"))
    name = elder.name if elder else ""
    t = lambda message, **values: i18n.render(message, locale, values)  # noqa: E731
    buttons: Buttons | None = None
    if notice.kind == "welfare_alert":
        text = t(
            texts.WELFARE_ALERT,
            name=name,
            time=_time(params["at_time"], clock, locale),
            slot=Slot(params["slot"]),
        )
    elif notice.kind == "welfare_escalated":
        text = t(
            texts.WELFARE_ESCALATED,
            name=name,
            address=elder.address if elder else "",
            phone=(elder.phone if elder else None) or "-",
            time=_time(params["raised_at"], clock, locale),
        )
    elif notice.kind == "welfare_handled":
        how = i18n.gettext(welfare.ACKNOWLEDGEMENTS.get(params.get("how"), ""), locale)
        text = t(texts.WELFARE_HANDLED, by=params.get("by", ""), name=name, how=how)
    elif notice.kind == "lunch_reminder":
        service_date = date.fromisoformat(params["service_date"])
        last = session.exec(
            select(Order)
            .where(Order.elder_id == params["elder_id"], Order.status != OrderStatus.cancelled)
            .order_by(col(Order.service_date).desc(), col(Order.id).desc())
        ).first()
        buttons = [[(t(texts.CHOOSE_MEAL), cb.PickDay(params["elder_id"]))]]
        if last is None:
            text = t(texts.REMINDER_NEW, name=name)
        else:
            dish = i18n.Bilingual(last.dish_name_zh, last.dish_name_en)
            text = t(texts.REMINDER, name=name, dish=dish)
            again = cb.RepeatOn(params["elder_id"], service_date, Slot.lunch)
            buttons.insert(0, [(t(texts.SAME_AS_USUAL), again)])
    else:  # about one order: confirmed at cutoff, on its way, served
        order = session.get(Order, params["order_id"])
        slot = Slot(order.slot)  # type: ignore[union-attr]
        if notice.kind == "order_locked":
            text = t(
                texts.ORDER_LOCKED,
                date=i18n.weekday_and_day(order.service_date, locale),  # type: ignore[union-attr]
                slot=slot,
                dish=i18n.Bilingual(order.dish_name_zh, order.dish_name_en),  # type: ignore[union-attr]
                variant=variant_name(order.variant, locale),  # type: ignore[union-attr]
                quantity=order.quantity,  # type: ignore[union-attr]
            )
        elif notice.kind == "eta":
            text = t(texts.ETA, name=name, slot=slot, time=_time(params["eta"], clock, locale))
        else:
            served_at = order.outcome_at or notice.created_at  # type: ignore[union-attr]
            text = t(
                texts.SERVED, name=name, slot=slot, time=_time(served_at.isoformat(), clock, locale)
            )
            buttons = [
                [
                    (t(texts.RATE_GOOD), cb.Rate(order.id, "g")),  # type: ignore[union-attr]
                    (t(texts.RATE_BAD), cb.Rate(order.id, "b")),  # type: ignore[union-attr]
                ]
            ]
    if notice.kind in ("welfare_alert", "welfare_escalated"):
        alert = params["alert_id"]
        buttons = [
            [(t(texts.ACK_REACHED), cb.Acknowledge(alert, "reached"))],
            [(t(texts.ACK_COMING), cb.Acknowledge(alert, "coming"))],
        ]
    user = session.get(ChatUser, notice.chat_user_id)
    return Outgoing(notice.id, user.telegram_user_id, text, buttons, locale)  # type: ignore[arg-type, union-attr]


def claim_due(database: Database, clock: Clock, settings: Settings) -> list[Outgoing]:
    """Take the next unsent notices (marked sent as they are taken). What falls due by the
    clock (escalations, the morning reminder) is queued by the due work, not here: one owner,
    whichever of `mealaid serve` and `mealaid worker` runs it."""
    with database.transaction() as session:
        query = (
            select(ChatNotification)
            .where(
                col(ChatNotification.sent_at).is_(None),
                ChatNotification.attempts < MAX_ATTEMPTS,
            )
            .order_by(col(ChatNotification.id))
            .limit(BATCH)
        )
        if database.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        now, outgoing = clock.now(), []
        for notice in session.exec(query).all():
            user = session.get(ChatUser, notice.chat_user_id)
            outgoing.append(render(session, notice, user.language if user else "zh_CN", clock))
            notice.sent_at, notice.attempts = now, notice.attempts + 1
            session.add(notice)
        return outgoing


def put_back(database: Database, notice_id: int) -> None:
    """Sending failed (network, a blocked bot): try again on a later run."""
    with database.transaction() as session:
        notice = session.get(ChatNotification, notice_id)
        if notice is not None:
            notice.sent_at = None
            session.add(notice)
