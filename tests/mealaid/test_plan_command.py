"""`mealaid plan` plans the meal's routes and writes the riders' route sheets."""

from datetime import datetime

import pypdf
from typer.testing import CliRunner

from core.clock import FixedClock
from core.db import Database
from mealaid.cli import app
from tests.conftest import SHANGHAI
from tests.factories import Factory, kitchen_with_route
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)


def test_plan_writes_a_route_sheet_for_each_kitchen(database_url, tmp_path):  # noqa: F811
    database = Database.from_url(database_url)
    database.migrate()
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with database.transaction() as session:
        kitchen_with_route(Factory(session, clock), elders=3, rider="骑手丁")
    database.dispose()
    result = CliRunner().invoke(
        app,
        ["plan", "--date", "2026-11-25", "--time-limit", "1", "--out", str(tmp_path / "day")],
    )
    assert result.exit_code == 0, result.output
    sheets = sorted((tmp_path / "day").glob("route-sheets-2026-11-25-lunch-k*.pdf"))
    assert len(sheets) == 1 and str(sheets[0].resolve()) in result.output.replace("\n", "")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(sheets[0]).pages)
    assert "骑手丁" in text and "共3站" in text.replace(" ", "")


def test_plan_refuses_a_bad_date_clearly(database_url):  # noqa: F811
    result = CliRunner().invoke(app, ["plan", "--date", "25/11", "--lang", "en"])
    assert result.exit_code == 2 and "is not a date like 2026-11-25" in result.output


def test_replan_after_a_dropout_writes_new_sheets_and_refuses_an_unknown_route(
    database_url,  # noqa: F811
    tmp_path,
):
    from sqlmodel import select

    from routing.records import UnplannedOrder

    database = Database.from_url(database_url)
    database.migrate()
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with database.transaction() as session:
        route_id, orders = kitchen_with_route(Factory(session, clock), elders=3, rider="骑手丁")
    database.dispose()
    result = CliRunner().invoke(
        app,
        ["replan", "--route", str(route_id), "--time-limit", "1", "--out", str(tmp_path / "day")],
    )
    assert result.exit_code == 0, result.output
    # The command runs on the real clock, long after that lunch: nobody is left to take the
    # three doors, and the new sheet says so.
    assert "长者饭堂" in result.output and "3" in result.output
    with database.reading() as session:
        assert sorted(u.order_id for u in session.exec(select(UnplannedOrder))) == sorted(orders)
    [sheet] = (tmp_path / "day").glob("route-sheets-2026-11-25-lunch-k*.pdf")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(sheet).pages)
    assert "骑手丁" not in text
    unknown = CliRunner().invoke(app, ["replan", "--route", "999999", "--lang", "en"])
    assert unknown.exit_code == 1 and "route" in unknown.output.lower()


def test_plan_help_tells_the_default_search_time_and_the_cost_of_a_rider():
    result = CliRunner().invoke(app, ["plan", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.replace("│", " ").split())
    assert "a fifth of a second per door delivery, at least 10 and at most 60" in text
    assert "--rider-cost-km" in text and "a rider fewer" in text


def test_plan_refuses_a_negative_rider_cost(database_url):  # noqa: F811
    result = CliRunner().invoke(app, ["plan", "--rider-cost-km", "-1", "--lang", "en"])
    assert result.exit_code == 2


def test_plan_says_how_many_doors_are_at_a_community_centre(database_url, tmp_path):  # noqa: F811
    from sqlmodel import select

    from core.models import Elder

    database = Database.from_url(database_url)
    database.migrate()
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with database.transaction() as session:
        kitchen_with_route(Factory(session, clock), elders=3)
        elder = session.exec(select(Elder).order_by(Elder.id)).first()
        elder.location_approximate = True
        session.add(elder)
    database.dispose()
    result = CliRunner().invoke(
        app,
        [
            "plan",
            "--date",
            "2026-11-25",
            "--time-limit",
            "1",
            "--out",
            str(tmp_path),
            "--lang",
            "en",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 doors are at a community's centre (location approximate)" in result.output
