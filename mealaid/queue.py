"""The day's due work on PostgreSQL, on procrastinate's job queue: `mealaid worker` runs a
worker, and any number of them run on any number of machines.

Three kinds of job:
- `look`, every 30 seconds (procrastinate's periodic tasks: one job per tick for the whole
  programme, however many workers defer it) and once when a worker starts, to catch up after
  downtime: escalates welfare alerts, queues the morning reminder, checks the past month on
  the 1st, takes up the jobs of workers that died, and queues the jobs below for what is due;
- `close_meal`, one per site and meal whose cutoff has passed; when it completes a kitchen's
  meal (every site the kitchen cooks for closed), it queues that kitchen's planning at once;
- `plan_kitchen`, one per kitchen and meal;
- `tidy`, once a day: forgets jobs that failed longer ago than `failed_jobs_kept_days`.
A city's sites close, and its kitchens plan, in parallel on as many workers as it has; closing
goes first (orders lock on time), planning after.

Nothing is done twice: a job is queued at most once (`queueing_lock`), never runs twice at once
(`lock`), and the due work itself is idempotent, so a job taken up again after a worker was
killed mid-way finds what the first attempt committed (or nothing, its transaction having rolled
back). A worker whose database goes away waits and starts again; the jobs wait in the database."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from types import TracebackType
from typing import Any

import procrastinate
import psycopg
import psycopg_pool
import sqlalchemy as sa
from procrastinate import exceptions as queue_errors
from sqlalchemy.engine import make_url

from core.clock import Clock
from core.db import Database
from core.settings import Settings
from core.types import Slot
from mealaid import duework

log = logging.getLogger("mealaid.queue")

tasks = procrastinate.Blueprint()

# The look's schedule (cron with seconds); `due_work_interval_seconds` is `mealaid serve`'s.
LOOK_EVERY = "* * * * * */30"
TIDY_AT = "17 3 * * *"  # once a day, at night
# A failed cutoff or planning is tried again, a minute later each time, for about an hour
# (a database restarting, a lock not granted in time).
RETRY = procrastinate.RetryStrategy(max_attempts=12, linear_wait=60)
# Higher first: meals close on time (orders lock for the kitchen) before any planning starts,
# and the look is not kept waiting behind a city's planning.
CLOSE_PRIORITY, LOOK_PRIORITY = 20, 10


@dataclass
class Runtime:
    """What a worker's jobs work with: handed to each job through procrastinate's context."""

    database: Database
    clock: Clock
    settings: Settings
    on_report: Callable[[duework.DueWorkReport], None]
    on_outage: Callable[[Exception, float], None]


def _runtime(context: procrastinate.JobContext) -> Runtime:
    return context.additional_context["runtime"]


@tasks.periodic(cron=LOOK_EVERY, periodic_id="look")
@tasks.task(
    name="look",
    queue="due",
    queueing_lock="look",
    lock="look",
    priority=LOOK_PRIORITY,
    pass_context=True,
)
async def look(context: procrastinate.JobContext, timestamp: int | None = None) -> None:
    runtime = _runtime(context)
    await _take_up_stalled_jobs(context.app, runtime.settings.worker_stalled_seconds)
    to_close: list[duework.SiteMeal] = []
    to_plan: list[duework.KitchenMeal] = []
    report = await asyncio.to_thread(
        duework.run_due_work,
        runtime.database,
        runtime.clock,
        runtime.settings,
        hand_over=duework.HandOver(close=to_close.extend, plan=to_plan.extend),
    )
    for site_id, day, slot in to_close:
        await _defer_once(close_meal, "site_id", site_id, day, slot)
    for kitchen_id, day, slot in to_plan:
        await defer_planning(kitchen_id, day, slot)
    runtime.on_report(report)


@tasks.periodic(cron=TIDY_AT, periodic_id="tidy")
@tasks.task(name="tidy", queue="due", queueing_lock="tidy", pass_context=True)
async def tidy(context: procrastinate.JobContext, timestamp: int | None = None) -> None:
    await forget_old_jobs(context.app, _runtime(context).settings.failed_jobs_kept_days)


async def forget_old_jobs(app: procrastinate.App, kept_days: int) -> None:
    """Failed, cancelled and aborted jobs that ended more than `kept_days` ago are deleted
    with their events: the queue's tables stay the size of a few days' work."""
    await app.job_manager.delete_old_jobs(
        nb_hours=kept_days * 24,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )


@tasks.task(name="close_meal", queue="due", retry=RETRY, priority=CLOSE_PRIORITY, pass_context=True)
async def close_meal(context: procrastinate.JobContext, site_id: int, day: str, slot: str) -> None:
    """Close one site's meal; then each kitchen it completed is queued for planning at once."""
    runtime = _runtime(context)
    database, clock = runtime.database, runtime.clock
    result = await asyncio.to_thread(
        duework.close_meal,
        database,
        clock,
        site_id,
        date.fromisoformat(day),
        Slot(slot),
        runtime.settings,
    )
    if result is None:
        return
    names = await asyncio.to_thread(duework.site_names, database, [site_id])
    runtime.on_report(duework.DueWorkReport(closed=[result], site_names=names))
    for kitchen_id, kitchen_day, kitchen_slot in await asyncio.to_thread(
        duework.kitchens_to_plan, database, clock
    ):
        await defer_planning(kitchen_id, kitchen_day, kitchen_slot)


@tasks.task(name="plan_kitchen", queue="planning", retry=RETRY, pass_context=True)
def plan_kitchen(context: procrastinate.JobContext, kitchen_id: int, day: str, slot: str) -> None:
    runtime = _runtime(context)
    summary = duework.plan_kitchen(
        runtime.database,
        runtime.clock,
        kitchen_id,
        date.fromisoformat(day),
        Slot(slot),
        runtime.settings,
    )
    if summary is not None:
        runtime.on_report(duework.DueWorkReport(planned=[summary]))


async def defer_planning(kitchen_id: int, day: date, slot: Slot) -> None:
    await _defer_once(plan_kitchen, "kitchen_id", kitchen_id, day, slot)


async def _defer_once(task: Any, id_name: str, row_id: int, day: date, slot: Slot) -> None:
    """Queue a site's or a kitchen's job for one meal unless it is queued already; and never
    two of them at once."""
    key = f"{task.name}:{row_id}:{day.isoformat()}:{slot.value}"
    with contextlib.suppress(queue_errors.AlreadyEnqueued):
        await task.configure(lock=key, queueing_lock=key).defer_async(
            **{id_name: row_id}, day=day.isoformat(), slot=slot.value
        )


async def _take_up_stalled_jobs(app: procrastinate.App, stalled_seconds: float) -> None:
    """Jobs left "doing" by a worker that stopped saying it is alive (killed, its machine
    gone) are queued again, to be run from the start."""
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds):
        log.warning("taking up job %s of a worker that stopped", job.call_string)
        await app.job_manager.retry_job(job)


def conninfo(database_url: str) -> str:
    """libpq's form of our SQLAlchemy URL (the same server, user, database and options)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def queue_app(database_url: str, database_timeout: float) -> procrastinate.App:
    """The queue on this database. A connection not had within `database_timeout` seconds:
    the database is away (the worker waits and starts again)."""
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url),
        # A worker holds one connection for listening and one for its job's bookkeeping.
        kwargs={"application_name": "mealaid-worker", "connect_timeout": 5},
        min_size=1,
        max_size=4,
        timeout=database_timeout,
    )
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(tasks, namespace="mealaid")
    return app


async def run_worker(runtime: Runtime, database_url: str, name: str) -> None:
    """Work until SIGINT or SIGTERM (the job in hand is finished first). When the database
    cannot be reached, or goes away while working, wait and start again."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    settings = runtime.settings
    app = queue_app(database_url, settings.worker_database_timeout_seconds)
    reconnect = settings.worker_reconnect_seconds
    while not stop.is_set():
        try:
            async with app.open_async():
                await _defer_look(app)
                worker = asyncio.create_task(
                    app.run_worker_async(
                        name=name,
                        concurrency=1,  # planning is CPU-bound: a process per core instead
                        install_signal_handlers=False,
                        delete_jobs="successful",
                        additional_context={"runtime": runtime},
                        update_heartbeat_interval=settings.worker_heartbeat_seconds,
                        stalled_worker_timeout=settings.worker_stalled_seconds,
                    )
                )
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stop.is_set():
                    worker.cancel()  # procrastinate's way to stop after the job in hand
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker
                    return
                stopping.cancel()
                worker.result()
                # A worker stops by itself only when its side tasks lost the database.
                raise ConnectionError("the worker stopped")
        except (queue_errors.ConnectorException, psycopg.Error, OSError) as error:
            runtime.on_outage(error, reconnect)
            # The jobs' own connections died with the database: open new ones when it is back.
            runtime.database.engine.dispose()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), reconnect)


# What logging passes formatException: sys.exc_info()'s three.
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class OutageFormatter(logging.Formatter):
    """Log lines for a worker's operator: a database that cannot be reached is one line (it
    is expected, and said again every few seconds until it is back); any other error keeps
    its traceback, which whoever fixes it needs."""

    def formatException(self, ei: ExcInfo) -> str:
        error = ei[1]
        if _is_outage(error):
            causes = []
            while error is not None:
                causes.append(" ".join(f"{type(error).__name__}: {error}".split()))
                error = error.__cause__ or error.__context__
            return "  " + " <- ".join(causes)
        return super().formatException(ei)


# What a database that is away (down, restarting, the network cut) raises on the way up.
OUTAGES = (
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    ConnectionError,
    sa.exc.OperationalError,
)


def _is_outage(error: BaseException | None) -> bool:
    while error is not None:
        if isinstance(error, OUTAGES):
            return True
        error = error.__cause__ or error.__context__
    return False


def configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(OutageFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)


async def _defer_look(app: procrastinate.App) -> None:
    """A look as soon as the worker starts: what fell due while everything was down is done
    now, not at the next tick."""
    with contextlib.suppress(queue_errors.AlreadyEnqueued):
        await look.defer_async()
