"""The orders board and phone-in orders over HTTP: each role sees its own part of the day,
without phone numbers; staff order for elders through the same rules as the chat; a refusal is
shown on the form and writes nothing; a double submit makes one order."""

import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from billing.models import Charge
from core.audit import AuditEntry
from core.clock import FixedClock
from core.elders import pause_elder
from core.models import Elder, Menu, MenuItem, Order, Site
from core.orders import cancel_order, place_order
from core.types import OrderSource, OrderStatus, Slot
from tests.apps import web_app
from tests.conftest import SHANGHAI, row_counts
from tests.factories import ORDER_LIMITS, SETTINGS, Factory, csrf_from, log_in, make_staff


@pytest.fixture
def world(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, elder = make.world()
        # A second site and community, cooked for by another kitchen.
        kitchen = make.site()
        other_site, other_dishes, stranger = make.world()
        other_site.kitchen_id = kitchen.id
        site.kitchen_id = site.id
        session.add_all([site, other_site])
        fish_averse = make.elder(site, allergies=["fish"], name="不吃鱼")
        place_order(
            session=session,
            clock=clock,
            elder_id=stranger.id,
            site_id=other_site.id,
            service_date=make.today,
            slot=Slot.lunch,
            dish_id=other_dishes[0].id,
            variant="regular",
            idempotency_key="stranger-lunch",
            **ORDER_LIMITS,
        )

        def item(dish, variant="regular", slot="lunch", day=make.today):
            return session.exec(
                select(MenuItem.id)
                .join(Menu)
                .where(
                    MenuItem.dish_id == dish.id,
                    MenuItem.variant == variant,
                    Menu.slot == slot,
                    Menu.service_date == day,
                )
            ).one()

        ids = {
            "site": site.id,
            "elder": elder.id,
            "elder_name": elder.name,
            "phone": elder.phone,
            "stranger": stranger.id,
            "other_site": other_site.id,
            "fish_averse": fish_averse.id,
            "lunch": item(dishes[0]),
            "fish_lunch": item(dishes[1]),
            "dinner": item(dishes[0], slot="dinner"),
            "admin": make_staff(make, "admin").username,
            "worker": make_staff(
                make, "community_worker", community_ids=[elder.community_id]
            ).username,
            "kitchen": make_staff(make, "kitchen", kitchen_id=site.id).username,
            "auditor": make_staff(make, "funder_auditor").username,
        }
    app = web_app(database=empty_database, clock=clock)
    yield app, empty_database, clock, ids


def client_for(app, username: str) -> TestClient:
    client = TestClient(app)
    assert log_in(client, username).status_code == 303
    return client


def _phone_in(client, ids, **fields):
    page = client.get("/orders?lang=zh_CN")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)
    data = {
        "csrf_token": csrf_from(page.text),
        "idempotency_key": key,
        "elder_id": str(ids["elder"]),
        "item_id": str(ids["lunch"]),
        "quantity": "1",
        "mode": "",
        "date": "2026-11-25",
        **fields,
    }
    return client.post("/orders/phone-in?lang=zh_CN", data=data, follow_redirects=False), data


def test_a_phone_in_order_goes_through_the_order_and_billing_services_once(world):
    app, database, _clock, ids = world
    with client_for(app, ids["worker"]) as worker:
        placed, data = _phone_in(worker, ids)
        assert placed.status_code == 303, placed.text
        again = worker.post("/orders/phone-in", data=data, follow_redirects=False)
        assert again.status_code == 303  # the double submit shows the same order
        assert again.headers["location"] == placed.headers["location"]
        board = worker.get(placed.headers["location"]).text
        assert (ids["elder_name"] in board and "工作人员" in board) or "staff" in board
    with database.reading() as session:
        orders = session.exec(select(Order).where(Order.elder_id == ids["elder"])).all()
        assert len(orders) == 1
        assert orders[0].source == OrderSource.staff and orders[0].status == OrderStatus.placed
        assert session.get(Charge, orders[0].id) is not None  # the budget was reserved


@pytest.mark.parametrize(
    ("change", "status", "said"),
    [
        ({"elder_id": "fish_averse", "item_id": "fish_lunch"}, 400, "鱼"),
        ({"quantity": "0"}, 422, "份"),
        ({"quantity": "two"}, 422, "份数"),
        ({"idempotency_key": ""}, 422, "请求"),
        ({"item_id": "99999"}, 404, "菜单"),
    ],
)
def test_a_refused_phone_in_order_is_shown_on_the_form_and_writes_nothing(
    world, change, status, said
):
    app, database, _clock, ids = world
    fields = {k: str(ids[v]) if v in ids else v for k, v in change.items()}
    with database.reading() as session:
        before = row_counts(session)
    with client_for(app, ids["admin"]) as admin:
        refused, _ = _phone_in(admin, ids, **fields)
    assert refused.status_code == status, refused.text
    shown = re.findall(r'role="alert"[^>]*>([^<]+)<', refused.text)
    assert shown and said in " ".join(shown)
    with database.reading() as session:
        after = row_counts(session)
    for logged_in in ("audit_entry", "staff_session"):  # the login itself
        after.pop(logged_in, None), before.pop(logged_in, None)
    assert after == before


def test_after_the_cutoff_a_paused_elder_or_a_second_order_is_refused(world):
    app, database, clock, ids = world
    with client_for(app, ids["admin"]) as admin:
        assert _phone_in(admin, ids)[0].status_code == 303
        second, _ = _phone_in(admin, ids, item_id=str(ids["lunch"]))
        assert second.status_code == 409 and "已经" in second.text
        with database.transaction() as session:
            pause_elder(
                session=session,
                elder_id=ids["elder"],
                start_date=clock.now().date(),
                end_date=clock.now().date(),
                reason="住院",
            )
        paused, _ = _phone_in(admin, ids, item_id=str(ids["dinner"]))
        assert paused.status_code == 400 and "暂停" in paused.text
        clock.set(datetime(2026, 11, 25, 9, 45, tzinfo=SHANGHAI))
        assert log_in(admin, ids["admin"]).status_code == 303  # idle since: logged in again
        late, _ = _phone_in(admin, ids, elder_id=str(ids["fish_averse"]))
        assert late.status_code == 409 and "截" in late.text


def test_cancel_before_the_cutoff_and_not_after(world):
    app, database, clock, ids = world
    with client_for(app, ids["admin"]) as admin:
        placed, _ = _phone_in(admin, ids)
        order_id = int(placed.headers["location"].rsplit("-", 1)[1])
        token = csrf_from(admin.get("/orders").text)
        done = admin.post(
            f"/orders/{order_id}/cancel", data={"csrf_token": token}, follow_redirects=False
        )
        assert done.status_code == 303
        again, _ = _phone_in(admin, ids, item_id=str(ids["lunch"]))
        order_id = int(again.headers["location"].rsplit("-", 1)[1])
        clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI))
        assert log_in(admin, ids["admin"]).status_code == 303  # idle since: logged in again
        token = csrf_from(admin.get("/orders").text)
        late = admin.post(f"/orders/{order_id}/cancel?lang=en", data={"csrf_token": token})
        assert late.status_code == 409 and "closed at" in late.text
        headers = {"x-csrf-token": token}
        assert admin.post(f"/api/v1/orders/{order_id}/cancel", headers=headers).status_code == 409
    with database.reading() as session:
        statuses = sorted(
            o.status for o in session.exec(select(Order).where(Order.elder_id == ids["elder"]))
        )
        assert statuses == ["cancelled", "placed"]


def test_each_role_sees_its_own_part_of_the_board_without_phone_numbers(world):
    app, database, _clock, ids = world
    with client_for(app, ids["admin"]) as admin:
        _phone_in(admin, ids)
        everything = admin.get("/api/v1/orders/board").json()
        assert {o["elder_id"] for s in everything["slots"] for o in s["orders"]} == {
            ids["elder"],
            ids["stranger"],
        }
    for who, sees in (("worker", {ids["elder"]}), ("kitchen", {ids["elder"]})):
        with client_for(app, ids[who]) as client:
            body = client.get("/api/v1/orders/board?date=2026-11-25")
            assert {o["elder_id"] for s in body.json()["slots"] for o in s["orders"]} == sees
            page = client.get("/orders").text
            assert ids["phone"] not in page and ids["phone"] not in body.text
            assert "phone-in-form" in page if who == "worker" else "phone-in-form" not in page
    with client_for(app, ids["worker"]) as worker:
        # Not one of the worker's elders: refused as if there were none, nothing written.
        refused, _ = _phone_in(worker, ids, elder_id=str(ids["stranger"]))
        assert refused.status_code == 404
        with database.reading() as session:
            order = session.exec(select(Order).where(Order.elder_id == ids["stranger"])).one()
        token = csrf_from(worker.get("/orders").text)
        assert (
            worker.post(f"/orders/{order.id}/cancel", data={"csrf_token": token}).status_code == 404
        )
    with client_for(app, ids["kitchen"]) as kitchen:
        token = csrf_from(kitchen.get("/orders").text)
        assert (
            kitchen.post("/api/v1/orders", json={}, headers={"x-csrf-token": token}).status_code
            == 403
        )
    with client_for(app, ids["auditor"]) as auditor:
        assert auditor.get("/orders").status_code == 403


def test_phone_in_orders_as_json_with_an_idempotency_key(world):
    app, database, _clock, ids = world
    with client_for(app, ids["worker"]) as worker:
        headers = {"x-csrf-token": csrf_from(worker.get("/orders").text)}
        body = {"elder_id": ids["elder"], "item_id": ids["lunch"], "idempotency_key": "phone-0001"}
        first = worker.post("/api/v1/orders", json=body, headers=headers)
        assert first.status_code == 201, first.text
        again = worker.post("/api/v1/orders", json=body, headers=headers)
        assert again.json()["order_id"] == first.json()["order_id"] and again.json()["duplicate"]
        assert first.json()["total_fen"] == 1500
        bad = worker.post(
            "/api/v1/orders?lang=en",
            json={**body, "idempotency_key": "phone-0002", "quantity": "x"},
            headers=headers,
        )
        assert bad.status_code == 422 and bad.json()["error"] == "invalid_input"
        twice = worker.post(
            "/api/v1/orders?lang=en",
            json={**body, "idempotency_key": "phone-0003"},
            headers=headers,
        )
        assert twice.status_code == 409 and twice.json()["error"] == "already_ordered"
    with database.reading() as session:
        assert len(session.exec(select(Order).where(Order.elder_id == ids["elder"])).all()) == 1
        assert session.get(Elder, ids["elder"]) is not None


@pytest.fixture
def busy_day(world):
    """Seven more lunch orders and two dinners at the first site, one lunch cancelled."""
    app, database, clock, ids = world
    with database.transaction() as session:
        make = Factory(session, clock)
        site = session.get(Site, ids["site"])
        dish = session.get(MenuItem, ids["lunch"]).dish_id
        for n in range(9):
            elder = make.elder(site, name=f"长者{n}")
            order = place_order(
                session=session,
                clock=clock,
                elder_id=elder.id,
                site_id=site.id,
                service_date=make.today,
                slot=Slot.dinner if n >= 7 else Slot.lunch,
                dish_id=dish,
                variant="regular",
                idempotency_key=f"busy-{n}",
                **ORDER_LIMITS,
            )
            if n == 0:
                cancel_order(
                    session=session,
                    clock=clock,
                    order_id=order.id,
                    programme_phone=SETTINGS.programme_phone,
                )
    return app, ids


def _orders_of(body: dict) -> list[int]:
    return [o["order_id"] for s in body["slots"] for o in s["orders"]]


def test_the_board_comes_in_pages_with_the_whole_days_counts(busy_day):
    """A city's day is thousands of orders: the board answers a page at a time, in a stable
    order, while its counts are the whole day's (or the filter's)."""
    app, ids = busy_day
    with client_for(app, ids["admin"]) as admin:
        whole = admin.get("/api/v1/orders/board?date=2026-11-25").json()
        assert whole["total"] == 10 and len(_orders_of(whole)) == 10
        seen = []
        for offset in range(0, 10, 4):
            page = admin.get(f"/api/v1/orders/board?date=2026-11-25&limit=4&offset={offset}")
            body = page.json()
            assert body["total"] == 10 and (body["limit"], body["offset"]) == (4, offset)
            # Every page carries every meal's counts, not only the part shown.
            counts = {(s["site_id"], s["slot"]): s["by_status"] for s in body["slots"]}
            assert counts[(ids["site"], "lunch")] == {"placed": 6, "cancelled": 1}
            assert counts[(ids["site"], "dinner")] == {"placed": 2}
            seen += _orders_of(body)
        assert seen == _orders_of(whole)  # the pages cover the day once, in the same order

        dinners = admin.get("/api/v1/orders/board?date=2026-11-25&slot=dinner").json()
        assert dinners["total"] == 2
        assert {s["slot"] for s in dinners["slots"]} == {"dinner"}
        cancelled = admin.get("/api/v1/orders/board?date=2026-11-25&status=cancelled").json()
        assert cancelled["total"] == 1
        assert [o["elder"] for s in cancelled["slots"] for o in s["orders"]] == ["长者0"]

        for bad in (
            "limit=0",
            "limit=501",
            "offset=-1",
            f"offset={2**63}",
            "slot=brunch",
            "status=eaten",
        ):
            refused = admin.get(f"/api/v1/orders/board?{bad}&lang=zh_CN")
            assert refused.status_code == 422, bad
            assert "Traceback" not in refused.text

        first = admin.get("/orders?date=2026-11-25&limit=4&lang=en").text
        assert "1–4 of 10" in first and "offset=4" in first
        last = admin.get("/orders?date=2026-11-25&limit=4&offset=8&lang=zh_CN").text
        assert "第 9–10 条，共 10 条" in last and "offset=4" in last and "offset=12" not in last
        # The filter form's "All" sends empty values: no filter.
        everything = admin.get("/orders?date=2026-11-25&slot=&status=&lang=en")
        assert everything.status_code == 200 and "1–10 of 10" in everything.text
        only_dinner = admin.get("/orders?date=2026-11-25&slot=dinner&lang=en").text
        assert "长者7" in only_dinner and "长者1<" not in only_dinner


def _elder_options(html: str) -> set[int]:
    """The elders the phone-in form offers to choose from."""
    form = html.split('id="phone-in-form"', 1)[1].split("</form>", 1)[0]
    chooser = form.split('name="elder_id"', 1)[1].split("</select>", 1)[0]
    return {int(n) for n in re.findall(r'<option value="(\d+)"', chooser)}


def test_the_phone_in_form_lists_no_elder_until_a_search_then_only_the_matches(world):
    app, database, _clock, ids = world
    with client_for(app, ids["admin"]) as admin:
        # Search first: no list of every elder (640 names in the demo) to scroll.
        first = admin.get("/orders?lang=zh_CN").text
        assert 'id="phone-in-find"' in first
        assert ids["elder_name"] not in first and "不吃鱼" not in first
        assert 'name="elder_id"' not in first.split('id="phone-in-form"', 1)[1].split("</form>")[0]
        # By name: only her namesakes, the one found already chosen.
        by_name = admin.get("/orders", params={"elder_q": "不吃鱼"}).text
        assert _elder_options(by_name) == {ids["fish_averse"]}
        assert f'<option value="{ids["fish_averse"]}" selected' in by_name
        # By the phone's last digits: the search is checked and recorded as the registry's.
        digits = re.sub(r"\D", "", ids["phone"])[-4:]
        by_phone = admin.get("/orders", params={"elder_q": digits}).text
        assert ids["elder"] in _elder_options(by_phone)
        with database.reading() as session:
            searches = session.exec(
                select(AuditEntry).where(AuditEntry.action.startswith("phone_search"))
            ).all()
        assert [e.subject for e in searches] == ["phone_in"]
        # A refused order (a fish dish for an elder who eats none) keeps the elder chosen,
        # without searching again.
        page = admin.get("/orders", params={"elder_q": "不吃鱼"}).text
        key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
        refused = admin.post(
            "/orders/phone-in?lang=zh_CN",
            data={
                "csrf_token": csrf_from(page),
                "idempotency_key": key,
                "elder_id": str(ids["fish_averse"]),
                "item_id": str(ids["fish_lunch"]),
                "quantity": "1",
                "date": "2026-11-25",
            },
        )
        assert refused.status_code == 400 and "鱼" in refused.text
        assert _elder_options(refused.text) == {ids["fish_averse"]}
        assert f'<option value="{ids["fish_averse"]}" selected' in refused.text


def _refuse_standing_meals(database, clock, ids) -> None:
    """The elder's standing lunch and the stranger's standing dinner (she has ordered lunch),
    each for four, refused by the cutoff's first step (materialising): two portions at most
    now."""
    from core.models import StandingOrder
    from core.standing import materialise_standing_orders
    from tests.factories import CUTOFF_LIMITS

    meals = (
        (ids["elder"], ids["site"], Slot.lunch),
        (ids["stranger"], ids["other_site"], Slot.dinner),
    )
    with database.transaction() as session:
        for elder_id, site_id, slot in meals:
            session.add(
                StandingOrder(
                    elder_id=elder_id,
                    site_id=site_id,
                    slot=slot,
                    weekdays=[1, 2, 3, 4, 5, 6, 7],
                    quantity=4,
                    start_date=clock.now().date(),
                    created_at=clock.now(),
                )
            )
            session.flush()
            materialise_standing_orders(
                session=session,
                clock=clock,
                site_id=site_id,
                service_date=clock.now().date(),
                slot=slot,
                **{**CUTOFF_LIMITS, "max_order_quantity": 2},
            )


def test_staff_see_the_standing_orders_the_cutoff_refused_until_an_order_is_placed(world):
    """Most elders have no chat to hear that their usual lunch was not ordered: staff see it
    on the board and in the JSON API (each role its own part), with the reason in their
    language and a way to order for the elder by phone; once that order is placed the
    refusal shows as handled."""
    app, database, clock, ids = world
    _refuse_standing_meals(database, clock, ids)
    url = "/api/v1/standing-orders/refusals?date=2026-11-25&lang=en"
    with client_for(app, ids["admin"]) as admin:
        body = admin.get(url).json()
        assert body["service_date"] == "2026-11-25"
        assert {r["elder_id"] for r in body["refusals"]} == {ids["elder"], ids["stranger"]}
        mine = next(r for r in body["refusals"] if r["elder_id"] == ids["elder"])
        assert (mine["elder"], mine["slot"], mine["site_id"]) == (
            ids["elder_name"],
            "lunch",
            ids["site"],
        )
        assert (mine["code"], mine["reason"]) == (
            "invalid_quantity",
            "Please choose between 1 and 2 portions.",
        )
        assert (mine["handled"], mine["order_id"]) == (False, None)
        chinese = admin.get(url.replace("lang=en", "lang=zh_CN")).json()["refusals"][0]
        assert "份" in chinese["reason"]
        assert admin.get(url + f"&site_id={ids['site']}").json()["refusals"] == [mine]
        assert admin.get(url + "&slot=lunch").json()["refusals"] == [mine]
        for bad in ("date=someday", "slot=brunch", "site_id=-1"):
            assert admin.get(f"/api/v1/standing-orders/refusals?{bad}").status_code == 422
        page = admin.get("/orders?date=2026-11-25&lang=en").text
        section = page.split('id="standing-refused"', 1)[1].split("</section>", 1)[0]
        assert "Usual meals that could not be ordered" in section
        assert ids["elder_name"] in section and "between 1 and 2 portions" in section
        assert f"/orders?date=2026-11-25&amp;elder_id={ids['elder']}#phone-in-form" in section
        # Her name opens her record: the phone numbers to call her or her family.
        assert f'<a href="/elders/{ids["elder"]}">{ids["elder_name"]}</a>' in section
        # The link opens the phone-in form with the elder chosen, no search spent.
        chosen = admin.get(f"/orders?date=2026-11-25&elder_id={ids['elder']}").text
        assert _elder_options(chosen) == {ids["elder"]}
        zh = admin.get("/orders?date=2026-11-25&lang=zh_CN").text
        assert "未能订上的固定餐" in zh and "份" in zh.split('id="standing-refused"', 1)[1]
        assert "standing-refused" not in admin.get("/orders?date=2026-11-26").text
    for who, sees in (("worker", {ids["elder"]}), ("kitchen", {ids["elder"]})):
        with client_for(app, ids[who]) as client:
            body = client.get(url).json()
            assert {r["elder_id"] for r in body["refusals"]} == sees
            page = client.get("/orders?date=2026-11-25&lang=en").text
            assert ids["elder_name"] in page.split('id="standing-refused"', 1)[1]
            # Kitchen staff do not order by phone, nor see the registry: no links for them.
            assert ("#phone-in-form" in page) == (who == "worker")
            assert (f'href="/elders/{ids["elder"]}"' in page) == (who == "worker")
    with client_for(app, ids["worker"]) as worker:
        placed, _ = _phone_in(worker, ids, quantity="2")
        assert placed.status_code == 303, placed.text
        order_id = int(placed.headers["location"].rsplit("-", 1)[1])
        [handled] = worker.get(url).json()["refusals"]
        assert (handled["handled"], handled["order_id"]) == (True, order_id)
        page = worker.get("/orders?date=2026-11-25&lang=en").text
        section = page.split('id="standing-refused"', 1)[1].split("</section>", 1)[0]
        assert f"Ordered since (order {order_id})" in section and "#phone-in-form" not in section
