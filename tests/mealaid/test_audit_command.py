"""`mealaid audit check` and `mealaid audit checkpoint` as an operator runs them (real
processes, on both databases): an intact log says so; a log cut back at its end (the trigger
dropped, the last entries deleted), an entry rewritten with freshly computed hashes and an
entry deleted in the middle are each named, in the reader's language."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from core.audit import GENESIS, AuditEntry, record
from core.clock import FixedClock
from core.db import Database
from tests.conftest import SHANGHAI
from tests.mealaid.test_commands import mealaid, one_line
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)


def _log(url: str, entries: int) -> Database:
    database = Database.from_url(url)
    database.migrate()
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    for n in range(entries):
        with database.transaction() as session:
            record(session=session, clock=clock, actor=f"staff:a{n}", action="login", subject="x")
        clock.advance(timedelta(seconds=1))
    return database


def _unguarded(connection: sa.Connection) -> None:
    """What the database's owner can do: switch the append-only triggers off."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
        connection.exec_driver_sql("DROP TRIGGER audit_entry_no_delete")
    else:
        connection.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER USER")


def test_an_intact_log_is_intact_and_agrees_with_its_checkpoint(database_url, tmp_path):  # noqa: F811
    database = _log(database_url, 6)
    folder = tmp_path / "anchors"
    written = mealaid("audit", "checkpoint", "--out", str(folder), "--lang", "en", check_code=0)
    assert "Checkpoint of the audit log written" in one_line(written)
    [line] = (folder / "audit-checkpoints.jsonl").read_text().splitlines()
    assert json.loads(line)["entries"] == 6
    checked = mealaid("audit", "check", "--checkpoints", str(folder), "--lang", "en", check_code=0)
    assert "The audit log is intact: 6 entries." in one_line(checked)
    assert "It agrees with the latest checkpoint" in one_line(checked)
    database.dispose()


def test_entries_deleted_at_the_end_are_counted(database_url, tmp_path):  # noqa: F811
    database = _log(database_url, 12)
    folder = tmp_path / "anchors"
    mealaid("audit", "checkpoint", "--out", str(folder), check_code=0)
    with database.engine.begin() as connection:
        _unguarded(connection)
        connection.exec_driver_sql("DELETE FROM audit_entry WHERE seq > 7")
    tampered = mealaid("audit", "check", "--checkpoints", str(folder), "--lang", "en", check_code=1)
    assert "5 entries are missing at the end" in one_line(tampered)
    assert "counted 12, the log now ends at entry 7." in one_line(tampered)
    in_chinese = mealaid("audit", "check", "--checkpoints", str(folder), "--lang", "zh_CN")
    assert in_chinese.returncode == 1 and "末尾缺少 5 条" in one_line(in_chinese)
    database.dispose()


def test_an_entry_rewritten_with_fresh_unkeyed_hashes_is_named(database_url, tmp_path):  # noqa: F811
    database = _log(database_url, 5)
    with database.engine.begin() as connection:
        _unguarded(connection)
        rows = connection.execute(sa.select(AuditEntry.__table__).order_by("seq")).all()
        prev_hash = GENESIS
        for row in rows:
            if row.seq >= 3:
                fields = {
                    "seq": row.seq,
                    "at": row.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                    if row.at.tzinfo
                    else row.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "actor": "staff:nobody" if row.seq == 3 else row.actor,
                    "action": row.action,
                    "subject": row.subject,
                    "detail": row.detail,
                    "prev_hash": prev_hash,
                }
                canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
                digest = hashlib.sha256(canonical.encode()).hexdigest()
                connection.execute(
                    sa.update(AuditEntry.__table__)
                    .where(AuditEntry.__table__.c.seq == row.seq)
                    .values(actor=fields["actor"], prev_hash=prev_hash, hash=digest)
                )
                prev_hash = digest
            else:
                prev_hash = row.hash
    tampered = mealaid("audit", "check", "--lang", "en", check_code=1)
    assert (
        "The audit log has been tampered with at entry 3: its contents do not match its hash"
        in one_line(tampered)
    )
    database.dispose()


def test_an_entry_deleted_in_the_middle_is_named(database_url, tmp_path):  # noqa: F811
    database = _log(database_url, 6)
    with database.engine.begin() as connection:
        _unguarded(connection)
        connection.exec_driver_sql("DELETE FROM audit_entry WHERE seq = 3")
    tampered = mealaid("audit", "check", "--lang", "en", check_code=1)
    assert "tampered with at entry 4: 1 entry before it is missing" in one_line(tampered)
    database.dispose()
