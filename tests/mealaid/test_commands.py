"""The `mealaid` commands as an operator runs them (real processes, on both databases): closing
a meal through the billed cutoff, planning refused while a meal is open, unknown sites and
meals refused in the reader's language, a server whose day moves by itself, backup and
restore."""

import os
import signal
import socket
import subprocess
import sys
import time as timer
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from billing.models import Charge
from core.clock import FixedClock
from core.db import Database
from core.models import Elder, Order, SlotCutoff
from core.types import OrderStatus
from routing.records import PlannedSlot
from tests.conftest import SHANGHAI
from tests.factories import SETTINGS, Factory, kitchen_with_standing_orders
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)
from usecases import ordering

MEALAID = str(Path(sys.executable).parent / "mealaid")


def mealaid(*args: str, check_code: int | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [MEALAID, *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    if check_code is not None:
        assert result.returncode == check_code, result.stdout + result.stderr
    return result


def one_line(result: subprocess.CompletedProcess) -> str:
    return " ".join((result.stdout + result.stderr).split())


def kitchen_with_standing_order(url: str, moment: datetime, cutoff: time) -> dict:
    """The kitchen of `kitchen_with_standing_orders` on `moment`'s day, with a canteen beside."""
    database = Database.from_url(url)
    database.migrate()
    with database.transaction() as session:
        facts = kitchen_with_standing_orders(
            Factory(session, FixedClock(moment)), cutoff=cutoff, canteen=True
        )
    database.dispose()
    return {"kitchen": facts["kitchen_code"], "canteen": facts["canteen_code"]}


def now_in_shanghai() -> datetime:
    return datetime.now(SHANGHAI)


def test_plan_on_an_open_meal_says_so_then_cutoff_reserves_the_standing_orders_subsidy(
    database_url,  # noqa: F811
    tmp_path,
):
    now = now_in_shanghai()
    if now.time() > time(23, 50):
        pytest.skip("the test's meal closes at 23:59 today")
    day = now.date().isoformat()
    kitchen_with_standing_order(database_url, now, cutoff=time(23, 59))

    refused = mealaid("plan", "--date", day, "--lang", "en", "--out", str(tmp_path), check_code=1)
    assert "still open" in one_line(refused)
    assert f"mealaid cutoff --date {day} --slot lunch --early" in one_line(refused)
    assert not list(tmp_path.glob("*.pdf"))

    closed = mealaid("cutoff", "--date", day, "--early", "--lang", "en", check_code=0)
    assert "1 orders locked (1 from standing orders)" in one_line(closed)
    database = Database.from_url(database_url)
    with database.reading() as session:
        [order] = session.exec(select(Order)).all()
        assert order.status == OrderStatus.locked
        # The billed cutoff: the city's ¥3 is reserved for the meal the standing order made.
        assert session.get(Charge, order.id).government_fen == 300

    mealaid("cutoff", "--date", day, "--early", "--lang", "en", check_code=0)  # again: no-op
    planned = mealaid(
        "plan",
        "--date",
        day,
        "--time-limit",
        "0.3",
        "--lang",
        "en",
        "--out",
        str(tmp_path),
        check_code=0,
    )
    assert "1 stops on 1 routes" in one_line(planned)
    with database.reading() as session:
        assert len(session.exec(select(Order)).all()) == 1
        assert len(session.exec(select(PlannedSlot)).all()) == 1
    database.dispose()


def test_a_clock_that_does_not_move_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MEALAID_DATABASE_URL", f"sqlite:///{tmp_path}/mealaid.db")
    monkeypatch.setenv("MEALAID_DEFAULT_LOCALE", "en")
    for speed in ("0", "-5"):
        refused = mealaid("serve", "--clock", "2026-11-25T09:00", "--speed", speed, check_code=2)
        assert "--speed must be more than 0" in one_line(refused)


def test_unknown_sites_and_meals_are_refused_in_the_readers_language(database_url):  # noqa: F811
    facts = kitchen_with_standing_order(database_url, now_in_shanghai(), cutoff=time(9, 0))
    unknown = mealaid("cutoff", "--site", "NOPE", "--early", "--lang", "en", check_code=2)
    assert "no site with the code “NOPE”" in one_line(unknown)
    assert facts["kitchen"] in one_line(unknown)
    for command in ("plan", "kitchen"):
        mealaid(command, "--site", "NOPE", "--lang", "en", check_code=2)
        canteen = mealaid(command, "--site", facts["canteen"], "--lang", "en", check_code=2)
        assert "is not a central kitchen" in one_line(canteen)
    brunch = mealaid("plan", "--slot", "brunch", "--lang", "zh_CN", check_code=2)
    assert "“brunch”不是" in one_line(brunch)
    database = Database.from_url(database_url)
    with database.reading() as session:  # nothing was closed
        assert session.exec(select(SlotCutoff)).first() is None
    database.dispose()


def test_cutoff_says_how_many_standing_orders_were_refused_and_where_staff_see_them(
    database_url,  # noqa: F811
):
    """Three elders with a standing lunch: one is ordered, one asks for more portions than
    an order may have now, one is paused (not news to anyone, so not counted)."""
    from core.elders import pause_elder
    from core.models import StandingOrder, StandingOrderRefusal

    now = now_in_shanghai()
    database = Database.from_url(database_url)
    database.migrate()
    with database.transaction() as session:
        make = Factory(session, FixedClock(now))
        facts = kitchen_with_standing_orders(make, cutoff=time(0, 0), elders=3)
        _, too_many, paused = facts["elders"]
        session.execute(
            sa.update(StandingOrder)
            .where(StandingOrder.elder_id == too_many)
            .values(quantity=SETTINGS.max_order_quantity + 1)
        )
        pause_elder(session=session, elder_id=paused, start_date=now.date(), end_date=now.date())
    day = now.date().isoformat()
    closed = one_line(mealaid("cutoff", "--date", day, "--lang", "en", check_code=0))
    assert "1 orders locked (1 from standing orders)" in closed
    assert "1 standing orders were refused by the order rules and made no order" in closed
    assert "orders board (/orders)" in closed
    again = one_line(mealaid("cutoff", "--date", day, "--lang", "zh_CN", check_code=0))
    assert "固定订餐" not in again  # closed already: nothing refused this time
    with database.reading() as session:
        [kept] = session.exec(select(StandingOrderRefusal)).all()
        assert (kept.elder_id, kept.code) == (too_many, "invalid_quantity")
    database.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_alone_closes_and_plans_the_meal_when_its_clock_passes_the_cutoff(
    database_url,  # noqa: F811
):
    """With nothing but `mealaid serve` running (its clock started at 08:58 and running 60
    times faster), the 09:00 cutoff passes in about two seconds and the day moves by itself."""
    start = datetime.combine(now_in_shanghai().date(), time(8, 58), tzinfo=SHANGHAI)
    kitchen_with_standing_order(database_url, start - timedelta(hours=1), cutoff=time(9, 0))
    environment = {
        **os.environ,
        "MEALAID_DUE_WORK_INTERVAL_SECONDS": "0.3",
        "MEALAID_PLAN_TIME_LIMIT_SECONDS": "0.3",
    }
    clock = start.strftime("%Y-%m-%dT%H:%M")
    server = subprocess.Popen(
        [MEALAID, "serve", "--port", str(free_port()), "--clock", clock, "--speed", "60"]
        # On PostgreSQL the due work is the workers' (tests/mealaid/test_worker.py) unless
        # the server is asked to run it: one machine with one process.
        + ([] if database_url.startswith("sqlite") else ["--scheduler"]),
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    database = Database.from_url(database_url)
    try:
        deadline = timer.monotonic() + 60
        planned = []
        while timer.monotonic() < deadline and not planned:
            timer.sleep(0.5)
            with database.reading() as session:
                planned = session.exec(select(PlannedSlot)).all()
        assert [p.stops for p in planned] == [1]
        with database.reading() as session:
            [order] = session.exec(select(Order)).all()
            assert order.status == OrderStatus.locked
            assert session.get(Charge, order.id).government_fen == 300
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
        database.dispose()
    assert "Traceback" not in output, output


def test_a_backup_restores_the_database_as_it_was_and_a_bad_file_changes_nothing(
    database_url,  # noqa: F811
    tmp_path,
):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL is backed up with pg_dump")
    kitchen_with_standing_order(database_url, now_in_shanghai(), cutoff=time(9, 0))
    made = mealaid("backup", "--out", str(tmp_path / "backups"), "--lang", "en", check_code=0)
    [copy] = (tmp_path / "backups").glob("mealaid-*.db")
    assert str(copy) in one_line(made)
    database = Database.from_url(database_url)
    with database.transaction() as session:
        session.execute(sa.update(Elder).values(name="改过的名字"))
    database.dispose()

    not_a_backup = tmp_path / "notes.db"
    not_a_backup.write_text("not a database")
    mealaid("restore", "--from", str(not_a_backup), "--lang", "en", check_code=1)
    with database.reading() as session:
        assert session.exec(select(Elder.name)).all() == ["改过的名字"]

    mealaid("restore", "--from", str(copy), "--lang", "en", check_code=0)
    with database.reading() as session:
        assert session.exec(select(Elder.name)).all() != ["改过的名字"]
    database.dispose()


def test_settle_writes_the_months_files_with_the_city_paying_its_share(
    database_url,  # noqa: F811
    tmp_path,
):
    now = now_in_shanghai()
    # Set up on today's date (its meal closed at midnight), whatever the hour: an hour back
    # from just after midnight was yesterday, and today's meal had no standing order.
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    kitchen_with_standing_order(database_url, midnight, cutoff=time(0, 0))
    mealaid("cutoff", "--date", now.date().isoformat(), "--lang", "en", check_code=0)
    database = Database.from_url(database_url)
    with database.transaction() as session:
        [order] = session.exec(select(Order)).all()
        ordering.record_outcome(
            session=session,
            clock=FixedClock(now),
            settings=SETTINGS,
            order_id=order.id,
            outcome=OrderStatus.delivered,
            by="rider:1",
        )
    database.dispose()
    month = now.strftime("%Y-%m")
    settled = mealaid(
        "settle", "--month", month, "--out", str(tmp_path / "out"), "--lang", "en", check_code=0
    )
    assert f"Settled {month}" in one_line(settled)
    assert "¥3.00" in one_line(settled)  # the city's subsidy of the one meal served
    assert "Meals held out of the claims for review: 0" in one_line(settled)
    assert list((tmp_path / "out").glob("*.csv")), settled.stdout
    refused = mealaid("settle", "--month", "2026-13", "--lang", "en", check_code=2)
    assert "Traceback" not in refused.stdout
