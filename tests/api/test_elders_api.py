"""The elders registry and the welfare board over HTTP: a community worker registers and edits
elders of their communities, with every problem shown next to its field in their language and
nothing written; masked lists, full records only on the elder's page, every view and change in
the audit log; family-link codes, links, pauses; alerts closed with their outcome. The JSON twins
do the same."""

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from core.audit import AuditEntry, verify_chain
from core.clock import FixedClock
from core.elders import chat_user_for, link_elder
from core.models import (
    CommunityWorker,
    Elder,
    ElderCategory,
    ElderLink,
    ElderPause,
    EmergencyContact,
    WelfareAlert,
)
from core.orders import place_order
from core.types import LinkRelation, Slot
from core.welfare import raise_alert
from tests.apps import web_app
from tests.conftest import SHANGHAI, row_counts
from tests.factories import (
    ORDER_LIMITS,
    SETTINGS,
    WELFARE_LINE,
    Factory,
    csrf_from,
    log_in,
    make_staff,
)
from usecases.elders import redeem_link_code


@pytest.fixture
def registry(empty_database):
    """Two communities, an elder in each (one with a no-answer alert and a family chat), a worker
    of the first community and the admin."""
    clock = FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        east = make.community(name="东山社区")
        west = make.community(name="西关社区")
        site = make.site(serves=[east, west])
        dish = make.dish()
        make.menu(site, [dish], slot=Slot.dinner)
        li = make.elder(east, name="李秀英", phone="13912345678", address="人民路12号3栋401")
        wang = make.elder(west, name="王秀兰")
        order = place_order(
            session=session,
            clock=clock,
            elder_id=li.id,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.dinner,
            dish_id=dish.id,
            variant="regular",
            idempotency_key="registry-1",
            **ORDER_LIMITS,
        )
        alert = raise_alert(session=session, clock=clock, order=order, by="rider:1", **WELFARE_LINE)
        son = chat_user_for(
            session=session, telegram_user_id=9_990_001, name="李明", language="zh_CN", clock=clock
        )
        link = link_elder(
            session=session,
            chat_user_id=son.id,
            elder_id=li.id,
            relation=LinkRelation.family,
            verified_by="test",
            clock=clock,
        )
        ids = {
            "east": east.id,
            "west": west.id,
            "li": li.id,
            "wang": wang.id,
            "alert": alert.id,
            "link": link.id,
            "worker": make_staff(make, "community_worker", community_ids=[east.id]).username,
            "admin": make_staff(make, "admin").username,
        }
    app = web_app(database=empty_database, clock=clock)
    yield app, empty_database, clock, ids


def browser(app, username: str) -> TestClient:
    client = TestClient(app)
    assert log_in(client, username).status_code == 303
    return client


def new_elder_form(community_id: int, **changes) -> dict:
    form = {
        "name": "周伯",
        "birth_date": "1938-01-02",
        "phone": "139 0000 5555",
        "community_id": str(community_id),
        "address": "中山路8号",
        "lat": "23.13",
        "lon": "113.26",
        "texture": "soft",
        "service_mode": "delivery",
        "language": "zh_CN",
        "diet_needs": ["low_salt"],
        "allergies": ["egg"],
        "categories.0.category": "dibao",
        "categories.0.valid_from": "2026-01-01",
        "categories.0.valid_to": "",
        "categories.1.category": "",
        "categories.1.valid_from": "",
        "categories.1.valid_to": "",
        "emergency_contacts.0.name": "周女",
        "emergency_contacts.0.relation": "女儿",
        "emergency_contacts.0.phone": "13800002222",
        "emergency_contacts.0.priority": "1",
        "consent": "yes",
    }
    form.update(changes)
    return form


def audit_actions(database) -> list[tuple[str, str, str]]:
    with database.reading() as session:
        return [
            (e.action, e.subject, e.detail)
            for e in session.exec(select(AuditEntry).order_by(AuditEntry.seq))
        ]


def field_error(html: str, path: str) -> str:
    """The message shown next to one field."""
    found = re.search(rf'id="error-{re.escape(path.replace(".", "-"))}"[^>]*>([^<]+)<', html)
    assert found, f"no error next to {path}"
    return found.group(1)


def test_a_bad_field_is_shown_next_to_it_in_chinese_and_nothing_is_written(registry):
    app, database, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        token = csrf_from(worker.get("/elders/new?lang=zh_CN").text)
        with database.reading() as session:
            before = row_counts(session)
        bad = worker.post(
            "/elders/new",
            data={
                **new_elder_form(ids["east"], lat="123", birth_date="去年", name="  "),
                "csrf_token": token,
            },
        )
        assert bad.status_code == 422
        assert field_error(bad.text, "lat") == "数字太大了。"
        assert field_error(bad.text, "birth_date") == "需要填写日期，例如 2026-11-25。"
        assert field_error(bad.text, "name") == "太短了。"
        assert "没有保存" in bad.text
        reversed_dates = worker.post(
            "/elders/new",
            data={
                **new_elder_form(ids["east"]),
                "categories.1.category": "tekun",
                "categories.1.valid_from": "2026-05-01",
                "categories.1.valid_to": "2026-04-01",
                "csrf_token": token,
            },
        )
        assert reversed_dates.status_code == 409
        assert field_error(reversed_dates.text, "categories.1.valid_to") == (
            "结束日期不能早于开始日期。"
        )
        assert 'value="123"' in bad.text and 'value="中山路8号"' in bad.text  # kept as typed
        with database.reading() as session:
            after = row_counts(session)
        assert {t: n for t, n in after.items() if t != "audit_entry"} == {
            t: n for t, n in before.items() if t != "audit_entry"
        }
        # Not one of their communities: said next to the community, nothing written.
        elsewhere = worker.post(
            "/elders/new", data={**new_elder_form(ids["west"]), "csrf_token": token}
        )
        assert elsewhere.status_code == 403
        assert field_error(elsewhere.text, "community_id") == "您不负责这个社区。"
        taken = worker.post(
            "/elders/new",
            data={**new_elder_form(ids["east"], phone="139-1234-5678"), "csrf_token": token},
        )
        assert taken.status_code == 409 and "139-1234-5678" in field_error(taken.text, "phone")
        saved = worker.post(
            "/elders/new",
            data={**new_elder_form(ids["east"]), "csrf_token": token},
            follow_redirects=False,
        )
        assert saved.status_code == 303
        elder_id = int(saved.headers["location"].split("/")[2].split("?")[0])
    with database.reading() as session:
        elder = session.get(Elder, elder_id)
        assert (elder.name, elder.texture, elder.allergies, elder.diet_needs) == (
            "周伯",
            "soft",
            ["egg"],
            ["low_salt"],
        )
        assert elder.consent_at is not None
        assert session.exec(
            select(ElderCategory.category).where(ElderCategory.elder_id == elder_id)
        ).all() == ["dibao"]
    assert ("create_elder", f"elder:{elder_id}", "") in audit_actions(database)


def test_the_list_is_masked_the_record_is_full_and_every_view_is_logged(registry):
    app, database, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        listed = worker.get("/elders?q=李&lang=zh_CN").text
        assert "李秀英" in listed and "王秀兰" not in listed
        assert "139****5678" in listed
        assert "13912345678" not in listed and "12号" not in listed
        assert 'href="/elders"' in listed and 'href="/welfare"' in listed  # the nav links
        assert "139****5678" in worker.get("/elders?q=5678").text
        # The search form's "All" sends empty filters.
        blank = worker.get("/elders?q=李&community_id=&category=&status=")
        assert blank.status_code == 200 and "李秀英" in blank.text
        assert worker.get("/elders?community_id=0").status_code == 422
        record = worker.get(f"/elders/{ids['li']}").text
        assert "13912345678" in record and "人民路12号3栋401" in record
        body = worker.get("/api/v1/elders?q=秀").json()
        assert [e["name"] for e in body["elders"]] == ["李秀英"]
        assert body["elders"][0]["phone_masked"] == "139****5678"
        assert "13912345678" not in str(body)
        full = worker.get(f"/api/v1/elders/{ids['li']}").json()
        assert (full["phone"], full["address"]) == ("13912345678", "人民路12号3栋401")
        assert worker.get("/elders?status=gone").status_code == 422
    views = [a for a in audit_actions(database) if a[0] == "view_elder"]
    assert views == [("view_elder", f"elder:{ids['li']}", "")] * 2
    assert not [a for a in audit_actions(database) if "1391234" in "".join(a)]
    with database.reading() as session:
        assert verify_chain(session=session).intact


def test_editing_replaces_categories_and_logs_the_fields_not_the_values(registry):
    app, database, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        form_page = worker.get(f"/elders/{ids['li']}/edit?lang=en").text
        assert 'value="13912345678"' in form_page
        token = csrf_from(form_page)
        form = {
            **new_elder_form(
                ids["east"], name="李秀英", phone="13912345678", address="人民路12号3栋402"
            ),
            "status": "active",
            "csrf_token": token,
        }
        bad = worker.post(
            f"/elders/{ids['li']}/edit",
            data={**form, "emergency_contacts.0.phone": "not a phone", "lon": "east"},
        )
        assert bad.status_code == 422
        assert field_error(bad.text, "emergency_contacts.0.phone") == (
            "this is not in the expected form."
        )
        assert field_error(bad.text, "lon") == "a number is needed."
        moved = worker.post(
            f"/elders/{ids['li']}/edit", data={**form, "community_id": str(ids["west"])}
        )
        assert moved.status_code == 403
        assert field_error(moved.text, "community_id") == "You do not look after this community."
        done = worker.post(f"/elders/{ids['li']}/edit", data=form, follow_redirects=False)
        assert done.status_code == 303
        assert "Saved." in worker.get(done.headers["location"]).text
    with database.reading() as session:
        elder = session.get(Elder, ids["li"])
        assert (elder.address, elder.community_id) == ("人民路12号3栋402", ids["east"])
    (update,) = [a for a in audit_actions(database) if a[0] == "update_elder"]
    assert "address" in update[2] and "categories" in update[2] and "人民路" not in update[2]


def test_a_link_code_is_shown_once_and_links_the_family_chat(registry):
    app, database, clock, ids = registry
    with browser(app, ids["worker"]) as worker:
        token = csrf_from(worker.get(f"/elders/{ids['li']}?lang=zh_CN").text)
        shown = worker.post(f"/elders/{ids['li']}/link-codes", data={"csrf_token": token})
        assert shown.status_code == 200
        code = re.search(r"<code>([A-Z0-9]{4}-[A-Z0-9]{4})</code>", shown.text).group(1)
        assert "我有家属码" in shown.text and "只能使用一次" in shown.text
        assert code not in worker.get(f"/elders/{ids['li']}").text  # never shown again
        again = worker.post(
            f"/api/v1/elders/{ids['li']}/link-codes", headers={"x-csrf-token": token}
        )
        assert again.status_code == 201 and again.json()["code"] != code
    with database.transaction() as session:
        daughter = chat_user_for(
            session=session,
            telegram_user_id=9_990_002,
            name="李嘉欣",
            language="zh_CN",
            clock=clock,
        )
        linked = redeem_link_code(
            session=session, clock=clock, settings=SETTINGS, chat_user_id=daughter.id, code=code
        )
        assert linked.id == ids["li"]
    assert [a for a in audit_actions(database) if a[0] == "issue_link_code"] == [
        ("issue_link_code", f"elder:{ids['li']}", "")
    ] * 2
    # Who got a chat linked to the elder (and so may order for her and hears her alerts).
    assert ("link_chat", f"elder:{ids['li']}", "code") in audit_actions(database)
    assert code not in str(audit_actions(database))


def test_links_are_revoked_and_approved_again(registry):
    app, database, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        token = csrf_from(worker.get(f"/elders/{ids['li']}").text)
        revoked = worker.post(
            f"/elders/{ids['li']}/links/{ids['link']}/revoke",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert revoked.status_code == 303
        with database.reading() as session:
            assert session.get(ElderLink, ids["link"]).revoked_at is not None
        body = worker.post(
            f"/api/v1/elders/{ids['li']}/links/{ids['link']}/approve",
            headers={"x-csrf-token": token},
        ).json()
        assert body["revoked_at"] is None and body["verified_by"].startswith("staff:")
        assert worker.get(f"/api/v1/elders/{ids['li']}/links").json()[0]["name"] == "李明"
        wrong = worker.post(
            f"/api/v1/elders/{ids['li']}/links/987654/revoke", headers={"x-csrf-token": token}
        )
        assert wrong.status_code == 404 and wrong.json()["error"] == "link_not_found"
    actions = [a[0] for a in audit_actions(database)]
    assert "revoke_link" in actions and "approve_link" in actions


def test_meals_are_paused_with_errors_by_the_field_and_the_pause_ended(registry):
    app, database, clock, ids = registry
    today = clock.now().date()
    with browser(app, ids["worker"]) as worker:
        token = csrf_from(worker.get(f"/elders/{ids['li']}?lang=zh_CN").text)
        bad = worker.post(
            f"/elders/{ids['li']}/pauses",
            data={
                "start_date": str(today + timedelta(days=3)),
                "end_date": str(today + timedelta(days=1)),
                "reason": "住院",
                "csrf_token": token,
            },
        )
        assert bad.status_code == 409
        assert field_error(bad.text, "end_date") == "结束日期不能早于开始日期。"
        past = worker.post(
            f"/elders/{ids['li']}/pauses",
            data={
                "start_date": str(today - timedelta(days=1)),
                "end_date": str(today),
                "csrf_token": token,
            },
        )
        assert past.status_code == 409 and field_error(past.text, "start_date")
        with database.reading() as session:
            assert session.exec(select(ElderPause)).all() == []
        made = worker.post(
            f"/elders/{ids['li']}/pauses",
            data={
                "start_date": str(today),
                "end_date": str(today + timedelta(days=6)),
                "reason": "住院",
                "csrf_token": token,
            },
            follow_redirects=False,
        )
        assert made.status_code == 303
        shown = worker.get(made.headers["location"]).text
        assert "已按下列日期暂停用餐" in shown
        assert "本期间已取消的订单：1。" in shown  # today's dinner, still before its cutoff
        (pause,) = worker.get(f"/api/v1/elders/{ids['li']}/pauses").json()
        overlap = worker.post(
            f"/api/v1/elders/{ids['li']}/pauses",
            json={
                "start_date": str(today + timedelta(days=2)),
                "end_date": str(today + timedelta(days=9)),
            },
            headers={"x-csrf-token": token},
        )
        assert overlap.status_code == 409 and overlap.json()["field"] == "start_date"
        ended = worker.post(
            f"/elders/{ids['li']}/pauses/{pause['id']}/end",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert ended.status_code == 303 and "pause-cancelled" in ended.headers["location"]
    with database.reading() as session:
        assert session.exec(select(ElderPause)).all() == []
    actions = [a for a in audit_actions(database) if a[0] in ("pause_meals", "end_pause")]
    assert [a[0] for a in actions] == ["pause_meals", "end_pause"]
    assert "住院" not in str(actions)  # the reason may be about health


def test_the_json_api_registers_and_changes_an_elder_and_names_a_bad_field(registry):
    app, database, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        token = csrf_from(worker.get("/elders").text)
        headers = {"x-csrf-token": token, "accept-language": "en"}
        values = {
            "name": "周伯",
            "address": "中山路8号",
            "lat": 23.13,
            "lon": 113.26,
            "community_id": ids["east"],
            "birth_date": "1938-01-02",
            "categories": [
                {"category": "dibao", "valid_from": "2026-05-01", "valid_to": "2026-04-01"}
            ],
        }
        with database.reading() as session:
            elders = session.execute(sa.select(sa.func.count()).select_from(Elder)).scalar_one()
        bad = worker.post("/api/v1/elders", json=values, headers=headers)
        assert bad.status_code == 409
        assert bad.json()["field"] == "categories.0.valid_to"
        assert "end date must not be before the start date" in bad.json()["message"]
        wrong_place = worker.post(
            "/api/v1/elders", json={**values, "community_id": ids["west"]}, headers=headers
        )
        assert wrong_place.status_code in (403, 422)
        values["categories"][0]["valid_to"] = None
        with database.reading() as session:
            assert (
                session.execute(sa.select(sa.func.count()).select_from(Elder)).scalar_one()
                == elders
            )
        made = worker.post("/api/v1/elders", json=values, headers=headers)
        assert made.status_code == 201, made.text
        elder = made.json()
        assert elder["categories"][0]["category"] == "dibao" and elder["consent_at"] is None
        moved = worker.put(
            f"/api/v1/elders/{elder['id']}",
            json={**values, "community_id": ids["west"]},
            headers=headers,
        )
        assert moved.status_code == 403 and moved.json()["field"] == "community_id"
        changed = worker.put(
            f"/api/v1/elders/{elder['id']}",
            json={**values, "status": "inactive", "consent": True},
            headers=headers,
        )
        assert changed.status_code == 200
        assert changed.json()["status"] == "inactive" and changed.json()["consent_at"]
        assert worker.get(f"/api/v1/elders/{ids['wang']}").status_code == 404  # as if none
        assert worker.get("/api/v1/elders/987654").status_code == 404
    with browser(app, ids["admin"]) as admin:
        assert admin.get("/api/v1/elders").json()["total"] == 3
        assert admin.get(f"/api/v1/elders/{ids['wang']}").status_code == 200


def test_birth_dates_are_taken_as_spreadsheets_and_people_write_them(registry):
    """1941/7/25 and 1935年12月1日 (issue 22: only 1 of 3 elders went in before)."""
    app, database, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        token = csrf_from(worker.get("/elders").text)
        headers = {"x-csrf-token": token, "accept-language": "en"}
        values = {
            "address": "中山路8号",
            "lat": 23.13,
            "lon": 113.26,
            "community_id": ids["east"],
        }
        made = {}
        for name, written in (("周伯", "1941/7/25"), ("吴婆婆", "1935年12月1日")):
            answer = worker.post(
                "/api/v1/elders",
                json={**values, "name": name, "birth_date": written},
                headers=headers,
            )
            assert answer.status_code == 201, answer.text
            made[name] = answer.json()["birth_date"]
        assert made == {"周伯": "1941-07-25", "吴婆婆": "1935-12-01"}
        before = row_counts_of(database)
        wrong = worker.post(
            "/api/v1/elders",
            json={**values, "name": "郑伯", "birth_date": "1941/2/30"},
            headers=headers,
        )
        assert wrong.status_code == 422 and wrong.json()["field"] == "birth_date"
        assert row_counts_of(database) == before


def row_counts_of(database) -> dict:
    with database.reading() as session:
        return row_counts(session)


def test_the_welfare_board_shows_the_steps_and_closes_an_alert_with_its_outcome(registry):
    app, database, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        board = worker.get("/welfare?lang=zh_CN").text
        assert "李秀英" in board and "配送员上门无人应答" in board
        (alert,) = worker.get("/api/v1/welfare/alerts").json()
        assert alert["id"] == ids["alert"] and alert["steps"][0]["kind"] == "raised"
        token = csrf_from(board)
        blank = worker.post(
            f"/welfare/alerts/{ids['alert']}/close", data={"outcome": "  ", "csrf_token": token}
        )
        assert blank.status_code == 422 and "太短" in blank.text
        with database.reading() as session:
            assert session.get(WelfareAlert, ids["alert"]).status == "open"
        closed = worker.post(
            f"/welfare/alerts/{ids['alert']}/close",
            data={"outcome": "在社区医院，平安", "csrf_token": token},
            follow_redirects=False,
        )
        assert closed.status_code == 303
        board = worker.get(closed.headers["location"]).text
        assert "在社区医院，平安" in board and "警报已关闭" in board
        assert worker.get("/api/v1/welfare/alerts").json() == []
        again = worker.post(
            f"/api/v1/welfare/alerts/{ids['alert']}/close",
            json={"outcome": "again"},
            headers={"x-csrf-token": token},
        )
        assert again.status_code == 409 and again.json()["error"] == "alert_closed"
    with database.reading() as session:
        alert = session.get(WelfareAlert, ids["alert"])
        assert (alert.status, alert.outcome) == ("closed", "在社区医院，平安")
        assert alert.closed_by == f"staff:{ids['worker']}"
    assert ("close_alert", f"alert:{ids['alert']}", f"elder:{ids['li']}") in audit_actions(database)


def test_reading_the_welfare_board_is_recorded_as_every_view_of_elders_data(registry):
    """The board names elders, their addresses and their family's phones: each time it is
    shown (the page or its JSON) the log says who looked, as for an elder's record."""
    app, database, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        assert worker.get("/welfare").status_code == 200
        assert worker.get("/api/v1/welfare/alerts").status_code == 200
        # A refused close shows the board again, with the refusal: read too.
        refused = worker.post(
            f"/welfare/alerts/{ids['alert']}/close",
            data={"outcome": " ", "csrf_token": csrf_from(worker.get("/welfare").text)},
        )
        assert refused.status_code == 422
    views = [a for a in audit_actions(database) if a[0] == "view_welfare_board"]
    assert views == [("view_welfare_board", "welfare", "")] * 4
    with database.reading() as session:
        assert verify_chain(session=session).intact


def test_the_welfare_board_gives_the_numbers_to_call(registry):
    """Whoever handles an alert calls: the elder, her family, the community's worker, the
    duty line (the app's settings' number), each a tap away."""
    app, database, _, ids = registry
    app.state.settings = app.state.settings.model_copy(update={"duty_phone": "020-6666 0000"})
    with database.transaction() as session:
        elder = session.get(Elder, ids["li"])
        session.add(
            CommunityWorker(community_id=elder.community_id, name="王社工", phone="13600000001")
        )
        session.add(
            EmergencyContact(elder_id=elder.id, name="李明", relation="儿子", phone="13700000002")
        )
    with browser(app, ids["worker"]) as worker:
        (alert,) = worker.get("/api/v1/welfare/alerts").json()
        calls = [(c["who"], c["phone"]) for c in alert["calls"]]
        assert calls[:3] == [
            ("elder", "13912345678"),
            ("family", "13700000002"),
            ("worker", "13600000001"),
        ]
        assert calls[-1] == ("duty", "020-6666 0000")
        board = worker.get("/welfare?lang=zh_CN").text
    for number in ("13912345678", "13700000002", "13600000001"):
        assert f'href="tel:{number}"' in board
    assert "打给社区工作者: 王社工" in board


def test_an_elder_elsewhere_is_answered_as_one_that_does_not_exist(registry):
    """A worker of the west community asks for the east's elder, alert and order, and for ids
    that were never used: the same status, code and message for both, on pages and in JSON,
    reading and writing, so the answer does not tell which ids are elders elsewhere."""
    app, database, clock, ids = registry
    with database.transaction() as session:
        west_worker = make_staff(
            Factory(session, clock), "community_worker", community_ids=[ids["west"]]
        ).username
        li_order = session.exec(select(WelfareAlert.order_id)).one()
    none = 987_654
    with browser(app, west_worker) as worker:
        token = csrf_from(worker.get("/elders").text)
        json_headers = {"x-csrf-token": token, "accept-language": "en"}
        html = {"accept": "text/html"}
        changed = {
            "name": "改名",
            "address": "中山路8号",
            "lat": 23.13,
            "lon": 113.26,
            "community_id": ids["west"],
            "birth_date": "1938-01-02",
            "categories": [],
        }

        def answers(elder: int, alert: int, order: int) -> list[tuple]:
            reads = [
                f"/api/v1/elders/{elder}",
                f"/api/v1/elders/{elder}/links",
                f"/api/v1/elders/{elder}/pauses",
            ]
            writes = [
                ("PUT", f"/api/v1/elders/{elder}", changed),
                ("POST", f"/api/v1/elders/{elder}/link-codes", {}),
                ("POST", f"/api/v1/elders/{elder}/links/{ids['link']}/revoke", {}),
                (
                    "POST",
                    f"/api/v1/elders/{elder}/pauses",
                    {"start_date": "2026-12-20", "end_date": "2026-12-21"},
                ),
                ("POST", f"/api/v1/welfare/alerts/{alert}/close", {"outcome": "平安"}),
                ("POST", f"/api/v1/orders/{order}/cancel", {}),
            ]
            pages = [f"/elders/{elder}", f"/elders/{elder}/edit"]
            found = []
            for url in reads:
                response = worker.get(url, headers={"accept-language": "en"})
                found.append((len(found), response.status_code, response.json()))
            for method, url, body in writes:
                response = worker.request(method, url, json=body, headers=json_headers)
                found.append((len(found), response.status_code, response.json()))
            for url in pages:
                response = worker.get(url + "?lang=en", headers=html)
                message = re.search(r'class="error-message"[^>]*>([^<]+)<', response.text)
                found.append((len(found), response.status_code, message[1]))
            return found

        with database.reading() as session:
            before = {t: n for t, n in row_counts(session).items() if t != "audit_entry"}
        elsewhere = answers(ids["li"], ids["alert"], li_order)
        missing = answers(none, none, none)
        with database.reading() as session:
            after = {t: n for t, n in row_counts(session).items() if t != "audit_entry"}
    assert elsewhere == missing
    assert [status for _, status, _ in elsewhere] == [404] * len(elsewhere), elsewhere
    assert after == before


def _phone_searches(database) -> list[tuple[str, str, str]]:
    with database.reading() as session:
        return [
            (e.actor, e.subject, e.detail)
            for e in session.exec(
                select(AuditEntry)
                .where(AuditEntry.action == "phone_search")
                .order_by(AuditEntry.seq)
            )
        ]


@pytest.fixture
def phone_search_budget(registry):
    """The registry's app with a small budget of phone searches (its settings, as
    `web_app(settings=...)` would have them)."""
    state = registry[0].state
    state.settings = state.settings.model_copy(
        update={"phone_searches_per_hour": 3, "phone_searches_per_day": 5}
    )


def test_searches_by_phone_digits_are_recorded_without_the_digits_and_limited(
    registry, phone_search_budget
):
    """24 digit searches recovered a masked number, unrecorded. Now each search by phone
    digits is in the audit log (who, how many digits, whom it found; never the digits), and
    each member of staff has a budget of them an hour and a day; names are not limited."""
    app, database, clock, ids = registry
    with browser(app, ids["worker"]) as worker:
        found = worker.get("/api/v1/elders", params={"q": "5678"}).json()
        assert [e["id"] for e in found["elders"]] == [ids["li"]]
        assert found["elders"][0]["phone_masked"] == "139****5678"
        assert worker.get("/api/v1/elders", params={"q": "139 1234"}).json()["total"] == 1
        assert worker.get("/elders?q=0000", headers={"accept": "text/html"}).status_code == 200
        actor = f"staff:{ids['worker']}"
        assert _phone_searches(database) == [
            (actor, "elders", f"4 digits, 1 found: elder:{ids['li']}"),
            (actor, "elders", f"7 digits, 1 found: elder:{ids['li']}"),
            (actor, "elders", "4 digits, 0 found"),
        ]
        # The fourth in the hour is refused, in the reader's language, on the page too.
        over = worker.get("/api/v1/elders", params={"q": "1234", "lang": "en"})
        assert over.status_code == 429
        assert over.json()["error"] == "too_many_phone_searches"
        assert "3 an hour, 5 a day" in over.json()["message"]
        page = worker.get("/elders?q=1234&lang=zh_CN", headers={"accept": "text/html"})
        assert page.status_code == 429 and "按电话号码查找的次数已达上限" in page.text
        assert "李秀英" not in page.text
        assert worker.get("/api/v1/elders", params={"q": "李秀"}).json()["total"] == 1  # names
        assert len(_phone_searches(database)) == 3  # refusals found nothing: not counted

        def an_hour_later() -> None:  # searching by name on the way: not limited
            for _ in range(3):
                clock.advance(timedelta(minutes=20, seconds=20))
                assert worker.get("/api/v1/elders", params={"q": "李"}).status_code == 200

        an_hour_later()
        for _ in range(2):
            assert worker.get("/api/v1/elders", params={"q": "5678"}).status_code == 200
        # Five in the day: the next waits for tomorrow, whatever the hour.
        an_hour_later()
        assert worker.get("/api/v1/elders", params={"q": "5678"}).status_code == 429
    with browser(app, ids["admin"]) as admin:  # a budget per person
        assert admin.get("/api/v1/elders", params={"q": "5678"}).status_code == 200


def test_a_phone_search_needs_four_digits(registry):
    app, database, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        for few in ("678", "5-6-7", "+86"):
            refused = worker.get("/api/v1/elders", params={"q": few, "lang": "en"})
            assert refused.status_code == 422, few
            assert refused.json()["message"] == (
                "Type at least 4 digits of the phone number, or search by name."
            )
            assert refused.json()["field"] == "q"
        page = worker.get("/elders?q=678&lang=zh_CN", headers={"accept": "text/html"})
        assert page.status_code == 422 and "请至少输入电话号码的 4 位数字" in page.text
        assert 'value="678"' in page.text  # the search box keeps what was typed
    assert _phone_searches(database) == []
