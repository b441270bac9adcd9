"""Marks sent from a page under the key the page gave them (the counter's served, not collected
and undo; a rider's delivered, no answer and undo): a page that lost its connection sends the
mark again, and the same key counts once, answered as the first send was. The key is taken in
the mark's own transaction, so a refused mark gives it back."""

import sqlalchemy as sa
from sqlmodel import Session, col

from core.clock import Clock
from core.db import upsert_insert
from core.errors import DuplicateRequest
from core.models import MarkRequest


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
