"""A walk-in at the canteen counter over HTTP: a registered elder who turns up without an order
is served on the spot from today's menu at this site. The order goes through the same ordering
use case as any order (the menu, her diet, one order per meal, paused days, the budget reserved)
with only the cutoff relaxed, and is marked served through the same outcome use case; every
refusal says why, in the reader's language, and writes nothing."""

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from billing.models import Charge, LedgerEntry
from core.audit import AuditEntry
from core.clock import FixedClock
from core.errors import CutoffPassed
from core.models import Order
from core.types import ElderStatus, OrderSource, OrderStatus, ServiceMode, Slot
from tests.apps import web_app
from tests.conftest import SHANGHAI, row_counts
from tests.factories import SETTINGS, Factory, closed_lunch, csrf_from, log_in, make_staff
from usecases import ordering


@pytest.fixture
def walk_in(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, _ = make.world()
        other_site, other_dishes, _ = make.world()
        (ordered,) = closed_lunch(
            make, site, dishes[0], [("陈桂英", "13800001234", ServiceMode.dine_in)]
        )
        walker = make.elder(site, name="黄志强", allergies=["fish"])
        gone = make.elder(site, name="林美华")
        gone.status = ElderStatus.inactive
        session.add(gone)
        away = make.elder(site, name="周国平")
        ordering.pause_meals(
            session=session,
            clock=clock,
            settings=SETTINGS,
            elder_id=away.id,
            pause_in={"start_date": make.today, "end_date": make.today + timedelta(days=2)},
        )
        ids = {
            "site": site.id,
            "other_site": other_site.id,
            "dish": dishes[0].id,
            "fish": dishes[1].id,
            "other_dish": other_dishes[0].id,
            "ordered": ordered,
            "ordered_elder": session.get(Order, ordered).elder_id,
            "walker": walker.id,
            "gone": gone.id,
            "away": away.id,
            "canteen": make_staff(make, "canteen", site_ids=[site.id]).username,
        }
    clock.set(datetime(2026, 11, 25, 11, 40, tzinfo=SHANGHAI))
    app = web_app(database=empty_database, clock=clock)
    client = TestClient(app)
    assert log_in(client, ids["canteen"]).status_code == 303
    with client:
        yield client, empty_database, clock, ids


def _headers(client: TestClient) -> dict:
    return {"x-csrf-token": csrf_from(client.get("/counter").text), "accept-language": "zh-CN"}


def _body(ids: dict, **overrides) -> dict:
    body = {
        "site_id": ids["site"],
        "elder_id": ids["walker"],
        "dish_id": ids["dish"],
        "variant": "regular",
        "slot": "lunch",
    }
    return body | overrides


def test_a_walk_in_is_placed_and_served_at_once_through_the_same_use_cases(walk_in):
    client, database, _, ids = walk_in
    served = client.post("/api/v1/counter/walk-in", json=_body(ids), headers=_headers(client))
    assert served.status_code == 200, served.text
    assert served.json()["status"] == "dined_in"
    order_id = served.json()["order_id"]
    with database.reading() as session:
        order = session.get(Order, order_id)
        assert (order.source, order.mode, order.status, order.slot) == (
            OrderSource.counter,
            ServiceMode.dine_in,
            OrderStatus.dined_in,
            Slot.lunch,
        )
        assert order.elder_id == ids["walker"] and order.outcome_by == f"staff:{ids['canteen']}"
        # The budget was reserved and the split billed, and the served meal posted.
        assert session.exec(select(Charge).where(Charge.order_id == order_id)).first()
        posted = session.exec(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.order_id == order_id)
        ).one()
        assert posted > 0
        audited = session.exec(
            select(AuditEntry.detail).where(AuditEntry.action == "counter_walk_in")
        ).all()
    assert audited == [f"order:{order_id} dined_in lunch dish:{ids['dish']} regular"]
    # Now she has her lunch: a second walk-in for it is refused.
    again = client.post("/api/v1/counter/walk-in", json=_body(ids), headers=_headers(client))
    assert again.status_code == 409
    # The counter lists her meal, served.
    meals = client.get("/api/v1/counter", params={"elder_id": ids["walker"]}).json()["meals"]
    assert [(m["order_id"], m["status"]) for m in meals] == [(order_id, "dined_in")]


def test_a_walk_in_may_take_her_meal_away(walk_in):
    client, _, _, ids = walk_in
    served = client.post(
        "/api/v1/counter/walk-in", json=_body(ids, mode="pickup"), headers=_headers(client)
    )
    assert served.status_code == 200 and served.json()["status"] == "picked_up"


@pytest.mark.parametrize(
    ("case", "status", "code", "words"),
    [
        ("inactive", 400, "elder_inactive", "林美华"),
        ("paused", 400, "elder_paused", "周国平"),
        ("already", 409, "already_ordered", "陈桂英"),
        ("not_on_menu", 400, "not_on_menu", "菜单"),
        ("other_variant", 400, "not_on_menu", "菜单"),
        ("diet", 400, None, "黄志强"),
        ("meal_over", 409, "meal_over", "12:30"),
        ("dinner_still_open", 409, "still_orderable", "15:00"),
        ("delivery", 422, None, ""),
    ],
)
def test_walk_in_refusals_say_why_and_write_nothing(walk_in, case, status, code, words):
    client, database, clock, ids = walk_in
    if case == "meal_over":
        # Lunch is served until 12:30 at this site (a new login: the old one has gone idle).
        clock.set(datetime(2026, 11, 25, 12, 30, tzinfo=SHANGHAI))
        assert log_in(client, ids["canteen"]).status_code == 303
    headers = _headers(client)
    body = {
        "inactive": _body(ids, elder_id=ids["gone"]),
        "paused": _body(ids, elder_id=ids["away"]),
        "already": _body(ids, elder_id=ids["ordered_elder"]),
        "not_on_menu": _body(ids, dish_id=ids["other_dish"]),
        "other_variant": _body(ids, variant="no_such_style"),
        "diet": _body(ids, dish_id=ids["fish"]),
        "meal_over": _body(ids),
        # Dinner's orders close at 15:00: before that she orders it as anyone does.
        "dinner_still_open": _body(ids, slot="dinner"),
        "delivery": _body(ids, mode="delivery"),
    }[case]
    with database.reading() as session:
        before = row_counts(session)
    refused = client.post("/api/v1/counter/walk-in", json=body, headers=headers)
    assert refused.status_code == status, refused.text
    if code:
        assert refused.json()["error"] == code
    assert words in refused.json()["message"] and "Traceback" not in refused.text
    with database.reading() as session:
        after = row_counts(session)
    assert {k: v for k, v in after.items() if v != before[k]} == {}


def test_a_walk_in_at_another_sites_counter_is_refused(walk_in):
    client, database, _, ids = walk_in
    with database.reading() as session:
        before = session.exec(select(func.count()).select_from(Order)).one()
    refused = client.post(
        "/api/v1/counter/walk-in",
        json=_body(ids, site_id=ids["other_site"], dish_id=ids["other_dish"]),
        headers=_headers(client),
    )
    assert refused.status_code == 403
    with database.reading() as session:
        assert session.exec(select(func.count()).select_from(Order)).one() == before


def test_the_cutoff_is_relaxed_only_for_a_walk_in(walk_in):
    _, database, clock, ids = walk_in
    with database.transaction() as session, pytest.raises(CutoffPassed):
        ordering.place_order(
            session=session,
            clock=clock,
            settings=SETTINGS,
            elder_id=ids["walker"],
            site_id=ids["site"],
            service_date=clock.now().date(),
            slot=Slot.lunch,
            dish_id=ids["dish"],
            variant="regular",
            mode=ServiceMode.dine_in,
            idempotency_key="late-by-chat",
        )
    with database.reading() as session:
        assert not session.exec(select(Order).where(col(Order.elder_id) == ids["walker"])).all()


def test_the_walk_in_page_finds_the_elder_and_offers_what_she_can_eat(walk_in):
    client, database, _, ids = walk_in
    found = client.get("/counter/walk-in", params={"q": "志强", "lang": "zh_CN"})
    assert found.status_code == 200 and "黄志强" in found.text
    assert f"elder_id={ids['walker']}" in found.text
    dishes = client.get(
        "/counter/walk-in", params={"elder_id": ids["walker"], "site_id": ids["site"]}
    ).text
    assert f'name="dish_id" value="{ids["dish"]}"' in dishes
    assert f'name="dish_id" value="{ids["fish"]}"' not in dishes  # she is allergic to fish
    # Lunch only: dinner is still open for orders, so it is not served to walk-ins yet.
    assert 'name="slot" value="lunch"' in dishes and 'name="slot" value="dinner"' not in dishes
    served = client.post(
        "/counter/walk-in",
        data={
            "csrf_token": csrf_from(dishes),
            "site_id": ids["site"],
            "elder_id": ids["walker"],
            "dish_id": ids["dish"],
            "variant": "regular",
            "slot": "lunch",
            "mode": "dine_in",
        },
        follow_redirects=False,
    )
    assert served.status_code == 303
    assert served.headers["location"].startswith(f"/counter?elder_id={ids['walker']}&served=")
    with database.reading() as session:
        order = session.exec(select(Order).where(Order.elder_id == ids["walker"])).one()
    assert order.status == OrderStatus.dined_in and order.source == OrderSource.counter


def test_the_walk_in_page_offers_her_own_order_when_she_has_one(walk_in):
    client, database, _, ids = walk_in
    form = client.get(
        "/counter/walk-in", params={"elder_id": ids["ordered_elder"], "site_id": ids["site"]}
    ).text
    with database.reading() as session:
        before = row_counts(session)
    refused = client.post(
        "/counter/walk-in?lang=zh_CN",
        data={
            "csrf_token": csrf_from(form),
            "site_id": ids["site"],
            "elder_id": ids["ordered_elder"],
            "dish_id": ids["dish"],
            "variant": "regular",
            "slot": "lunch",
        },
    )
    assert refused.status_code == 409 and "陈桂英" in refused.text
    assert f'href="/counter?elder_id={ids["ordered_elder"]}"' in refused.text
    with database.reading() as session:
        assert row_counts(session) == before


def test_a_walk_in_taken_back_is_withdrawn_and_she_can_be_served_again(walk_in):
    """The canteen served the wrong dish (or the wrong elder) and takes the mark back: a walk-in
    exists only because she was served, so it is withdrawn (not left waiting for a meal nobody
    ordered, holding her subsidy), and she can be served again with the right dish."""
    from billing.models import Reservation, ReservationStatus

    client, database, _, ids = walk_in
    headers = _headers(client)
    wrong = client.post("/api/v1/counter/walk-in", json=_body(ids), headers=headers)
    assert wrong.status_code == 200, wrong.text
    first = wrong.json()["order_id"]
    undone = client.post(f"/api/v1/counter/orders/{first}/undo", headers=headers)
    assert undone.status_code == 200, undone.text
    assert (undone.json()["status"], undone.json()["was"]) == ("cancelled", "dined_in")
    with database.reading() as session:
        order = session.get(Order, first)
        assert order.status == OrderStatus.cancelled and order.cancelled_at is not None
        held = session.exec(
            select(Reservation).where(
                Reservation.order_id == first, Reservation.status == ReservationStatus.reserved
            )
        ).all()
        assert held == []  # her subsidy is free again
        # The ledger's entries for the meal are reversed: they sum to nothing.
        assert (
            session.exec(
                select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
                    LedgerEntry.order_id == first
                )
            ).one()
            == 0
        )
    meals = client.get("/api/v1/counter", params={"elder_id": ids["walker"]}).json()["meals"]
    assert [m for m in meals if m["status"] == "locked"] == []  # nothing waits for her
    # The counter page says so (the page's undo comes back to it with ?undone=).
    shown = client.get("/counter", params={"undone": first}, headers={"accept-language": "zh-CN"})
    assert "这份临时就餐已取消" in shown.text and "恢复为待发放" not in shown.text
    right = client.post(
        "/api/v1/counter/walk-in", json=_body(ids, variant="regular"), headers=headers
    )
    assert right.status_code == 200, right.text
    assert right.json()["order_id"] != first and right.json()["status"] == "dined_in"
