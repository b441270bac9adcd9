"""The audit log: who viewed or changed personal data or a policy, and when. Append-only (the
database refuses UPDATE and DELETE) and tamper-evident: each entry carries the hash of the one
before it, keyed with a key the database does not hold (HMAC-SHA-256 with the audit key), so an
edit made behind the database's back breaks the chain at that entry and cannot be covered by
recomputing the hashes. Signed checkpoints of the chain's head (count and hash), kept outside
the database, show entries deleted at the end, which no chain can show by itself.

It lives in `core` rather than `api` because every surface records to it (pages, the bot, the
CLI) and imports only point downward."""

import hashlib
import hmac
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event, orm
from sqlmodel import Field, Session, SQLModel, col, select

import core.models  # noqa: F401  (sets the constraint naming convention first)
from core.clock import Clock
from core.db import exclusive
from core.i18n import N_
from core.settings import get_settings
from core.types import UTCDateTime

GENESIS = "0" * 64
# Held while appending (core.db.exclusive), so two requests never both extend the chain from
# the same entry.
_APPEND_LOCK = "audit-chain"
# How an entry's hash was made: plain SHA-256 for entries written before the log was keyed
# (migration 0015 marks them), HMAC-SHA-256 with the audit key since. The old kind never
# follows the keyed kind, and the first keyed entry's hash covers every old one before it.
CHAIN_UNKEYED, CHAIN_KEYED = 1, 2
CHECKPOINT_FILE = "audit-checkpoints.jsonl"

# What each action in the log means, for people reading it (the audit page); the log keeps the
# code, which the JSON and `mealaid audit check` show as it is.
ACTIONS = {
    "login": N_("logged in"),
    "change_password": N_("changed their password"),
    "view_elder": N_("opened an elder's record"),
    "create_elder": N_("registered an elder"),
    "update_elder": N_("changed an elder's record"),
    "import_elders": N_("imported a list of elders"),
    "issue_link_code": N_("issued a family-link code"),
    "link_chat": N_("linked a chat (to an elder, or a rider's or worker's own)"),
    "issue_chat_code": N_("issued a rider's or community worker's chat code"),
    "unlink_chat": N_("unlinked a rider's or community worker's chat"),
    "revoke_link": N_("revoked a family link"),
    "approve_link": N_("approved a family link again"),
    "pause_meals": N_("paused an elder's meals"),
    "end_pause": N_("ended a meal pause"),
    "phone_search": N_("searched by phone digits"),
    "phone_search_shown": N_("searched by the last four phone digits"),
    "view_orders_board": N_("opened the orders board"),
    "phone_in_order": N_("took a phone-in order"),
    "cancel_order": N_("cancelled an order"),
    "view_counter": N_("opened the counter"),
    "counter_served": N_("marked a meal served at the counter"),
    "counter_walk_in": N_("served a walk-in at the counter"),
    "counter_not_collected": N_("marked meals not collected"),
    "counter_scan": N_("read a meal card at the counter"),
    "outcome_undone": N_("took back a meal's mark (served, delivered, no answer)"),
    "print_meal_cards": N_("printed meal cards"),
    "reissue_meal_card": N_("reissued a meal card"),
    "view_kitchen_lists": N_("opened a kitchen's lists"),
    "download_kitchen_file": N_("downloaded a kitchen file"),
    "view_route": N_("opened a route"),
    "view_stop": N_("opened a delivery"),
    "print_route_sheet": N_("printed a route sheet"),
    "routes_planned": N_("planned the routes"),
    "rider_dropped_out": N_("re-planned a route whose rider dropped out"),
    "route_links_withdrawn": N_("withdrew a route's links"),
    "view_welfare_board": N_("opened the welfare alerts"),
    "close_alert": N_("closed a welfare alert"),
    "create_dish": N_("created a dish"),
    "update_dish": N_("changed a dish"),
    "publish_menu": N_("published a menu"),
    "add_menu_item": N_("put a dish on a menu"),
    "update_menu_item": N_("changed a dish on a menu"),
    "remove_menu_item": N_("took a dish off a menu"),
    "copy_last_week": N_("copied last week's menus"),
    "create_community": N_("added a community"),
    "update_community": N_("changed a community"),
    "create_site": N_("added a meal site"),
    "update_site": N_("changed a meal site"),
    "add_meal_slot": N_("added a meal to a site"),
    "update_meal_slot": N_("changed a meal's cutoff or delivery window"),
    "remove_meal_slot": N_("took a meal off a site"),
    "create_rider": N_("added a rider"),
    "update_rider": N_("changed a rider"),
    "create_worker": N_("added a community worker"),
    "update_worker": N_("changed a community worker"),
    "create_account": N_("added a staff account"),
    "disable_account": N_("disabled a staff account"),
    "enable_account": N_("enabled a staff account again"),
    "reset_password": N_("reset a staff account's password"),
    "export_setup": N_("exported the programme's set-up"),
    "import_setup": N_("imported a programme's set-up"),
    "create_funder": N_("added a funder"),
    "update_funder": N_("changed a funder"),
    "create_fund": N_("added a fund"),
    "update_fund": N_("changed a fund"),
    "set_fund_budget": N_("set a fund's budget for a period"),
    "publish_rule": N_("published a subsidy rule's version"),
    "set_billing_policy": N_("set the programme's billing settings from a day"),
    "preview_rule": N_("previewed a subsidy rule for sample elders"),
    "month_checked": N_("checked the month for anomalies"),
    "view_settlement": N_("opened the month's settlement"),
    "download_settlement_file": N_("downloaded a settlement file"),
    "view_statement": N_("opened a funder's statement"),
    "download_statement": N_("downloaded a funder's statement"),
}


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
    chain_version: int = Field(default=CHAIN_KEYED)


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
    key: bytes | None,
) -> str:
    """HMAC-SHA-256 with `key` (plain SHA-256 when None: entries written before the log was
    keyed) over a canonical serialisation (sorted keys, no spaces, UTC to the microsecond)."""
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
    ).encode()
    if key is None:
        return hashlib.sha256(canonical).hexdigest()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def _hash_of(entry: AuditEntry, key: bytes) -> str:
    return entry_hash(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
        key=key if entry.chain_version == CHAIN_KEYED else None,
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
    key = get_settings().audit_chain_key
    for _transaction, entry in pending:
        seq += 1
        entry.seq, entry.prev_hash, entry.chain_version = seq, prev_hash, CHAIN_KEYED
        entry.hash = prev_hash = _hash_of(entry, key)
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


def key_id(key: bytes) -> str:
    """Names a key without giving it away: checkpoints carry it, so a check run with another
    key says so instead of calling every entry rewritten."""
    return hmac.new(key, b"mealaid audit key id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at a moment: how many entries it had and the last one's hash."""

    at: datetime
    entries: int
    head: str
    key_id: str


def take_checkpoint(*, session: Session, clock: Clock) -> Checkpoint:
    last = session.execute(
        sa.select(col(AuditEntry.seq), col(AuditEntry.hash))
        .order_by(col(AuditEntry.seq).desc())
        .limit(1)
    ).first()
    entries, head = (last.seq, last.hash) if last else (0, GENESIS)
    key = get_settings().audit_chain_key
    return Checkpoint(clock.now().astimezone(UTC), entries, head, key_id(key))


def _signature(fields: dict[str, object], key: bytes) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, b"mealaid audit checkpoint:" + canonical, hashlib.sha256).hexdigest()


def _fields(checkpoint: Checkpoint) -> dict[str, object]:
    return {
        "at": _moment(checkpoint.at),
        "entries": checkpoint.entries,
        "head": checkpoint.head,
        "key_id": checkpoint.key_id,
    }


def write_checkpoint(checkpoint: Checkpoint, folder: Path) -> Path:
    """Append the checkpoint to the folder's file as one signed JSON line, on disk before this
    returns (a line is written whole, in one append, so readers never see half of one)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT_FILE
    fields = _fields(checkpoint)
    line = json.dumps(fields | {"signature": _signature(fields, get_settings().audit_chain_key)})
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (line + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return path


def forget_checkpoints(folder: Path) -> None:
    """For a log started afresh (the demo): the old log's checkpoints would call it cut back."""
    (folder / CHECKPOINT_FILE).unlink(missing_ok=True)


@dataclass(frozen=True)
class RefusedCheckpoint:
    """A checkpoint line that cannot be trusted: where it is, and whether it was signed with
    another key or edited."""

    where: str
    reason: str  # "forged_checkpoint" or "other_key"


@dataclass(frozen=True)
class Checkpoints:
    trusted: list[Checkpoint] = field(default_factory=list)
    refused: list[RefusedCheckpoint] = field(default_factory=list)


def read_checkpoints(folder: Path) -> Checkpoints:
    """The folder's checkpoints whose signature holds, and the lines that do not."""
    path = folder / CHECKPOINT_FILE
    if not path.is_file():
        return Checkpoints()
    key = get_settings().audit_chain_key
    ours = key_id(key)
    trusted, refused = [], []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            data = json.loads(line)
            fields = {name: data[name] for name in ("at", "entries", "head", "key_id")}
            signature = str(data["signature"])
            checkpoint = Checkpoint(
                at=datetime.strptime(str(fields["at"]), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                    tzinfo=UTC
                ),
                entries=int(fields["entries"]),
                head=str(fields["head"]),
                key_id=str(fields["key_id"]),
            )
        except (ValueError, KeyError, TypeError):
            refused.append(RefusedCheckpoint(where, "forged_checkpoint"))
            continue
        if checkpoint.key_id != ours:
            refused.append(RefusedCheckpoint(where, "other_key"))
        elif not hmac.compare_digest(signature.encode(), _signature(fields, key).encode()):
            refused.append(RefusedCheckpoint(where, "forged_checkpoint"))
        else:
            trusted.append(checkpoint)
    return Checkpoints(trusted, refused)


@dataclass(frozen=True)
class Tampering:
    """One thing wrong with the log. `seq` is the entry it shows at; `missing` how many
    entries are gone (before `seq`, or at the end since the checkpoint counting `seq`);
    `checkpoint_at` the checkpoint it was found against; `where` a refused checkpoint line."""

    reason: str
    seq: int = 0
    missing: int = 0
    checkpoint_at: datetime | None = None
    where: str = ""


# Reasons found by walking the chain itself; the others come from the checkpoints.
CHAIN_REASONS = frozenset({"altered", "wrong_link", "missing_entry", "downgraded"})


@dataclass(frozen=True)
class ChainReport:
    entries: int
    problems: list[Tampering] = field(default_factory=list)
    latest_checkpoint: Checkpoint | None = None
    unkeyed: int = 0  # entries written before the log was keyed

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def broken(self) -> Tampering | None:
        """The first entry at which the chain itself does not hold."""
        return next((p for p in self.problems if p.reason in CHAIN_REASONS), None)


def verify_chain(
    *, session: Session, checkpoints: Checkpoints | Iterable[Checkpoint] = ()
) -> ChainReport:
    """Walk the log in order, recomputing every hash and link, up to the first bad entry;
    then hold the log against the trusted checkpoints: each checkpointed entry must still
    carry the hash it had, and the log must reach the latest checkpoint's count."""
    if not isinstance(checkpoints, Checkpoints):
        checkpoints = Checkpoints(trusted=list(checkpoints))
    problems: list[Tampering] = [
        Tampering(refused.reason, where=refused.where) for refused in checkpoints.refused
    ]
    wanted = {checkpoint.entries for checkpoint in checkpoints.trusted}
    found: dict[int, str] = {}
    key = get_settings().audit_chain_key
    expected_seq, prev_hash, count, unkeyed, keyed_seen = 1, GENESIS, 0, 0, False
    chain_problem: Tampering | None = None
    last_seq = 0
    rows = session.execute(
        sa.select(AuditEntry).order_by(col(AuditEntry.seq)).execution_options(yield_per=1000)
    ).scalars()
    for entry in rows:
        count += 1
        last_seq = entry.seq
        if entry.seq in wanted:
            found[entry.seq] = entry.hash
        if chain_problem is not None:
            continue  # past the first break only the checkpointed hashes are of use
        if entry.seq != expected_seq:
            chain_problem = Tampering(
                "missing_entry", entry.seq, missing=max(entry.seq - expected_seq, 0)
            )
        elif entry.prev_hash != prev_hash:
            chain_problem = Tampering("wrong_link", entry.seq)
        elif entry.chain_version == CHAIN_UNKEYED and keyed_seen:
            chain_problem = Tampering("downgraded", entry.seq)
        elif (
            entry.chain_version not in (CHAIN_UNKEYED, CHAIN_KEYED)
            or _hash_of(entry, key) != entry.hash
        ):
            chain_problem = Tampering("altered", entry.seq)
        else:
            keyed_seen = keyed_seen or entry.chain_version == CHAIN_KEYED
            unkeyed += entry.chain_version == CHAIN_UNKEYED
            expected_seq, prev_hash = entry.seq + 1, entry.hash
    if chain_problem is not None:
        problems.append(chain_problem)
    latest = max(checkpoints.trusted, key=lambda c: (c.entries, c.at), default=None)
    for checkpoint in sorted(checkpoints.trusted, key=lambda c: (c.entries, c.at)):
        if checkpoint.entries == 0 or checkpoint.entries > last_seq:
            continue
        if checkpoint.entries in found and found[checkpoint.entries] != checkpoint.head:
            problems.append(
                Tampering(
                    "differs_from_checkpoint", checkpoint.entries, checkpoint_at=checkpoint.at
                )
            )
            break  # the first rewritten stretch; later checkpoints only repeat it
    if latest is not None and latest.entries > last_seq:
        problems.append(
            Tampering(
                "missing_at_end",
                latest.entries,
                missing=latest.entries - last_seq,
                checkpoint_at=latest.at,
            )
        )
    return ChainReport(count, problems, latest, unkeyed)


def recent_entries(
    *, session: Session, limit: int = 200, before: int | None = None
) -> list[AuditEntry]:
    """The newest entries first, for the admin page."""
    query = select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    return list(session.exec(query))
