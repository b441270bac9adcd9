"""`mealaid worker` on PostgreSQL, as real processes: several workers close every meal and
plan every kitchen exactly once; a worker killed with SIGKILL mid-planning leaves nothing
half-done, and another worker takes the job up; a worker whose database goes away waits and
carries on when it is back; on SQLite the command refuses and says what runs the day there."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time as timer
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import func, select
from sqlmodel.sql.expression import SelectOfScalar

from core.audit import AuditEntry
from core.clock import FixedClock
from core.db import Database
from core.models import Order, SlotCutoff
from mealaid import queue
from routing.records import PlannedSlot
from tests.conftest import POSTGRES_URL, SHANGHAI
from tests.factories import Factory, kitchen_with_standing_orders
from tests.mealaid.processes import Command, wait_until_serving
from tests.mealaid.test_commands import MEALAID, free_port, mealaid, now_in_shanghai, one_line

needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="workers run on PostgreSQL")


@pytest.fixture
def postgres_url(monkeypatch) -> Iterator[str]:
    schema = f"worker_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("MEALAID_DATABASE_URL", url)
    yield url
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


def city(url: str, moment: datetime, kitchens: int, elders: int, policy: bool = True) -> list[int]:
    """`kitchens` kitchens, each delivering lunch (closing at 09:00) to `elders` elders with
    standing orders. Returns the kitchens' ids."""
    database = Database.from_url(url)
    database.migrate()
    with database.transaction() as session:
        make = Factory(session, FixedClock(moment))
        ids = [
            kitchen_with_standing_orders(make, elders=elders, policy=policy and index == 0)[
                "kitchen"
            ]
            for index in range(kitchens)
        ]
    database.dispose()
    return ids


class Worker(Command):
    """A `mealaid worker` process with its output collected as it runs."""

    def __init__(self, url: str, clock: datetime, **settings: str) -> None:
        environment = {
            "MEALAID_DATABASE_URL": url,
            "MEALAID_DEFAULT_LOCALE": "en",
            "MEALAID_WORKER_HEARTBEAT_SECONDS": "0.5",
            "MEALAID_WORKER_STALLED_SECONDS": "2",
            **{f"MEALAID_{key.upper()}": value for key, value in settings.items()},
        }
        super().__init__(
            "worker",
            "--clock",
            clock.strftime("%Y-%m-%dT%H:%M"),
            environment=environment,
            stop_signal=signal.SIGTERM,
        )

    def stop(self, timeout: float = 60) -> str:
        output = super().stop(timeout)
        assert "Traceback" not in output, output
        return output


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = timer.monotonic() + seconds
    while not condition():
        assert timer.monotonic() < deadline, f"waited {seconds} s for {what}"
        timer.sleep(0.2)


def count(url: str, statement: SelectOfScalar[int]) -> int:
    database = Database.from_url(url)
    try:
        with database.reading() as session:
            return session.exec(statement).one()
    finally:
        database.dispose()


def jobs(url: str, status: str, task: str = "mealaid:plan_kitchen") -> int:
    """How many of the queue's jobs of `task` are in `status`."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT count(*) FROM procrastinate_jobs "
                    "WHERE status::text = :status AND task_name = :task"
                ),
                {"status": status, "task": task},
            ).scalar_one()
    finally:
        engine.dispose()


def closed_on(moment: datetime) -> SelectOfScalar[int]:
    """How many of the day's meals are closed (yesterday's, with no orders, are closed too)."""
    return select(func.count()).where(SlotCutoff.service_date == moment.date())


def after_the_cutoff() -> tuple[datetime, datetime]:
    """The moment the city is made (08:00 today) and the workers' clock (09:01)."""
    today = now_in_shanghai().date()
    return (
        datetime.combine(today, time(8, 0), tzinfo=SHANGHAI),
        datetime.combine(today, time(9, 1), tzinfo=SHANGHAI),
    )


@needs_postgres
def test_two_workers_close_every_meal_and_plan_every_kitchen_once(postgres_url):
    made, clock = after_the_cutoff()
    kitchens = city(postgres_url, made, kitchens=4, elders=3)
    workers = [Worker(postgres_url, clock, plan_time_limit_seconds="0.3") for _ in range(2)]
    try:
        wait_until(
            lambda: count(postgres_url, select(func.count()).select_from(PlannedSlot)) == 4,
            90,
            "every kitchen planned",
        )
        timer.sleep(2)  # a second look, and any duplicate job, would have run by now
        healthy = mealaid("health", "--lang", "en", check_code=0)
        assert "Workers alive: 2" in one_line(healthy) and "failed: 0" in one_line(healthy)
    finally:
        outputs = [worker.stop() for worker in workers]
    unhealthy = mealaid("health", "--lang", "en", check_code=1)
    assert "No worker is running" in one_line(unhealthy)
    planned = count(postgres_url, select(func.count(func.distinct(PlannedSlot.kitchen_id))))
    assert planned == len(kitchens) == 4
    assert count(postgres_url, select(func.count()).select_from(PlannedSlot)) == 4
    assert count(postgres_url, closed_on(clock)) == 4
    assert count(postgres_url, select(func.count()).select_from(Order)) == 12
    audited = select(func.count()).where(AuditEntry.action == "routes_planned")
    assert count(postgres_url, audited) == 4
    assert jobs(postgres_url, "failed") == 0
    said = "".join(outputs)
    assert said.count("closed, 3 orders locked") == 4, said
    assert "Worker" in said and "started" in said


@needs_postgres
def test_a_worker_killed_while_planning_leaves_nothing_and_another_takes_the_job_up(
    postgres_url,
):
    made, clock = after_the_cutoff()
    city(postgres_url, made, kitchens=1, elders=8)
    # A search of 5 s, killed a second in; the child searching for the dead worker stops when
    # its search is over (tests/routing/test_search_apart.py), not a longer search's CPU later.
    slow = Worker(postgres_url, clock, plan_time_limit_seconds="5")
    try:
        wait_until(lambda: jobs(postgres_url, "doing") == 1, 60, "planning to start")
        timer.sleep(1)  # well inside the search
    finally:
        slow.kill()
    assert count(postgres_url, select(func.count()).select_from(PlannedSlot)) == 0
    # The meal was closed (and committed) before the planning began: it is not closed again.
    assert count(postgres_url, closed_on(clock)) == 1
    timer.sleep(2.5)  # the dead worker's heartbeat grows old

    second = Worker(postgres_url, clock, plan_time_limit_seconds="0.3")
    try:
        wait_until(
            lambda: count(postgres_url, select(func.count()).select_from(PlannedSlot)) == 1,
            60,
            "the job taken up and planned",
        )
        timer.sleep(1)
    finally:
        output = second.stop()
    assert count(postgres_url, select(func.count()).select_from(PlannedSlot)) == 1
    assert count(postgres_url, closed_on(clock)) == 1
    assert count(postgres_url, select(func.count()).select_from(Order)) == 8
    assert jobs(postgres_url, "doing") == 0 and jobs(postgres_url, "failed") == 0
    assert "8 stops" in one_line_of(output), output


def one_line_of(text: str) -> str:
    return " ".join(text.split())


def test_a_worker_on_sqlite_says_what_runs_the_day_there(tmp_path, monkeypatch):
    monkeypatch.setenv("MEALAID_DATABASE_URL", f"sqlite:///{tmp_path}/mealaid.db")
    refused = mealaid("worker", check_code=2)
    assert "mealaid serve" in one_line(refused)


class Outage:
    """A TCP forwarder between the worker and PostgreSQL that the test switches off (every
    connection cut, new ones refused) and on again: the database going away for a while."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []

    def up(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for connection in self._open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # switched off
            server = socket.create_connection(self.upstream)
            self._open += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@needs_postgres
def test_a_worker_waits_while_the_database_is_away_and_catches_up_when_it_is_back(
    postgres_url,
):
    made, clock = after_the_cutoff()
    city(postgres_url, made, kitchens=1, elders=2)
    server = sa.engine.make_url(POSTGRES_URL)
    outage = Outage((server.host or "127.0.0.1", server.port or 5432))
    through_outage = postgres_url.replace(
        f"@{server.host}:{server.port}/", f"@127.0.0.1:{outage.port}/"
    )
    outage.up()
    # It notices the outage once a connection is not had in 3 s, and tries again every second.
    worker = Worker(
        through_outage,
        clock,
        plan_time_limit_seconds="0.3",
        worker_database_timeout_seconds="3",
        worker_reconnect_seconds="1",
    )
    try:
        planned = select(func.count()).select_from(PlannedSlot)
        wait_until(lambda: count(postgres_url, planned) == 1, 60, "the first kitchen planned")
        outage.down()
        wait_until(lambda: "cannot be reached" in worker.output, 60, "the worker to notice")
        # While the database is away for the worker, a second kitchen joins, its meal closed
        # at 09:00 too: nothing is lost, the worker catches up once it is back.
        city(postgres_url, made, kitchens=1, elders=3, policy=False)
        timer.sleep(1)
        assert worker.process.poll() is None, worker.output
        assert count(postgres_url, planned) == 1
        outage.up()
        # Reconnecting, catching up and planning: generous on a loaded CI machine.
        wait_until(lambda: count(postgres_url, planned) == 2, 120, "the second kitchen planned")
    finally:
        output = worker.stop()
        outage.down()
    assert count(postgres_url, closed_on(clock)) == 2
    assert count(postgres_url, select(func.count()).select_from(Order)) == 5
    assert jobs(postgres_url, "failed") == 0
    assert "trying again in 1 s" in output


@needs_postgres
def test_serve_from_two_processes_on_postgres_leaves_the_due_work_to_workers(postgres_url):
    city(postgres_url, now_in_shanghai() - timedelta(hours=1), kitchens=1, elders=1)
    port = free_port()
    server = subprocess.Popen(
        [MEALAID, "serve", "--workers", "2", "--port", str(port)],
        env={**os.environ, "MEALAID_DEFAULT_LOCALE": "en"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            wait_until_serving(http, server)
            answers = [http.get("/healthz") for _ in range(20)]
        assert {answer.status_code for answer in answers} == {200}
        assert answers[0].json()["database"] == "postgresql"
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=60)
    assert "Traceback" not in output, output
    assert output.count("Started server process") == 2, output
    assert "runs on “mealaid worker”" in one_line_of(output)


def test_several_web_processes_need_postgres(tmp_path, monkeypatch):
    monkeypatch.setenv("MEALAID_DATABASE_URL", f"sqlite:///{tmp_path}/mealaid.db")
    monkeypatch.setenv("MEALAID_DEFAULT_LOCALE", "en")
    refused = mealaid("serve", "--workers", "2", check_code=2)
    assert "need PostgreSQL" in one_line(refused)
    mealaid("migrate", check_code=0)
    assert "Healthy." in one_line(mealaid("health", check_code=0))


@needs_postgres
def test_the_daily_tidy_forgets_failed_jobs_once_they_are_old(postgres_url):
    """A failed job stays for someone to look at, then goes; a job still to do never does."""
    Database.from_url(postgres_url).migrate()

    async def tidy_up() -> list[tuple[int, str]]:
        app = queue.queue_app(postgres_url, database_timeout=10)
        async with app.open_async():
            ids = [
                await queue.plan_kitchen.configure(lock=f"k{n}").defer_async(
                    kitchen_id=n, day="2026-11-25", slot="lunch"
                )
                for n in range(3)
            ]
            async with app.connector.pool.connection() as connection:
                # The first failed 40 days ago, the second yesterday; the third is still to do.
                for job_id, days in ((ids[0], 40), (ids[1], 1)):
                    await connection.execute(
                        "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", (job_id,)
                    )
                    await connection.execute(
                        "UPDATE procrastinate_events SET at = now() - make_interval(days => %s)"
                        " WHERE job_id = %s",
                        (days, job_id),
                    )
                await connection.commit()
                await queue.forget_old_jobs(app, kept_days=30)
                rows = await connection.execute(
                    "SELECT id, status FROM procrastinate_jobs ORDER BY id"
                )
                left = [(row[0], str(row[1])) for row in await rows.fetchall()]
            return [(ids.index(job_id), status) for job_id, status in left]

    assert asyncio.run(tidy_up()) == [(1, "failed"), (2, "todo")]
