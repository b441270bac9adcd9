"""The canteen counter over HTTP: canteen staff see today's dine-in and pick-up meals at their
own site, find an elder by name or phone digits, mark a meal served once (a second tap, or the
same mark sent again, counts once), and mark the rest not collected when the meal is over;
every mark goes through the outcome use case, so the ledger has the meal like any delivery."""

import io
from datetime import datetime

import pytest
import segno
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from billing.models import LedgerEntry
from core.audit import AuditEntry
from core.clock import FixedClock
from core.models import Order, WelfareAlert
from core.types import OrderStatus, ServiceMode
from tests.apps import web_app
from tests.cards import blank_photo, card_photo
from tests.conftest import SHANGHAI, row_counts
from tests.factories import Factory, closed_lunch, csrf_from, log_in, make_staff
from usecases.meal_cards import reissue_card


@pytest.fixture
def counter(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, _ = make.world()
        other_site, other_dishes, _ = make.world()

        dine_in, pickup, delivery = closed_lunch(
            make,
            site,
            dishes[0],
            [
                ("陈桂英", "13800001234", ServiceMode.dine_in),
                ("黄志强", "13900005678", ServiceMode.pickup),
                ("林美华", None, ServiceMode.delivery),
            ],
        )
        (elsewhere,) = closed_lunch(
            make, other_site, other_dishes[0], [("周国平", None, ServiceMode.dine_in)]
        )
        ids = {
            "dine_in": dine_in,
            "pickup": pickup,
            "delivery": delivery,
            "elsewhere": elsewhere,
            "site": site.id,
            "canteen": make_staff(make, "canteen", site_ids=[site.id]).username,
        }
    clock.set(datetime(2026, 11, 25, 11, 40, tzinfo=SHANGHAI))
    app = web_app(database=empty_database, clock=clock)
    client = TestClient(app)
    assert log_in(client, ids["canteen"]).status_code == 303
    with client:
        yield client, empty_database, ids


def _json(client: TestClient) -> dict:
    return {"x-csrf-token": csrf_from(client.get("/counter").text)}


def test_the_counter_lists_its_own_sites_dine_in_and_pick_up_meals(counter):
    client, _, ids = counter
    meals = client.get("/api/v1/counter").json()["meals"]
    assert {m["order_id"] for m in meals} == {ids["dine_in"], ids["pickup"]}
    assert {m["status"] for m in meals} == {"locked"}
    by_digits = client.get("/api/v1/counter", params={"q": "1234"}).json()["meals"]
    assert [(m["elder"], m["phone_tail"]) for m in by_digits] == [("陈桂英", "1234")]
    by_name = client.get("/api/v1/counter", params={"q": "志强"}).json()["meals"]
    assert [m["order_id"] for m in by_name] == [ids["pickup"]]
    page = client.get("/counter?lang=zh_CN").text
    assert "陈桂英" in page and "确认就餐" in page and "确认领取" in page
    assert "13800001234" not in page  # the last four digits only
    # Another site's counter is not this person's.
    assert client.get("/api/v1/counter", params={"site_id": 999}).status_code == 403


def test_a_meal_is_marked_served_once_and_posted_like_a_delivery(counter):
    client, database, ids = counter
    headers = _json(client)
    first = client.post(f"/api/v1/counter/orders/{ids['dine_in']}/serve", headers=headers)
    assert first.status_code == 200 and first.json()["status"] == "dined_in"
    with database.reading() as session:
        posted = session.exec(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.order_id == ids["dine_in"])
        ).one()
    assert posted > 0  # the four contributions are in the ledger, as for a delivered meal
    again = client.post(f"/api/v1/counter/orders/{ids['dine_in']}/serve", headers=headers)
    assert again.status_code == 200 and again.json()["status"] == "dined_in"
    collected = client.post(f"/api/v1/counter/orders/{ids['pickup']}/serve", headers=headers)
    assert collected.json()["status"] == "picked_up"
    with database.reading() as session:
        assert (
            session.exec(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.order_id == ids["dine_in"])
            ).one()
            == posted
        )
        served = session.exec(
            select(AuditEntry.detail).where(AuditEntry.action == "counter_served")
        ).all()
    assert served == [f"order:{ids['dine_in']} dined_in", f"order:{ids['pickup']} picked_up"]
    page = client.get("/counter?lang=zh_CN").text
    assert "确认就餐" not in page and "已堂食" in page  # served: no button, its state


def test_other_sites_and_delivered_meals_are_refused_and_change_nothing(counter):
    client, database, ids = counter
    headers = _json(client)
    with database.reading() as session:
        before = row_counts(session)
    elsewhere = client.post(f"/api/v1/counter/orders/{ids['elsewhere']}/serve", headers=headers)
    assert elsewhere.status_code == 403
    delivery = client.post(
        f"/api/v1/counter/orders/{ids['delivery']}/serve",
        headers={**headers, "accept-language": "zh-CN"},
    )
    assert delivery.status_code == 409 and "Traceback" not in delivery.text
    assert client.post("/api/v1/counter/orders/987654/serve", headers=headers).status_code == 404
    bad = client.post(
        "/api/v1/counter/not-collected?lang=zh_CN",
        json={"site_id": ids["site"], "slot": "brunch"},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["message"]
    with database.reading() as session:
        after = row_counts(session)
    # Only the audit log grew (who looked at the counter).
    assert {k: v for k, v in after.items() if v != before[k]}.keys() <= {"audit_entry"}


def test_the_rest_are_marked_not_collected_when_the_meal_is_over(counter):
    client, database, ids = counter
    headers = _json(client)
    client.post(f"/api/v1/counter/orders/{ids['dine_in']}/serve", headers=headers)
    over = client.post(
        "/api/v1/counter/not-collected",
        json={"site_id": ids["site"], "slot": "lunch"},
        headers=headers,
    )
    assert over.status_code == 200 and over.json() == {"marked": 1}
    with database.reading() as session:
        statuses = {o.id: o.status for o in session.exec(select(Order))}
        alerts = session.exec(select(func.count()).select_from(WelfareAlert)).one()
    assert statuses[ids["dine_in"]] == OrderStatus.dined_in
    assert statuses[ids["pickup"]] == OrderStatus.no_answer
    assert statuses[ids["delivery"]] == OrderStatus.locked  # the rider's, not the counter's
    assert statuses[ids["elsewhere"]] == OrderStatus.locked
    assert alerts == 0  # a meal not collected is not a door nobody answered
    page = client.post(
        "/counter/not-collected",
        data={"site_id": ids["site"], "slot": "lunch", "csrf_token": headers["x-csrf-token"]},
        follow_redirects=False,
    )
    assert page.status_code == 303 and page.headers["location"] == "/counter?marked=0"


def test_the_four_digits_the_counter_shows_spend_no_search_budget(counter):
    """A diner says the last four digits of her phone; the list shows them anyway. Longer
    searches (which could walk along the hidden digits) spend the budget."""
    client, _, _ = counter
    state = client.app.state
    state.settings = state.settings.model_copy(update={"phone_searches_per_hour": 2})
    for _ in range(5):
        found = client.get("/api/v1/counter", params={"q": "5678"})
        assert found.status_code == 200 and len(found.json()["meals"]) == 1
    longer = [client.get("/api/v1/counter", params={"q": "05678"}) for _ in range(3)]
    assert [r.status_code for r in longer] == [200, 200, 429]


def test_phone_digits_find_the_end_of_a_number_and_each_search_is_recorded(counter):
    """The counter shows a phone's last four digits; it finds by the end of the number only,
    so a search cannot be walked along the hidden middle digits, and each search is in the
    audit log without its digits."""
    client, database, ids = counter
    by_end = client.get("/api/v1/counter", params={"q": "5678"}).json()["meals"]
    assert [m["order_id"] for m in by_end] == [ids["pickup"]]
    whole = client.get("/api/v1/counter", params={"q": "139 0000 5678"}).json()["meals"]
    assert [m["order_id"] for m in whole] == [ids["pickup"]]
    middle = client.get("/api/v1/counter", params={"q": "0000"}).json()["meals"]
    assert middle == []  # 0000 is in both numbers, but ends neither
    few = client.get("/api/v1/counter", params={"q": "678", "lang": "en"})
    assert few.status_code == 422 and "at least 4 digits" in few.json()["message"]
    page = client.get("/counter?q=67&lang=en", headers={"accept": "text/html"})
    assert page.status_code == 422 and "at least 4 digits" in page.text
    with database.reading() as session:
        searches = session.exec(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail)
            .where(col(AuditEntry.action).in_(["phone_search", "phone_search_shown"]))
            .order_by(AuditEntry.seq)
        ).all()
        elder = session.get(Order, ids["pickup"]).elder_id
    actor = f"staff:{ids['canteen']}"
    # Four digits are what the list shows: recorded apart, spending no search budget.
    assert [tuple(s) for s in searches] == [
        (actor, "phone_search_shown", f"4 digits, 1 found: elder:{elder}"),
        (actor, "phone_search", f"11 digits, 1 found: elder:{elder}"),
        (actor, "phone_search_shown", "4 digits, 0 found"),
    ]


# -- meal cards at the counter ------------------------------------------------------------------


def _elder_of(database, order_id: int) -> int:
    with database.reading() as session:
        return session.get(Order, order_id).elder_id


def _scan(client: TestClient, headers: dict, photo: bytes, **extra):
    files = {"photo": ("card.jpg", photo, "image/jpeg")}
    return client.post("/api/v1/counter/scan", files=files, headers={**headers, **extra})


def test_a_card_photo_finds_her_meal_and_the_same_card_again_counts_once(counter):
    client, database, ids = counter
    headers = _json(client)
    elder = _elder_of(database, ids["dine_in"])
    photo = card_photo(database, elder)
    scanned = _scan(client, headers, photo)
    assert scanned.status_code == 200, scanned.text
    body = scanned.json()
    assert body["elder_id"] == elder and body["elder"] == "陈桂英"
    assert [m["order_id"] for m in body["meals"]] == [ids["dine_in"]]
    assert body["all_served"] is False
    served = client.post(f"/api/v1/counter/orders/{ids['dine_in']}/serve", headers=headers)
    assert served.json() == {
        "order_id": ids["dine_in"],
        "status": "dined_in",
        "already_served": False,
    }
    with database.reading() as session:
        posted = session.exec(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.order_id == ids["dine_in"])
        ).one()
    # The same card again in the same meal: her meal shows served, and a second tap counts once.
    again = _scan(client, headers, photo).json()
    assert again["all_served"] is True and again["meals"][0]["status"] == "dined_in"
    twice = client.post(f"/api/v1/counter/orders/{ids['dine_in']}/serve", headers=headers)
    assert twice.json()["already_served"] is True
    with database.reading() as session:
        assert (
            session.exec(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.order_id == ids["dine_in"])
            ).one()
            == posted
        )
        scans = session.exec(
            select(AuditEntry.actor, AuditEntry.subject, AuditEntry.detail)
            .where(AuditEntry.action == "counter_scan")
            .order_by(AuditEntry.seq)
        ).all()
    actor = f"staff:{ids['canteen']}"
    assert [tuple(s) for s in scans] == [
        (actor, f"elder:{elder}", f"card:1 order:{ids['dine_in']}"),
        (actor, f"elder:{elder}", f"card:1 order:{ids['dine_in']}"),
    ]


def test_cards_that_will_not_do_are_refused_in_her_language_and_record_nothing(counter):
    client, database, ids = counter
    headers = _json(client)
    elsewhere = card_photo(database, _elder_of(database, ids["elsewhere"]))
    delivered = card_photo(database, _elder_of(database, ids["delivery"]))
    replaced_elder = _elder_of(database, ids["pickup"])
    replaced = card_photo(database, replaced_elder)
    with database.transaction() as session:
        reissue_card(
            session=session,
            clock=FixedClock(datetime(2026, 11, 25, 11, 0, tzinfo=SHANGHAI)),
            actor="staff:test",
            elder_id=replaced_elder,
        )
    forged = io.BytesIO()
    segno.make(f"MC1.{replaced_elder}.2.{'A' * 20}", error="m").save(forged, kind="png", scale=8)
    label = io.BytesIO()
    segno.make("https://meals.example.org/r/1", error="m").save(label, kind="png", scale=8)
    with database.reading() as session:
        before = row_counts(session)
    cases = [
        (elsewhere, 404, "no_meal_here_today", "今天在本柜台没有订餐"),
        (delivered, 404, "no_meal_here_today", "今天在本柜台没有订餐"),  # a rider's meal
        (replaced, 409, "card_replaced", "已停用"),
        (forged.getvalue(), 404, "card_unknown", "不是本项目的助餐卡"),
        (label.getvalue(), 404, "card_unknown", "不是本项目的助餐卡"),
        (blank_photo(), 422, "card_unreadable", "读不出助餐卡"),
        (b"GIF89a not really", 422, "card_unreadable", "读不出助餐卡"),
    ]
    for photo, status, code, words in cases:
        refused = _scan(client, headers, photo, **{"accept-language": "zh-CN"})
        assert refused.status_code == status, (code, refused.text)
        assert refused.json()["error"] == code and words in refused.json()["message"]
    english = _scan(client, headers, replaced, **{"accept-language": "en"})
    assert "replaced by a new one" in english.json()["message"]
    with database.reading() as session:
        after = row_counts(session)
    assert after == before  # no scan, no meal, nothing


def test_the_counter_page_reads_a_card_and_shows_her_meal(counter):
    client, database, ids = counter
    token = _json(client)["x-csrf-token"]
    elder = _elder_of(database, ids["pickup"])
    read = client.post(
        "/counter/scan",
        data={"csrf_token": token},
        files={"photo": ("card.jpg", card_photo(database, elder), "image/jpeg")},
        follow_redirects=False,
    )
    assert read.status_code == 303 and read.headers["location"] == (
        f"/counter?elder_id={elder}&scanned=1"
    )
    page = client.get(read.headers["location"] + "&lang=zh_CN").text
    assert "黄志强" in page and "陈桂英" not in page and "确认领取" in page
    served = client.post(
        f"/counter/orders/{ids['pickup']}/serve",
        data={"csrf_token": token, "back": f"/counter?elder_id={elder}"},
        follow_redirects=False,
    )
    assert served.headers["location"] == f"/counter?elder_id={elder}&served={ids['pickup']}"
    again = client.post(
        f"/counter/orders/{ids['pickup']}/serve",
        data={"csrf_token": token, "back": f"/counter?elder_id={elder}"},
        follow_redirects=False,
    )
    assert again.headers["location"] == f"/counter?elder_id={elder}&already={ids['pickup']}"
    assert "已发放过" in client.get(again.headers["location"] + "&lang=zh_CN").text
    assert "已发放过" in client.get(read.headers["location"] + "&lang=zh_CN").text
    # A card that will not do: said above the whole counter, nothing recorded.
    refused = client.post(
        "/counter/scan?lang=zh_CN",
        data={"csrf_token": token},
        files={"photo": ("card.jpg", blank_photo(), "image/jpeg")},
    )
    assert refused.status_code == 422 and "读不出助餐卡" in refused.text
    assert "陈桂英" in refused.text


def _undo_entries(database) -> list[str]:
    with database.reading() as session:
        return list(
            session.exec(select(AuditEntry.detail).where(AuditEntry.action == "outcome_undone"))
        )


def test_a_mark_is_taken_back_within_minutes_and_refused_after_in_her_language(counter):
    """Served by mistake: the one who marked it takes it back for five minutes (the meal waits
    again and its ledger entries are reversed); later it is refused, saying why, and nothing
    changes."""
    client, database, ids = counter
    headers = _json(client)
    client.post(f"/api/v1/counter/orders/{ids['dine_in']}/serve", headers=headers)
    listed = client.get("/api/v1/counter").json()["meals"]
    until = next(m["undo_until"] for m in listed if m["order_id"] == ids["dine_in"])
    assert until is not None and datetime.fromisoformat(until) == datetime(
        2026, 11, 25, 11, 45, tzinfo=SHANGHAI
    )
    page = client.get("/counter?lang=zh_CN").text
    assert "撤销" in page and "11:45 前" in page
    undone = client.post(f"/api/v1/counter/orders/{ids['dine_in']}/undo", headers=headers)
    assert undone.status_code == 200
    assert undone.json() == {"order_id": ids["dine_in"], "status": "locked", "was": "dined_in"}
    with database.reading() as session:
        net = session.exec(
            select(func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.order_id == ids["dine_in"])
        ).one()
    assert net == 0
    assert _undo_entries(database) == [f"order:{ids['dine_in']} dined_in"]
    # Nothing left to take back; served again, and too late to take back after five minutes.
    nothing = client.post(f"/api/v1/counter/orders/{ids['dine_in']}/undo", headers=headers)
    assert nothing.status_code == 409 and nothing.json()["error"] == "nothing_to_undo"
    client.post(f"/api/v1/counter/orders/{ids['dine_in']}/serve", headers=headers)
    client.app.state.clock.set(datetime(2026, 11, 25, 11, 46, tzinfo=SHANGHAI))
    with database.reading() as session:
        before = row_counts(session)
    late = client.post(
        f"/api/v1/counter/orders/{ids['dine_in']}/undo",
        headers={**headers, "accept-language": "zh-CN"},
    )
    assert late.status_code == 409 and late.json()["error"] == "undo_too_late"
    assert "11:40" in late.json()["message"] and "5 分钟" in late.json()["message"]
    page = client.post(
        f"/counter/orders/{ids['dine_in']}/undo?lang=zh_CN",
        data={"csrf_token": headers["x-csrf-token"], "back": "/counter?q=1234"},
    )
    assert page.status_code == 409 and "5 分钟" in page.text and "陈桂英" in page.text
    with database.reading() as session:
        after = row_counts(session)
    assert {k for k, v in after.items() if v != before[k]} <= {"audit_entry"}
    assert "撤销" not in client.get("/counter?lang=zh_CN").text


def test_the_undo_window_is_the_apps_settings(counter):
    """An app whose settings give 15 minutes to take a mark back: the counter shows it, and a
    mark ten minutes old is still taken back (the built-in five would refuse it)."""
    client, _, ids = counter
    state = client.app.state
    state.settings = state.settings.model_copy(update={"undo_minutes": 15})
    headers = _json(client)
    client.post(f"/api/v1/counter/orders/{ids['dine_in']}/serve", headers=headers)
    listed = client.get("/api/v1/counter").json()["meals"]
    until = next(m["undo_until"] for m in listed if m["order_id"] == ids["dine_in"])
    assert datetime.fromisoformat(until) == datetime(2026, 11, 25, 11, 55, tzinfo=SHANGHAI)
    state.clock.set(datetime(2026, 11, 25, 11, 50, tzinfo=SHANGHAI))
    assert "11:55 前" in client.get("/counter?lang=zh_CN").text
    undone = client.post(f"/api/v1/counter/orders/{ids['dine_in']}/undo", headers=headers)
    assert undone.status_code == 200 and undone.json()["was"] == "dined_in"


def test_only_the_one_who_marked_it_or_the_admin_takes_a_mark_back(counter):
    client, database, ids = counter
    headers = _json(client)
    client.post(f"/api/v1/counter/orders/{ids['pickup']}/serve", headers=headers)
    with database.transaction() as session:
        colleague = make_staff(
            Factory(session, client.app.state.clock), "canteen", site_ids=[ids["site"]]
        ).username
        admin = make_staff(Factory(session, client.app.state.clock), "admin").username
    other = TestClient(client.app)
    log_in(other, colleague)
    refused = other.post(
        f"/api/v1/counter/orders/{ids['pickup']}/undo",
        headers={"x-csrf-token": csrf_from(other.get("/counter").text)},
    )
    assert refused.status_code == 403 and refused.json()["error"] == "mark_not_yours"
    assert "撤销" not in other.get("/counter?lang=zh_CN").text
    boss = TestClient(client.app)
    log_in(boss, admin)
    taken = boss.post(
        f"/api/v1/counter/orders/{ids['pickup']}/undo",
        headers={"x-csrf-token": csrf_from(boss.get("/counter").text)},
    )
    assert taken.status_code == 200 and taken.json()["was"] == "picked_up"


def test_a_mark_sent_again_under_its_key_counts_once(counter):
    """The page lost its connection after sending: it sends the mark again under the same key.
    Even after the mark was taken back in between, the meal is not served a second time; the
    answer is the first one. Not collected sent twice marks the rest once."""
    client, database, ids = counter
    headers = _json(client)
    serve = f"/api/v1/counter/orders/{ids['dine_in']}/serve"
    first = client.post(serve, headers={**headers, "Idempotency-Key": "k-serve-0001"})
    assert first.json() == {
        "order_id": ids["dine_in"],
        "status": "dined_in",
        "already_served": False,
    }
    client.post(
        f"/api/v1/counter/orders/{ids['dine_in']}/undo",
        headers={**headers, "Idempotency-Key": "k-undo-0001"},
    )
    again = client.post(serve, headers={**headers, "Idempotency-Key": "k-serve-0001"})
    assert again.status_code == 200 and again.json()["already_served"] is True
    undo_again = client.post(
        f"/api/v1/counter/orders/{ids['dine_in']}/undo",
        headers={**headers, "Idempotency-Key": "k-undo-0001"},
    )
    assert undo_again.status_code == 200 and undo_again.json()["status"] == "locked"
    with database.reading() as session:
        assert session.get(Order, ids["dine_in"]).status == OrderStatus.locked
    # The page's form carries its key the same way.
    form = {"csrf_token": headers["x-csrf-token"], "back": "/counter", "mark_key": "k-form-0001"}
    for _ in range(2):
        client.post(f"/counter/orders/{ids['pickup']}/serve", data=form)
    body = {"site_id": ids["site"], "slot": "lunch"}
    over = [
        client.post(
            "/api/v1/counter/not-collected",
            json=body,
            headers={**headers, "Idempotency-Key": "k-over-0001"},
        ).json()
        for _ in range(2)
    ]
    assert over == [{"marked": 1}, {"marked": 1}]
    with database.reading() as session:
        served = session.exec(
            select(AuditEntry.detail).where(AuditEntry.action == "counter_served")
        ).all()
    assert served == [f"order:{ids['dine_in']} dined_in", f"order:{ids['pickup']} picked_up"]
    # A key is a UUID-like string: anything else is refused and changes nothing.
    bad = client.post(serve, headers={**headers, "Idempotency-Key": "<script>"})
    assert bad.status_code == 422
