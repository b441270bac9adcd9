"""The audit log: who viewed or changed personal data or a policy, and when. Append-only (the
database refuses UPDATE and DELETE) and tamper-evident: each entry carries the hash of the one
before it, so an edit made behind the database's back breaks the chain at that entry.

It lives in `core` rather than `api` because every surface records to it (pages, the bot, the
CLI) and imports only point downward."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event, orm
from sqlmodel import Field, Session, SQLModel, col, select

import core.models  # noqa: F401  (sets the constraint naming convention first)
from core.clock import Clock
from core.db import exclusive
from core.types import UTCDateTime

GENESIS = "0" * 64
# Held while appending (core.db.exclusive), so two requests never both extend the chain from
# the same entry.
_APPEND_LOCK = "audit-chain"


class AuditEntry(SQLModel, table=True):
    """One thing someone did or saw. `subject` names the record ("route:12", "elder:5"), never
    its contents: no phone numbers or addresses here."""

    __tablename__ = "audit_entry"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=80)
    action: str = Field(max_length=48, index=True)
    subject: str = Field(max_length=80)
    detail: str = Field(default="", max_length=200)
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail: str,
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical serialisation (sorted keys, no spaces, UTC to the microsecond)."""
    canonical = json.dumps(
        {
            "seq": seq,
            "at": _moment(at),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _hash_of(entry: AuditEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
    )


def record(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    action: str,
    subject: str,
    detail: str = "",
) -> AuditEntry:
    """Queue one entry; it joins the chain when the session commits, and is dropped if the
    transaction (or the savepoint it was recorded in) rolls back. Its `seq` and hashes are set
    at the commit. `at` is the moment of the act.

    The chain's lock (PostgreSQL: an advisory lock; SQLite: the write lock every writing
    transaction holds from its start) is taken only at the commit, so a request that records
    an entry early does not keep every other auditing request waiting while it works."""
    entry = AuditEntry(  # type: ignore[call-arg]  # seq and hashes: set at the commit
        at=clock.now().astimezone(UTC),  # microseconds: what both databases keep
        actor=actor[:80],
        action=action[:48],
        subject=subject[:80],
        detail=detail[:200],
    )
    session.connection()  # begins the transaction if the session has not yet
    innermost = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((innermost, entry))
    return entry


_PENDING = "audit_pending"


@event.listens_for(orm.Session, "before_commit")
def _append_pending(session: orm.Session) -> None:
    """Give the queued entries their places in the chain, in the committing transaction."""
    if session.in_nested_transaction():
        return  # SQLAlchemy says "commit" when a savepoint is released: not the commit yet
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    exclusive(session, _APPEND_LOCK)
    last = session.execute(
        sa.select(col(AuditEntry.seq), col(AuditEntry.hash))
        .order_by(col(AuditEntry.seq).desc())
        .limit(1)
    ).first()
    seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS)
    for _transaction, entry in pending:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev_hash
        entry.hash = prev_hash = _hash_of(entry)
        session.add(entry)
    session.flush()


@event.listens_for(orm.Session, "after_soft_rollback")
def _drop_rolled_back(session: orm.Session, previous: orm.SessionTransaction) -> None:
    """Entries recorded inside a transaction or savepoint that rolled back never happened."""
    pending = session.info.get(_PENDING)
    if not pending:
        return

    def inside(transaction: orm.SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous:
                return True
            transaction = transaction.parent
        return False

    session.info[_PENDING] = [(t, e) for t, e in pending if not inside(t)]


@event.listens_for(orm.Session, "after_transaction_end")
def _forget(session: orm.Session, transaction: orm.SessionTransaction) -> None:
    """The session's transaction is over (committed, rolled back or closed): nothing is left
    to append."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class BrokenLink:
    """The first entry at which the chain does not hold, and why."""

    seq: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken: BrokenLink | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify_chain(*, session: Session) -> ChainReport:
    """Walk the log in order, recomputing every hash and link; stop at the first bad entry."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    rows = session.execute(
        sa.select(AuditEntry).order_by(col(AuditEntry.seq)).execution_options(yield_per=1000)
    ).scalars()
    for entry in rows:
        count += 1
        if entry.seq != expected_seq:
            return ChainReport(count, BrokenLink(entry.seq, "missing_entry"))
        if entry.prev_hash != prev_hash:
            return ChainReport(count, BrokenLink(entry.seq, "wrong_link"))
        recomputed = _hash_of(entry)
        if recomputed != entry.hash:
            return ChainReport(count, BrokenLink(entry.seq, "altered"))
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return ChainReport(count, None)


def recent_entries(
    *, session: Session, limit: int = 200, before: int | None = None
) -> list[AuditEntry]:
    """The newest entries first, for the admin page."""
    query = select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    return list(session.exec(query))
