"""The dashboard's numbers against a small known fortnight, its SVG charts, and a funder
auditor seeing only its own funder."""

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from api import charts
from billing.dashboard import dashboard
from billing.models import LedgerEntry
from core.clock import FixedClock
from core.i18n import gettext
from core.models import MealRating, Order
from core.types import Category, OrderStatus, Slot
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import SETTINGS, Factory, PolicyFactory, log_in, make_staff
from usecases import ordering


def _day(make, site, dish, day, meals):
    """Orders for a day's lunch, the cutoff, then each door's outcome (None: cancelled)."""
    make.clock.set(datetime(day.year, day.month, day.day, 8, 0, tzinfo=SHANGHAI))
    placed = []
    for elder, outcome in meals:
        order = ordering.place_order(
            session=make.session,
            clock=make.clock,
            settings=SETTINGS,
            elder_id=elder.id,
            site_id=site.id,
            service_date=day,
            slot=Slot.lunch,
            dish_id=dish.id,
            variant="regular",
            idempotency_key=f"dash-{elder.id}-{day}",
        ).order
        if outcome is None:
            ordering.cancel_order(
                session=make.session, clock=make.clock, settings=SETTINGS, order_id=order.id
            )
        else:
            placed.append((order.id, outcome))
    ordering.run_cutoff(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        site_id=site.id,
        service_date=day,
        slot=Slot.lunch,
        early=True,
    )
    for order_id, outcome in placed:
        ordering.record_outcome(
            session=make.session,
            clock=make.clock,
            settings=SETTINGS,
            order_id=order_id,
            outcome=outcome,
            by="rider",
        )


def known_fortnight(make) -> dict:
    """Three active elders at one site (one 低保) and one inactive; the city pays ¥8 from a
    ¥1,000 fund for 低保 elders and ¥2 for everyone. Served: two lunches on Mon 16 Nov, one on
    Tue 24 Nov; a door unanswered on the 24th (an open alert); a cancelled order."""
    monday = date(2026, 11, 16)
    make.clock.set(datetime(2026, 11, 16, 7, 0, tzinfo=SHANGHAI))
    site, dishes, plain = make.world(service_date=monday)
    make.menu(site, dishes, date(2026, 11, 24))
    policy = PolicyFactory(make.session)
    city = policy.funder(name_zh="广州市民政局", name_en="Guangzhou Civil Affairs")
    fund = policy.fund(city, budget_fen=100_000)
    policy.rule(city, code="DIBAO", categories=["dibao"], amount_fen=800, fund_id=fund.id)
    policy.rule(city, code="BASE", amount_fen=200, stacks=True)
    other = policy.funder(share="charity", name_zh="慈善会", name_en="Charity")
    dibao = make.elder(site, name="低保长者", categories=[Category.minimum_living])
    second = make.elder(site, name="普通长者")
    gone = make.elder(site, name="已退出")
    gone.status = "inactive"
    make.session.add(gone)
    served = OrderStatus.delivered
    _day(make, site, dishes[0], monday, [(dibao, served), (second, served)])
    _day(
        make,
        site,
        dishes[0],
        date(2026, 11, 24),
        [(dibao, served), (plain, OrderStatus.no_answer), (second, None)],
    )
    # The chat's one-tap ratings: the two Monday lunches good, Tuesday's came cold.
    for order in make.session.exec(select(Order).where(Order.status == served)).all():
        good = order.service_date == monday
        make.session.add(
            MealRating(
                order_id=order.id,
                elder_id=order.elder_id,
                site_id=order.site_id,
                service_date=order.service_date,
                good=good,
                reason=None if good else "cold",
                rated_at=make.clock.now(),
            )
        )
    make.session.flush()
    make.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    return {"site": site, "city": city, "other": other, "gone": gone, "plain": plain}


def test_the_numbers_of_a_known_fortnight(make, session):
    known = known_fortnight(make)
    board = dashboard(session=session, today=date(2026, 11, 25))
    per_day = {c.key: c.meals for c in board.per_day}
    assert len(per_day) == 14 and min(per_day) == "2026-11-12" and max(per_day) == "2026-11-25"
    assert {day: n for day, n in per_day.items() if n} == {"2026-11-16": 2, "2026-11-24": 1}
    assert board.meals == 3
    assert [(c.key, c.meals) for c in board.by_category] == [("dibao", 2), ("none", 1)]
    assert [(c.label, c.meals) for c in board.by_site] == [(known["site"].name, 3)]
    # Three active elders; only the 低保 elder ate this week (the 24th): a third.
    assert (board.active_elders, board.elders_served_this_week, board.coverage_bp) == (3, 1, 3333)
    city = next(f for f in board.funders if f.funder_id == known["city"].id)
    ledger = session.execute(
        sa.select(sa.func.sum(LedgerEntry.amount_fen)).where(
            LedgerEntry.funder_id == known["city"].id
        )
    ).scalar_one()
    assert (city.spent_fen, city.month_fen) == (2 * 800 + 3 * 200, 2200) and ledger == 2200
    assert (city.budget_fen, city.committed_fen) == (100_000, 1600)
    charity = next(f for f in board.funders if f.funder_id == known["other"].id)
    assert (charity.spent_fen, charity.budget_fen) == (0, None)
    assert [(a.elder, a.handled_by) for a in board.open_alerts] == [(known["plain"].name, None)]
    assert (board.ratings_good, board.ratings_total) == (2, 3)
    assert [(c.key, c.meals) for c in board.rating_reasons] == [("cold", 1)]


def test_charts_scale_to_the_largest_value():
    chart = charts.columns([("a", 0), ("b", 5), ("c", 10)], width=300, height=140)
    assert [bar.height for bar in chart.bars] == [0.0, 50.0, 100.0]
    assert chart.bars[2].y == 20.0 and chart.top == 10
    empty = charts.rows([("a", 0)])
    assert empty.bars[0].width == 0.0


@pytest.fixture
def app_with_fortnight(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        known = known_fortnight(make)
        ids = {
            "city": known["city"].id,
            "admin": make_staff(make, "admin").username,
            "auditor": make_staff(make, "funder_auditor", funder_id=known["city"].id).username,
        }
    yield web_app(database=empty_database, clock=clock), ids


def client_for(app, username: str) -> TestClient:
    client = TestClient(app)
    assert log_in(client, username).status_code == 303
    return client


def test_the_dashboard_page_and_json_for_the_admin_and_an_auditor(app_with_fortnight):
    app, ids = app_with_fortnight
    with client_for(app, ids["admin"]) as admin:
        body = admin.get("/api/v1/dashboard").json()
        assert (body["meals"], body["coverage_percent"], body["open_alerts_count"]) == (3, 33.33, 1)
        assert len(body["funders"]) == 2
        page = admin.get("/dashboard?lang=zh_CN")
        assert page.status_code == 200
        assert page.text.count("<svg") >= 4 and "<script" not in page.text
        assert "33.3%" in page.text and "广州市民政局" in page.text and "¥22.00" in page.text
        assert "最低生活保障" in page.text or "低保" in page.text
        assert (body["ratings_good"], body["ratings_total"]) == (2, 3)
        assert "67%" in page.text and gettext("It was cold", "zh_CN") in page.text
    with client_for(app, ids["auditor"]) as auditor:
        body = auditor.get("/api/v1/dashboard").json()
        assert [f["funder_id"] for f in body["funders"]] == [ids["city"]]
        assert body["per_day"] == [] and body["open_alerts"] == []
        assert body["ratings_total"] == 0 and body["rating_reasons"] == []
        page = auditor.get("/dashboard?lang=en")
        assert "Guangzhou Civil Affairs" in page.text and "Charity" not in page.text
        assert "已退出" not in page.text and 'href="/dashboard"' in page.text


def test_the_admin_sees_todays_refused_usual_meals_on_the_dashboard_until_ordered(
    empty_database,
):
    """The standing lunch the cutoff refused (four portions, two the most now) is counted on
    the dashboard, linked to the board where it can be seen; an order for it takes it off."""
    from core.models import StandingOrder
    from core.standing import materialise_standing_orders
    from tests.factories import CUTOFF_LIMITS

    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, elder = make.world()
        session.add(
            StandingOrder(
                elder_id=elder.id,
                site_id=site.id,
                slot=Slot.lunch,
                weekdays=[3],
                quantity=4,
                start_date=make.today,
                created_at=clock.now(),
            )
        )
        session.flush()
        materialise_standing_orders(
            session=session,
            clock=clock,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            **{**CUTOFF_LIMITS, "max_order_quantity": 2},
        )
        admin = make_staff(make, "admin").username
        auditor = make_staff(make, "funder_auditor").username
    app = web_app(database=empty_database, clock=clock)
    with client_for(app, admin) as client:
        assert client.get("/api/v1/dashboard").json()["refused_standing_orders"] == 1
        page = client.get("/dashboard?lang=en").text
        figure = page.split('id="standing-refused"', 1)[1].split("</div>", 1)[0]
        assert "<strong>1</strong>" in figure and "could not be ordered" in figure
        assert 'href="/orders?date=2026-11-25#standing-refused"' in page
        with empty_database.transaction() as session:
            ordering.place_order(
                session=session,
                clock=clock,
                settings=SETTINGS,
                elder_id=elder.id,
                site_id=site.id,
                service_date=clock.now().date(),
                slot=Slot.lunch,
                dish_id=dishes[0].id,
                variant="regular",
                quantity=2,
                idempotency_key="phoned-in",
            )
        assert client.get("/api/v1/dashboard").json()["refused_standing_orders"] == 0
    with client_for(app, auditor) as client:
        assert client.get("/api/v1/dashboard").json()["refused_standing_orders"] == 0
        assert "standing-refused" not in client.get("/dashboard").text
