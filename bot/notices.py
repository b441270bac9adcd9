"""Sending what the bot owes people (the `ChatNotification` outbox). The database is the only
state, so nothing needs to be rebuilt after a restart. A bot process claims a batch of notices
for a while (`notice_lease_seconds`), marks each sent once Telegram has answered, and puts
back what failed; a process that dies mid-batch loses nothing: its claim runs out and another
process sends the rest. A notice whose send had begun when its process died may have reached
the chat: it goes out once more, saying it is sent again. What falls due by the clock
(escalations, the morning reminder) is queued by the due work, not here."""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from bot import callbacks as cb
from bot import texts
from bot.turn import Buttons
from core import i18n
from core.clock import Clock
from core.db import Database
from core.models import ChatNotification, ChatUser, Elder, Order, saved, table_of
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
    again: bool = False  # a send of it may have reached the chat already


def _time(value: str, clock: Clock, locale: str) -> str:
    return i18n.clock_time(datetime.fromisoformat(value).astimezone(clock.tz), locale)


def render(session: Session, notice: ChatNotification, locale: str, clock: Clock) -> Outgoing:
    params = notice.params
    elder = session.get(Elder, params.get("elder_id"))
    name = elder.name if elder else ""

    def t(message: str, **values: object) -> str:
        return i18n.render(message, locale, values)

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
        how = i18n.gettext(welfare.ACKNOWLEDGEMENTS.get(params.get("how", ""), ""), locale)
        text = t(texts.WELFARE_HANDLED, by=params.get("by", ""), name=name, how=how)
    elif notice.kind == "welfare_withdrawn":
        text = t(texts.WELFARE_WITHDRAWN, name=name)
    elif notice.kind == "standing_skipped":
        text = t(
            texts.STANDING_SKIPPED,
            name=name,
            slot=Slot(params["slot"]),
            date=i18n.weekday_and_day(date.fromisoformat(params["service_date"]), locale),
            reason=params["reason"].get(locale) or params["reason"]["zh_CN"],
        )
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
        order = session.get_one(Order, params["order_id"])
        slot = Slot(order.slot)
        if notice.kind == "order_locked":
            text = t(
                texts.ORDER_LOCKED,
                date=i18n.weekday_and_day(order.service_date, locale),
                slot=slot,
                dish=i18n.Bilingual(order.dish_name_zh, order.dish_name_en),
                variant=variant_name(order.variant, locale),
                quantity=order.quantity,
            )
        elif notice.kind == "eta":
            text = t(texts.ETA, name=name, slot=slot, time=_time(params["eta"], clock, locale))
        else:
            served_at = order.outcome_at or notice.created_at
            text = t(
                texts.SERVED, name=name, slot=slot, time=_time(served_at.isoformat(), clock, locale)
            )
            buttons = [
                [
                    (t(texts.RATE_GOOD), cb.Rate(saved(order.id), "g")),
                    (t(texts.RATE_BAD), cb.Rate(saved(order.id), "b")),
                ]
            ]
    if notice.kind in ("welfare_alert", "welfare_escalated"):
        alert = params["alert_id"]
        buttons = [
            [(t(texts.ACK_REACHED), cb.Acknowledge(alert, "reached"))],
            [(t(texts.ACK_COMING), cb.Acknowledge(alert, "coming"))],
        ]
    user = session.get_one(ChatUser, notice.chat_user_id)
    return Outgoing(saved(notice.id), user.telegram_user_id, text, buttons, locale)


def claim_due(database: Database, clock: Clock, settings: Settings) -> list[Outgoing]:
    """Claim the next unsent notices for `notice_lease_seconds`: those nobody holds, and those
    whose claim ran out (their process died, or stopped hearing from Telegram). On PostgreSQL
    rows another process is claiming are skipped, so any number of bot processes share the
    outbox; SQLite's writers take turns."""
    with database.transaction() as session:
        now = clock.now()
        query = (
            select(ChatNotification)
            .where(
                col(ChatNotification.sent_at).is_(None),
                ChatNotification.attempts < MAX_ATTEMPTS,
                or_(
                    col(ChatNotification.claimed_until).is_(None),
                    col(ChatNotification.claimed_until) <= now,
                ),
            )
            .order_by(col(ChatNotification.id))
            .limit(BATCH)
        )
        if database.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        until, outgoing = now + timedelta(seconds=settings.notice_lease_seconds), []
        for notice in session.exec(query).all():
            user = session.get(ChatUser, notice.chat_user_id)
            locale = user.language if user else "zh_CN"
            message = render(session, notice, locale, clock)
            if notice.send_started_at is not None:
                again = i18n.gettext(texts.SENT_AGAIN, locale)
                message = replace(message, text=f"{again}\n\n{message.text}", again=True)
            outgoing.append(message)
            notice.claimed_until, notice.attempts = until, notice.attempts + 1
            session.add(notice)
        return outgoing


def _table() -> sa.Table:
    return table_of(ChatNotification)


def record_progress(
    database: Database,
    clock: Clock,
    *,
    sent: tuple[int, int] | None = None,
    sending: int | None = None,
) -> None:
    """One commit per message: `sent` (a notice's id and the id of Telegram's message) is
    marked sent now that Telegram has answered, and `sending` is marked as about to go, so
    that if this process dies before the answer the notice is known to have perhaps arrived."""
    notices, now = _table(), clock.now()
    with database.transaction() as session:
        if sent is not None:
            notice_id, message_id = sent
            session.execute(
                sa.update(notices)
                .where(notices.c.id == notice_id, notices.c.sent_at.is_(None))
                .values(sent_at=now, message_id=message_id, claimed_until=None)
            )
        if sending is not None:
            session.execute(
                sa.update(notices).where(notices.c.id == sending).values(send_started_at=now)
            )


def put_back(database: Database, notice_id: int, *, perhaps_sent: bool) -> None:
    """Sending failed: the notice is free for the next run. `perhaps_sent` when it may have
    reached the chat all the same (the network failed before Telegram's answer came, or an
    earlier send's outcome is unknown): the next send then says it is sent again."""
    notices = _table()
    changes: dict[str, object] = {"claimed_until": None}
    if not perhaps_sent:
        changes["send_started_at"] = None
    with database.transaction() as session:
        session.execute(sa.update(notices).where(notices.c.id == notice_id).values(**changes))


def release(database: Database, notice_ids: list[int]) -> None:
    """Claimed but never tried (the batch ran out of time): free again, the claim not
    counted as an attempt."""
    if not notice_ids:
        return
    notices = _table()
    with database.transaction() as session:
        session.execute(
            sa.update(notices)
            .where(notices.c.id.in_(notice_ids))
            .values(claimed_until=None, attempts=notices.c.attempts - 1)
        )
