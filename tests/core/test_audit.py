"""The audit log: a chain of keyed hashes (HMAC-SHA-256 with a key the database does not hold)
the database will not let anyone edit, signed checkpoints of its head kept outside the database,
and a check that says what was changed behind its back: an entry rewritten, a broken link,
entries missing in the middle or at the end."""

import hashlib
import hmac
import json
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

import core.audit as audit
from core.audit import GENESIS, AuditEntry, record, verify_chain
from core.db import alembic_config
from core.settings import get_settings
from core.types import UTCDateTime


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


def _canonical(**fields) -> bytes:
    """The documented canonical form an entry's hash is taken over."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _moment(at) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_the_hash_is_an_hmac_with_the_audit_key_over_the_documented_canonical_form(session, clock):
    """Without the audit key (which the database does not hold) nobody can compute an entry's
    hash, so nobody with only the database can rewrite an entry and its successors."""
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
    key = get_settings().audit_chain_key
    assert entry.hash == hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()
    assert entry.hash != hashlib.sha256(canonical.encode()).hexdigest()
    assert entry.chain_version == audit.CHAIN_KEYED


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
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_entry_no_update")
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_entry_no_delete")
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


def _rewrite_with_unkeyed_hashes(
    session, seq: int, actor: str, *, as_old_entries=False, through: int | None = None
):
    """What someone with the database and the old, documented recipe could do: change an
    entry's actor and recompute every hash from there on with plain SHA-256 (optionally also
    marking the rewritten entries as written before the log was keyed)."""
    _without_the_guard(session)
    session.expire_all()
    rows = session.execute(sa.select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
    names = ("seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash")
    values = [{name: getattr(e, name) for name in names} for e in rows]
    prev_hash = GENESIS
    for row in values:
        if seq <= row["seq"] <= (through or row["seq"]):
            if row["seq"] == seq:
                row["actor"] = actor
            fields = {k: v for k, v in row.items() if k != "hash"}
            fields.update(at=_moment(row["at"]), prev_hash=prev_hash)
            row["prev_hash"] = prev_hash
            row["hash"] = hashlib.sha256(_canonical(**fields)).hexdigest()
            extra = {"chain_version": audit.CHAIN_UNKEYED} if as_old_entries else {}
            session.execute(
                sa.update(AuditEntry)
                .where(AuditEntry.seq == row["seq"])
                .values(actor=row["actor"], prev_hash=row["prev_hash"], hash=row["hash"], **extra)
            )
        prev_hash = row["hash"]
    session.expire_all()


def test_a_rewritten_entry_with_recomputed_unkeyed_hashes_is_named(session, clock):
    _three(session, clock)
    _rewrite_with_unkeyed_hashes(session, 2, "staff:nobody")
    report = verify_chain(session=session)
    assert not report.intact
    assert (report.broken.seq, report.broken.reason) == (2, "altered")


def test_rewritten_entries_passed_off_as_written_before_the_key_are_named(session, clock):
    """Entries written before the log was keyed are checked the old way; a keyed entry
    turned into such an old one is caught: the old kind never follows the keyed kind, and the
    checkpoint of the head no longer matches."""
    _three(session, clock)
    cut = audit.take_checkpoint(session=session, clock=clock)
    _rewrite_with_unkeyed_hashes(session, 2, "staff:nobody", as_old_entries=True)
    report = verify_chain(session=session)
    assert (report.broken.seq, report.broken.reason) == (2, "downgraded")
    _rewrite_with_unkeyed_hashes(session, 1, "staff:nobody", as_old_entries=True)
    report = verify_chain(session=session, checkpoints=[cut])
    assert [(p.reason, p.seq) for p in report.problems] == [("differs_from_checkpoint", 3)]


def _entries(session, clock, n: int) -> None:
    for i in range(n):
        record(session=session, clock=clock, actor=f"staff:{i}", action="login", subject="x")
        clock.advance(timedelta(seconds=1))
    session.commit()


def test_entries_deleted_at_the_end_are_counted_since_the_checkpoint(session, clock, tmp_path):
    _entries(session, clock, 12)
    audit.write_checkpoint(audit.take_checkpoint(session=session, clock=clock), tmp_path)
    checkpoints = audit.read_checkpoints(tmp_path)
    assert verify_chain(session=session, checkpoints=checkpoints).intact
    _without_the_guard(session)
    session.connection().exec_driver_sql("DELETE FROM audit_entry WHERE seq > 7")
    session.expire_all()
    report = verify_chain(session=session, checkpoints=checkpoints)
    assert not report.intact and report.entries == 7
    [problem] = report.problems
    assert (problem.reason, problem.seq, problem.missing) == ("missing_at_end", 12, 5)
    assert problem.checkpoint_at == clock.now()


def test_a_log_cut_back_and_written_again_differs_from_the_checkpoint(session, clock, tmp_path):
    _entries(session, clock, 6)
    cut = audit.take_checkpoint(session=session, clock=clock)
    _without_the_guard(session)
    session.connection().exec_driver_sql("DELETE FROM audit_entry WHERE seq > 3")
    session.expire_all()
    _entries(session, clock, 4)
    report = verify_chain(session=session, checkpoints=[cut])
    assert [(p.reason, p.seq) for p in report.problems] == [("differs_from_checkpoint", 6)]


def test_an_entry_deleted_in_the_middle_is_named_with_how_many(session, clock):
    _entries(session, clock, 8)
    _without_the_guard(session)
    session.connection().exec_driver_sql("DELETE FROM audit_entry WHERE seq IN (4, 5)")
    session.expire_all()
    report = verify_chain(session=session)
    assert (report.broken.reason, report.broken.seq, report.broken.missing) == (
        "missing_entry",
        6,
        2,
    )


def test_checkpoints_are_signed_lines_and_an_edited_one_is_refused(session, clock, tmp_path):
    _entries(session, clock, 3)
    path = audit.write_checkpoint(audit.take_checkpoint(session=session, clock=clock), tmp_path)
    _entries(session, clock, 2)
    audit.write_checkpoint(audit.take_checkpoint(session=session, clock=clock), tmp_path)
    lines = path.read_text().splitlines()
    assert [json.loads(line)["entries"] for line in lines] == [3, 5]
    assert verify_chain(session=session, checkpoints=audit.read_checkpoints(tmp_path)).intact
    forged = json.loads(lines[1]) | {"entries": 4}  # hiding the last entry's deletion
    path.write_text(lines[0] + "\n" + json.dumps(forged) + "\n")
    report = verify_chain(session=session, checkpoints=audit.read_checkpoints(tmp_path))
    assert [(p.reason, p.where) for p in report.problems] == [
        ("forged_checkpoint", f"{path.name}:2")
    ]


def test_a_check_with_another_key_says_so(session, clock, tmp_path, monkeypatch):
    _entries(session, clock, 2)
    audit.write_checkpoint(audit.take_checkpoint(session=session, clock=clock), tmp_path)
    monkeypatch.setenv("MEALAID_AUDIT_KEY", "another key altogether, long enough")
    get_settings.cache_clear()
    try:
        report = verify_chain(session=session, checkpoints=audit.read_checkpoints(tmp_path))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert [p.reason for p in report.problems] == ["other_key", "altered"]


def test_an_intact_log_matches_its_checkpoints(session, clock, tmp_path):
    _entries(session, clock, 0)
    empty = audit.take_checkpoint(session=session, clock=clock)
    assert (empty.entries, empty.head) == (0, GENESIS)
    _entries(session, clock, 4)
    audit.write_checkpoint(empty, tmp_path)
    audit.write_checkpoint(audit.take_checkpoint(session=session, clock=clock), tmp_path)
    _entries(session, clock, 3)  # written since the last checkpoint: fine
    report = verify_chain(session=session, checkpoints=audit.read_checkpoints(tmp_path))
    assert report.intact and report.entries == 7 and report.problems == []
    assert report.latest_checkpoint.entries == 4


def test_a_log_written_before_the_key_stays_checkable_and_is_anchored_by_the_keyed_entries(
    empty_database, clock
):
    """A database whose log was written with plain SHA-256 (before migration 0015): its old
    entries are checked the old way, new ones are keyed, and the first keyed entry holds the
    old ones in place: rewriting them breaks its link, which nobody can forge without the key."""
    database = empty_database
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0014")
    old_table = sa.table(
        "audit_entry",
        *(sa.column(name) for name in ("seq", "actor", "action", "subject", "detail")),
        *(sa.column(name) for name in ("prev_hash", "hash")),
        sa.column("at", UTCDateTime()),
    )
    prev_hash = GENESIS
    with database.engine.begin() as connection:
        for seq in (1, 2, 3):
            at = clock.now().astimezone(UTC)
            fields = {
                "seq": seq,
                "at": _moment(at),
                "actor": f"staff:{seq}",
                "action": "login",
                "subject": "x",
                "detail": "",
                "prev_hash": prev_hash,
            }
            digest = hashlib.sha256(_canonical(**fields)).hexdigest()
            connection.execute(sa.insert(old_table).values(fields | {"at": at, "hash": digest}))
            prev_hash = digest
    database.migrate()
    with database.reading() as session:
        report = verify_chain(session=session)
        assert report.intact and report.entries == 3 and report.unkeyed == 3
    with database.transaction() as session:
        record(session=session, clock=clock, actor="staff:4", action="login", subject="x")
    with database.transaction() as session:
        versions = session.execute(
            sa.select(AuditEntry.chain_version).order_by(AuditEntry.seq)
        ).scalars()
        assert list(versions) == [1, 1, 1, 2]
        assert verify_chain(session=session).intact
        _rewrite_with_unkeyed_hashes(session, 2, "staff:nobody", as_old_entries=True, through=3)
        report = verify_chain(session=session)
        assert (report.broken.seq, report.broken.reason) == (4, "wrong_link")
        session.rollback()
