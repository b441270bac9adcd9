"""How many cores a kitchen's planning searches on, as each surface chooses: every core the
process may use where it plans alone (`mealaid plan`, the scheduler of `mealaid serve`), one on
`mealaid worker`, whose workers share their machine; MEALAID_PLAN_WORKERS overrides both."""

import os
from datetime import datetime

from typer.testing import CliRunner

from core.clock import FixedClock
from core.db import Database
from core.settings import Settings
from mealaid import duework
from mealaid.cli import app
from tests.conftest import SHANGHAI
from tests.factories import Factory, kitchen_with_route
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)
from tests.mealaid.test_duework import DAY, at, kitchen_day, settings
from usecases import routing as routing_runs


def three_cores(monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)


def planned_with(monkeypatch) -> list[routing_runs.SolveParams]:
    """The parameters every kitchen's planning is given from now on (it still plans)."""
    seen: list[routing_runs.SolveParams] = []
    real = routing_runs.plan_kitchen

    def plan_kitchen(**kwargs):
        seen.append(kwargs["params"])
        return real(**kwargs)

    monkeypatch.setattr(routing_runs, "plan_kitchen", plan_kitchen)
    return seen


def test_alone_a_process_plans_on_every_core_it_may_use_a_queue_worker_on_one(monkeypatch):
    three_cores(monkeypatch)
    assert duework.plan_workers(Settings(), alone=True) == 3
    assert duework.plan_workers(Settings(), alone=False) == 1


def test_the_setting_says_how_many_cores_wherever_the_planning_runs(monkeypatch):
    three_cores(monkeypatch)
    assert duework.plan_workers(Settings(plan_workers=2), alone=True) == 2
    assert duework.plan_workers(Settings(plan_workers=2), alone=False) == 2


def test_the_embedded_scheduler_plans_on_every_core_a_queue_job_on_one(
    empty_database, tmp_path, monkeypatch
):
    three_cores(monkeypatch)
    seen = planned_with(monkeypatch)
    clock = FixedClock(at(8, 0))
    kitchen = kitchen_day(empty_database, clock)["kitchen"]
    clock.set(at(9, 1))
    report = duework.run_due_work(empty_database, clock, settings(tmp_path))
    assert report.failures == [] and [p.stops for p in report.planned] == [3]
    assert [p.workers for p in seen] == [3]
    # A queue job (mealaid.queue.plan_kitchen) calls duework.plan_kitchen as below; the meal
    # counts as still due so that it plans again.
    monkeypatch.setattr(duework, "_still_due", lambda *args: True)
    slot = report.planned[0].slot
    summary = duework.plan_kitchen(empty_database, clock, kitchen, DAY, slot, settings(tmp_path))
    assert summary is not None and summary.stops == 3
    assert [p.workers for p in seen] == [3, 1]


def test_mealaid_plan_searches_on_every_core(database_url, tmp_path, monkeypatch):  # noqa: F811
    three_cores(monkeypatch)
    database = Database.from_url(database_url)
    database.migrate()
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with database.transaction() as session:
        kitchen_with_route(Factory(session, clock), elders=3)
    database.dispose()
    seen = planned_with(monkeypatch)
    result = CliRunner().invoke(
        app, ["plan", "--date", "2026-11-25", "--time-limit", "0.3", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert [p.workers for p in seen] == [3]
