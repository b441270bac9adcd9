"""Marks sent from a page under the key the page gave them (the counter's served, not collected
and undo; a rider's delivered, no answer and undo): a page that lost its connection sends the
mark again, and the same key counts once, answered as the first send was. The key is taken in
the mark's own transaction, so a refused mark gives it back."""

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from core.clock import Clock
from core.db import upsert_insert
from core.errors import DuplicateRequest
from core.models import MarkRequest

# A page sends a mark again when its connection dropped before the answer came: within
# seconds, or hours later from a phone that was out of signal. A week on, nobody sends that
# key again, and the keys would otherwise pile up by one for every meal served (a city of
# 12,000 meals a day: over four million rows a year).
KEYS_KEPT = timedelta(days=7)


def sent_before(
    session: Session,
    clock: Clock,
    *,
    key: str | None,
    actor: str,
    mark: str,
    order_id: int | None,
) -> MarkRequest | None:
    """The earlier request a page sent under this key (its connection dropped before the
    answer came, and it sent the mark again), or None: this is the first, and the key is
    taken now (in the mark's own transaction: refused, it is given back). Two sends racing
    each other: the second waits for the first's commit, then finds it."""
    if key is None:
        return None
    taken = session.execute(
        upsert_insert(session)(MarkRequest)
        .values(key=key, actor=actor, action=mark, order_id=order_id, result="", at=clock.now())
        .on_conflict_do_nothing()
        .returning(col(MarkRequest.key))
    ).first()
    if taken is not None:
        return None
    earlier = session.get_one(MarkRequest, key)
    if (earlier.actor, earlier.action, earlier.order_id) != (actor, mark, order_id):
        raise DuplicateRequest()
    return earlier


def answered(session: Session, key: str | None, result: str) -> None:
    if key is not None:
        session.execute(
            sa.update(MarkRequest).where(col(MarkRequest.key) == key).values(result=result)
        )


def forget_old(session: Session, clock: Clock) -> int:
    """The keys of marks sent more than `KEYS_KEPT` ago are given up; how many."""
    gone = session.exec(
        sa.delete(MarkRequest)
        .where(col(MarkRequest.at) < clock.now() - KEYS_KEPT)
        .execution_options(synchronize_session=False)
    )
    return gone.rowcount
