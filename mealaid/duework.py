"""The programme's day by the clock: every piece of work that falls due at a time (cutoffs,
planning each kitchen after its cutoff, welfare escalation, the morning reminder, the month's
checks on the 1st, the nightly backup, the audit log's daily checkpoint, forgetting the page
keys of marks a week old) as a function that looks at what is due *now* and does it. Each is
safe to run again and at once from several processes, so a run after downtime catches up: a
cutoff missed while everything was down is run at the next look, escalations that fell due are
sent at once.

Each piece runs in its own transaction and fails alone: a kitchen whose planning fails does not
stop the next kitchen's, nor the escalations."""

import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.clock import Clock
from core.db import Database, exclusive
from core.models import Site
from core.reminders import queue_lunch_reminders
from core.runs import claim_run
from core.settings import Settings
from core.types import Slot
from usecases import marks, ordering, settlement, welfare
from usecases import routing as routing_runs

log = logging.getLogger("mealaid.duework")

# Who the audit log names for what the clock did.
ACTOR = "scheduler"
# A cutoff may fall days before its meal (`cutoff_days_before`); look this far ahead for them.
CUTOFF_DAYS_AHEAD = 2

# A site's meal to close, a kitchen's meal to plan: the site's id, the service day, the meal.
SiteMeal = tuple[int, date, Slot]
KitchenMeal = tuple[int, date, Slot]


@dataclass
class HandOver:
    """Where a look sends the meals to close and the kitchens to plan, instead of doing them
    itself one after another: the workers make each one a job of its own."""

    close: Callable[[list[SiteMeal]], None]
    plan: Callable[[list[KitchenMeal]], None]


@dataclass
class DueWorkReport:
    """What one look at the clock did."""

    closed: list[ordering.CutoffResult] = field(default_factory=list)
    site_names: dict[int, str] = field(default_factory=dict)  # of the sites closed
    planned: list[routing_runs.PlanSummary] = field(default_factory=list)
    escalated: int = 0
    reminders: int = 0
    month_checked: str | None = None
    backup: Path | None = None
    audit_checkpoint: Path | None = None
    marks_forgotten: int = 0
    failures: list[str] = field(default_factory=list)


def meals_to_close(database: Database, clock: Clock) -> list[SiteMeal]:
    """Every meal whose cutoff has passed and that is still open: yesterday's (a day missed
    while the programme was down), today's and the next days' (a cutoff the day before)."""
    today = clock.now().date()
    due = []
    with database.reading() as session:
        for offset in range(-1, CUTOFF_DAYS_AHEAD + 1):
            day = today + timedelta(days=offset)
            due += [
                (site_id, day, slot)
                for site_id, slot in ordering.due_cutoffs(
                    session=session, clock=clock, service_date=day
                )
            ]
    return due


def close_meal(
    database: Database, clock: Clock, site_id: int, day: date, slot: Slot, settings: Settings
) -> ordering.CutoffResult | None:
    """Close one site's meal through the billed cutoff, in its own transaction; None when it
    was closed already (by another process, or before a restart)."""
    with database.transaction() as session:
        result = ordering.run_cutoff(
            session=session,
            clock=clock,
            settings=settings,
            site_id=site_id,
            service_date=day,
            slot=slot,
        )
    return None if result.already_done else result


def close_due_slots(
    database: Database, clock: Clock, settings: Settings
) -> list[ordering.CutoffResult]:
    """Close every meal that is due, one after another."""
    closed = [
        close_meal(database, clock, *meal, settings) for meal in meals_to_close(database, clock)
    ]
    return [result for result in closed if result is not None]


def kitchens_to_plan(database: Database, clock: Clock) -> list[KitchenMeal]:
    """Each kitchen's meals of today and tomorrow that have closed everywhere it cooks for and
    are not planned yet. (A past day's meal is not planned: its riders have gone home.)"""
    today = clock.now().date()
    due = []
    with database.reading() as session:
        for day in (today, today + timedelta(days=1)):
            due += [
                (kitchen_id, day, slot)
                for kitchen_id, slot in routing_runs.kitchens_due(session=session, service_date=day)
            ]
    return due


def plan_workers(settings: Settings, *, alone: bool) -> int:
    """Cores one kitchen's search runs on: `plan_workers` (MEALAID_PLAN_WORKERS) when set;
    else every core this process may use when it plans alone (`mealaid plan`, the scheduler
    of `mealaid serve`), and one on `mealaid worker`, where several workers share a machine
    and each plans its own kitchen."""
    if settings.plan_workers is not None:
        return settings.plan_workers
    if not alone:
        return 1
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def plan_kitchen(
    database: Database,
    clock: Clock,
    kitchen_id: int,
    day: date,
    slot: Slot,
    settings: Settings,
    *,
    alone: bool = False,
) -> routing_runs.PlanSummary | None:
    """Plan one kitchen's meal unless it is planned already (by another worker, or before a
    restart): the check and the plan's record are in the planning's own transaction. `alone`:
    no other worker plans on this machine (see `plan_workers`)."""
    with database.transaction() as session:
        if not _still_due(session, kitchen_id, day, slot):
            return None
        return routing_runs.plan_kitchen(
            session=session,
            clock=clock,
            kitchen_id=kitchen_id,
            service_date=day,
            slot=slot,
            actor=ACTOR,
            # Apart: the search would otherwise hold Python's lock for its whole time limit,
            # and the web app beside it (serve) or the worker's heartbeat would stand still.
            params=routing_runs.SolveParams.for_kitchen(
                time_limit=settings.plan_time_limit_seconds,
                rider_cost_km=settings.plan_rider_cost_km,
                apart=True,
                workers=plan_workers(settings, alone=alone),
            ),
        )


def _still_due(session: Session, kitchen_id: int, day: date, slot: Slot) -> bool:
    # Two workers never plan the same kitchen's meal at once: the second waits here for the
    # first's commit, then finds the meal planned.
    exclusive(session, f"plan:{kitchen_id}:{day.isoformat()}:{slot.value}")
    return (kitchen_id, slot) in routing_runs.kitchens_due(session=session, service_date=day)


def escalate_welfare(database: Database, clock: Clock, settings: Settings) -> int:
    """Move every unanswered welfare alert whose time is up to its next level (the settings'
    escalation window, their duty line last)."""
    with database.transaction() as session:
        return len(welfare.escalate_due(session=session, clock=clock, settings=settings))


def queue_reminders(database: Database, clock: Clock, settings: Settings) -> int:
    """The morning "lunch today?" reminder, once a day from its time on."""
    with database.transaction() as session:
        return queue_lunch_reminders(session=session, clock=clock, at=settings.reminder_time)


def check_past_month(database: Database, clock: Clock) -> str | None:
    """From the 1st on, once: the past month's anomaly checks, so the admin finds the meals
    held for review on the settlement page when they open it. Returns the month checked."""
    now = clock.now()
    month = settlement.previous_month(now.date())
    first_of_month = now.date().replace(day=1)
    with database.transaction() as session:
        if not claim_run(session, job="month_check", day=first_of_month, at=now):
            return None
        settlement.check_month(session=session, clock=clock, month=month, actor=ACTOR)
    return month


def back_up(database: Database, clock: Clock, settings: Settings) -> Path | None:
    """Every night from `backup_time`, once: a SQLite database copied with SQLite's online
    backup API (consistent while the app writes) into a dated file; files older than
    `backup_keep_days` are removed. PostgreSQL is backed up by its own tools (README)."""
    if database.dialect != "sqlite":
        return None
    now = clock.now()
    if now.time() < settings.backup_time:
        return None
    with database.transaction() as session:
        if not claim_run(session, job="backup", day=now.date(), at=now):
            return None
    path = backup_sqlite(database, settings.backup_dir, now.date())
    _prune_backups(settings.backup_dir, now.date(), settings.backup_keep_days)
    return path


def checkpoint_audit_log(database: Database, clock: Clock, settings: Settings) -> Path | None:
    """Once a day: a signed checkpoint of the audit log's head appended to the file in
    `audit_checkpoint_dir`, outside the database. Written inside the transaction that claims
    the day, so a file that cannot be written leaves the day unclaimed and it is tried again
    at the next look."""
    now = clock.now()
    with database.transaction() as session:
        if not claim_run(session, job="audit_checkpoint", day=now.date(), at=now):
            return None
        checkpoint = audit.take_checkpoint(session=session, clock=clock)
        return audit.write_checkpoint(checkpoint, settings.audit_checkpoint_dir)


def forget_old_marks(database: Database, clock: Clock) -> int:
    """Once a day: the keys pages sent their marks under, once a week old (see
    `usecases.marks.KEYS_KEPT`), are deleted. Returns how many."""
    now = clock.now()
    with database.transaction() as session:
        if not claim_run(session, job="forget_marks", day=now.date(), at=now):
            return 0
        return marks.forget_old(session, clock)


def backup_sqlite(database: Database, folder: Path, day: date) -> Path:
    """Copy a SQLite database, consistently while it is in use, to `folder/mealaid-DAY.db`."""
    source_path = database.engine.url.database
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"mealaid-{day.isoformat()}.db"
    partial = target.with_suffix(".db.partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(source_path) as source, sqlite3.connect(partial) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    partial.replace(target)  # a backup file is whole or absent
    return target


def _prune_backups(folder: Path, today: date, keep_days: int) -> None:
    for path in folder.glob("mealaid-*.db"):
        try:
            day = date.fromisoformat(path.stem.removeprefix("mealaid-"))
        except ValueError:
            continue  # not ours
        if day <= today - timedelta(days=keep_days):
            path.unlink()


def site_names(database: Database, site_ids: list[int] | None = None) -> dict[int, str]:
    """Sites' names by id, for the lines that say what was closed (all sites when not given)."""
    query = select(Site)
    if site_ids is not None:
        query = query.where(col(Site.id).in_(site_ids))
    with database.reading() as session:
        return {site.id: site.name for site in session.exec(query)}


def run_due_work(
    database: Database,
    clock: Clock,
    settings: Settings,
    *,
    hand_over: HandOver | None = None,
) -> DueWorkReport:
    """Everything due now, each piece on its own: what `mealaid serve` runs every
    `due_work_interval_seconds` on the embedded database, and the workers' periodic look on
    PostgreSQL. The meals due to close and the kitchens due for planning are done here, one
    after another, unless `hand_over` takes them."""
    report = DueWorkReport()

    def attempt(name: str, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except Exception:  # one piece failing must not stop the others; it is tried again
            log.exception("due work %s failed; it will be tried again", name)
            report.failures.append(name)
            return None

    if hand_over is not None:
        attempt("cutoffs", lambda: hand_over.close(meals_to_close(database, clock)))
        attempt("planning", lambda: hand_over.plan(kitchens_to_plan(database, clock)))
    else:
        report.closed = attempt("cutoffs", lambda: close_due_slots(database, clock, settings)) or []
        if report.closed:
            report.site_names = attempt("site names", lambda: site_names(database)) or {}
        for kitchen_id, day, slot in (
            attempt("planning", lambda: kitchens_to_plan(database, clock)) or []
        ):
            summary = attempt(
                f"planning kitchen {kitchen_id}",
                lambda k=kitchen_id, d=day, s=slot: plan_kitchen(
                    database, clock, k, d, s, settings, alone=True
                ),
            )
            if summary is not None:
                report.planned.append(summary)
    report.escalated = (
        attempt("escalation", lambda: escalate_welfare(database, clock, settings)) or 0
    )
    report.reminders = attempt("reminders", lambda: queue_reminders(database, clock, settings)) or 0
    report.month_checked = attempt("month end", lambda: check_past_month(database, clock))
    report.backup = attempt("backup", lambda: back_up(database, clock, settings))
    report.audit_checkpoint = attempt(
        "audit checkpoint", lambda: checkpoint_audit_log(database, clock, settings)
    )
    report.marks_forgotten = attempt("old marks", lambda: forget_old_marks(database, clock)) or 0
    return report


class DueWorkLoop:
    """Runs the due work every `interval` seconds on a thread of its own, for as long as the
    process runs: `mealaid serve`'s scheduler on the embedded database."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        settings: Settings,
        interval: float,
        on_report: Callable[[DueWorkReport], None] | None = None,
    ) -> None:
        self._database, self._clock, self._settings = database, clock, settings
        self._interval, self._on_report = interval, on_report
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="due-work", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            report = run_due_work(self._database, self._clock, self._settings)
            if self._on_report is not None:
                self._on_report(report)
            self._stopping.wait(self._interval)
