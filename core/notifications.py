"""The chat outbox: services write what the bot owes people in the same transaction as the
change that caused it; the bot process sends it (bot/notices.py). A key per notice makes the
same notice impossible to write twice."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.db import upsert_insert
from core.models import ChatNotification, ElderLink, Order
from core.types import LinkRelation


def notify(
    session: Session, *, chat_user_id: int, kind: str, key: str, at: datetime, **params: object
) -> bool:
    """Put a message for someone in the outbox, once per key (False if it was already there)."""
    statement = (
        upsert_insert(session)(ChatNotification)
        .values(
            chat_user_id=chat_user_id, kind=kind, params=params, key=key, created_at=at, attempts=0
        )
        .on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT here.
        .returning(ChatNotification.id)
    )
    return session.execute(statement).first() is not None


def elder_chats(session: Session, elder_id: int) -> list[int]:
    """The chats that order for this elder: the elder's own and family's (not workers')."""
    return list(
        session.exec(
            select(ElderLink.chat_user_id).where(
                ElderLink.elder_id == elder_id,
                col(ElderLink.relation).in_([LinkRelation.self_, LinkRelation.family]),
                col(ElderLink.revoked_at).is_(None),
            )
        )
    )


def notify_elder_chats(
    session: Session, *, elder_id: int, kind: str, key: str, at: datetime, **params: object
) -> int:
    """The same notice to every chat of an elder; `key` is extended per chat. How many new."""
    return sum(
        notify(
            session,
            chat_user_id=chat,
            kind=kind,
            key=f"{key}:{chat}",
            at=at,
            elder_id=elder_id,
            **params,
        )
        for chat in elder_chats(session, elder_id)
    )


def withdraw_unsent(session: Session, *, key: str, now: datetime) -> int:
    """Take back the notices of `notify_elder_chats(key=...)` no bot process has begun to send
    (a "served" notice for a mark taken back a minute later). One being sent, or sent, stays.
    How many were withdrawn."""
    withdrawn = session.exec(
        sa.delete(ChatNotification)
        .where(
            col(ChatNotification.key).like(f"{key}:%"),
            col(ChatNotification.sent_at).is_(None),
            col(ChatNotification.send_started_at).is_(None),
            col(ChatNotification.claimed_until).is_(None)
            | (col(ChatNotification.claimed_until) <= now),
        )
        .execution_options(synchronize_session=False)
    )
    return withdrawn.rowcount


def notify_locked_orders(session: Session, *, order_ids: list[int], at: datetime) -> None:
    """After a cutoff: "your meal is confirmed" to each chat of each elder, as one multi-row
    insert (a kitchen's cutoff locks hundreds of orders at once)."""
    if not order_ids:
        return
    rows = session.execute(
        sa.select(col(Order.id), col(Order.elder_id), col(ElderLink.chat_user_id))
        .join(ElderLink, col(ElderLink.elder_id) == Order.elder_id)
        .where(
            col(Order.id).in_(order_ids),
            col(ElderLink.relation).in_([LinkRelation.self_, LinkRelation.family]),
            col(ElderLink.revoked_at).is_(None),
        )
    ).all()
    if not rows:
        return
    insert = upsert_insert(session)
    values = [
        dict(
            chat_user_id=chat,
            kind="order_locked",
            params={"order_id": order_id, "elder_id": elder_id},
            key=f"locked:{order_id}:{chat}",
            created_at=at,
            attempts=0,
        )
        for order_id, elder_id, chat in rows
    ]
    session.execute(insert(ChatNotification).values(values).on_conflict_do_nothing())
