"""The audit log: a chain of SHA-256 hashes the database will not let anyone edit, and a check
that names the first entry changed behind its back."""

import hashlib
import json
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from core.audit import GENESIS, AuditEntry, record, verify_chain


def _three(session, clock):
    entries = []
    for actor, action, subject in (
        ("staff:admin1", "login", "staff:admin1"),
        ("staff:rider2", "view_route", "route:7"),
        ("link:route:7", "view_route", "route:7"),
    ):
        entries.append(
            record(session=session, clock=clock, actor=actor, action=action, subject=subject)
        )
        clock.advance(timedelta(seconds=1, microseconds=123))
    session.commit()  # entries join the chain when their transaction commits
    return entries


def test_each_entry_carries_the_hash_of_the_one_before(session, clock):
    first, second, third = _three(session, clock)
    assert [e.seq for e in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == GENESIS
    assert (second.prev_hash, third.prev_hash) == (first.hash, second.hash)
    report = verify_chain(session=session)
    assert report.intact and report.entries == 3


def test_the_hash_is_sha256_over_the_documented_canonical_form(session, clock):
    entry = record(session=session, clock=clock, actor="staff:a", action="login", subject="staff:a")
    session.commit()
    canonical = json.dumps(
        {
            "action": "login",
            "actor": "staff:a",
            "at": clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "detail": "",
            "prev_hash": GENESIS,
            "seq": 1,
            "subject": "staff:a",
        },
        separators=(",", ":"),
    )
    assert entry.hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_an_entry_recorded_in_a_transaction_that_rolls_back_never_happened(session, clock):
    record(session=session, clock=clock, actor="staff:a", action="login", subject="staff:a")
    with pytest.raises(RuntimeError), session.begin_nested():
        record(session=session, clock=clock, actor="staff:b", action="login", subject="staff:b")
        raise RuntimeError("the savepoint's work is undone")
    with session.begin_nested():
        record(session=session, clock=clock, actor="staff:c", action="login", subject="staff:c")
    session.commit()
    actors = session.execute(sa.select(AuditEntry.actor).order_by(AuditEntry.seq)).scalars().all()
    assert actors == ["staff:a", "staff:c"]
    session.rollback()
    record(session=session, clock=clock, actor="staff:d", action="login", subject="staff:d")
    session.rollback()
    session.commit()
    assert verify_chain(session=session).entries == 2


def _advisory_locks_held(session) -> int:
    if session.get_bind().dialect.name != "postgresql":
        return 0
    return session.execute(
        sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
    ).scalar_one()


def test_a_savepoint_ending_is_not_the_commit(session, clock):
    """Entries join the chain when the whole transaction commits: a savepoint released before
    then takes no lock, and one whose work fails and is caught loses no entry recorded
    outside it."""
    from bot.models import HandledUpdate

    record(session=session, clock=clock, actor="staff:a", action="login", subject="staff:a")
    session.add(HandledUpdate(update_id=1, received_at=clock.now()))
    session.flush()
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.add(HandledUpdate(update_id=1, received_at=clock.now()))  # a duplicate
    with session.begin_nested():
        record(session=session, clock=clock, actor="staff:b", action="login", subject="staff:b")
    assert _advisory_locks_held(session) == 0
    session.commit()
    actors = session.execute(sa.select(AuditEntry.actor).order_by(AuditEntry.seq)).scalars().all()
    assert actors == ["staff:a", "staff:b"]
    assert verify_chain(session=session).intact


def test_recording_waits_for_no_one_until_the_commit(empty_database, clock):
    """Two units of work record entries; the one that commits first takes the next place in
    the chain, whichever recorded first, and neither waits for the other before its commit."""
    database = empty_database
    if database.dialect == "sqlite":
        pytest.skip("SQLite: a writing transaction holds the database's write lock from its start")
    with database.transaction() as first:
        early = record(session=first, clock=clock, actor="staff:a", action="view", subject="x:1")
        with database.transaction() as second:
            second.execute(sa.text("SET LOCAL lock_timeout = '5s'"))  # fail, not hang
            late = record(
                session=second, clock=clock, actor="staff:b", action="view", subject="x:2"
            )
    assert (late.seq, early.seq) == (1, 2)
    assert early.prev_hash == late.hash
    with database.reading() as session:
        assert verify_chain(session=session).entries == 2


def test_an_empty_log_is_intact(session):
    report = verify_chain(session=session)
    assert report.intact and report.entries == 0


def _refused(session, statement: str) -> None:
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.connection().exec_driver_sql(statement)


def test_the_database_refuses_to_change_or_delete_an_entry(session, clock):
    _three(session, clock)
    _refused(session, "UPDATE audit_entry SET actor = 'someone else' WHERE seq = 2")
    _refused(session, "DELETE FROM audit_entry WHERE seq = 3")
    assert verify_chain(session=session).intact


def _without_the_guard(session) -> None:
    """What someone with the database owner's rights could do: switch the triggers off."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
        connection.exec_driver_sql("DROP TRIGGER audit_entry_no_delete")
    else:
        connection.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER USER")


def test_an_entry_edited_behind_the_databases_back_is_named(session, clock):
    _three(session, clock)
    _without_the_guard(session)
    session.connection().exec_driver_sql(
        "UPDATE audit_entry SET actor = 'staff:nobody' WHERE seq = 2"
    )
    session.expire_all()
    report = verify_chain(session=session)
    assert (report.broken.seq, report.broken.reason) == (2, "altered")


def test_a_deleted_entry_is_named(session, clock):
    _three(session, clock)
    _without_the_guard(session)
    session.connection().exec_driver_sql("DELETE FROM audit_entry WHERE seq = 2")
    session.expire_all()
    report = verify_chain(session=session)
    assert (report.broken.seq, report.broken.reason) == (3, "missing_entry")


def test_a_rewritten_entry_with_a_fresh_hash_breaks_the_next_link(session, clock):
    first, second, _ = _three(session, clock)
    _without_the_guard(session)
    from core.audit import entry_hash

    forged = entry_hash(
        seq=2,
        at=second.at,
        actor="staff:nobody",
        action=second.action,
        subject=second.subject,
        detail="",
        prev_hash=first.hash,
    )
    session.execute(
        sa.update(AuditEntry).where(AuditEntry.seq == 2).values(actor="staff:nobody", hash=forged)
    )
    session.expire_all()
    report = verify_chain(session=session)
    assert (report.broken.seq, report.broken.reason) == (3, "wrong_link")
