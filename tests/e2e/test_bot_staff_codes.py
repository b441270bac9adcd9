"""A rider and a community worker link their own chats with a one-time code from the admin
(issue 21), through the real bot over the Bot API stand-in: the rider then gets the route in
the chat, the worker the welfare alerts; a code works once; the admin can unlink them."""

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from core.audit import AuditEntry
from core.clock import FixedClock
from core.models import CommunityWorker, Rider
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.chat import Chat
from tests.factories import Factory, csrf_from, kitchen_with_route, log_in, make_staff
from tests.mealaid.test_commands import mealaid


@pytest.fixture
def kitchen(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        route_id, _ = kitchen_with_route(make, elders=2)
        rider = session.exec(select(Rider)).one()
        community = make.community()
        worker = CommunityWorker(community_id=community.id, name="王社工", phone="020-1111")
        session.add(worker)
        session.flush()
        admin = make_staff(make, "admin").username
        kitchen_staff = make_staff(make, "kitchen").username
        ids = {"rider": rider.id, "worker": worker.id, "route": route_id}
    clock.set(datetime(2026, 11, 25, 11, 0, tzinfo=SHANGHAI))
    app = web_app(database=empty_database, clock=clock)
    yield app, empty_database, clock, ids, admin, kitchen_staff


def _staff(app, username: str) -> TestClient:
    client = TestClient(app)
    log_in(client, username)
    client.headers["X-CSRF-Token"] = csrf_from(client.get("/account/password").text)
    client.headers["accept"] = "application/json"
    return client


def test_a_rider_and_a_worker_link_their_own_chats_with_a_code(kitchen):
    app, database, clock, ids, admin, kitchen_staff = kitchen
    with _staff(app, kitchen_staff) as other:
        assert other.post(f"/api/v1/riders/{ids['rider']}/chat-code").status_code == 403
    with _staff(app, admin) as staff:
        rider_code = staff.post(f"/api/v1/riders/{ids['rider']}/chat-code").json()["code"]
        worker_code = staff.post(f"/api/v1/community-workers/{ids['worker']}/chat-code").json()[
            "code"
        ]
        missing = staff.post("/api/v1/riders/999/chat-code?lang=en")
        assert missing.status_code == 404 and "rider" in missing.json()["message"]

    chat = Chat(database, clock)
    try:
        rider = chat.person()
        rider.send("/start")
        rider.press("中文")
        rider.press("🔑 我有绑定码")
        welcome = rider.send(rider_code.lower())[-1]["text"]
        assert "骑手" in welcome and "/route" in welcome
        route = rider.send("/route")[-1]
        assert "路线" in route["text"] and "✅ 送达" in route["buttons"]
        # The same code does not work twice.
        someone = chat.person()
        someone.send("/start")
        someone.press("中文")
        someone.press("🔑 我有绑定码")
        assert "不能使用" in someone.send(rider_code)[-1]["text"]

        worker = chat.person()
        worker.send("/start")
        worker.press("English")
        worker.press("🔑 I have a code")
        assert "welfare alerts" in worker.send(worker_code)[-1]["text"]
    finally:
        chat.close()

    with database.reading() as session:
        assert session.get(Rider, ids["rider"]).chat_user_id is not None
        assert session.get(CommunityWorker, ids["worker"]).chat_user_id is not None
    with _staff(app, admin) as staff:
        assert staff.delete(f"/api/v1/riders/{ids['rider']}/chat").status_code == 204
    with database.reading() as session:
        assert session.get(Rider, ids["rider"]).chat_user_id is None
        actions = [
            (e.action, e.subject)
            for e in session.exec(select(AuditEntry).order_by(AuditEntry.seq))
            if e.action in ("issue_chat_code", "link_chat", "unlink_chat")
        ]
    assert actions == [
        ("issue_chat_code", f"rider:{ids['rider']}"),
        ("issue_chat_code", f"worker:{ids['worker']}"),
        ("link_chat", f"rider:{ids['rider']}"),
        ("link_chat", f"worker:{ids['worker']}"),
        ("unlink_chat", f"rider:{ids['rider']}"),
    ]


def test_the_command_issues_a_riders_code_and_refuses_two_people_at_once(kitchen, monkeypatch):
    _, database, _, ids, _, _ = kitchen
    monkeypatch.setenv("MEALAID_DATABASE_URL", database.engine.url.render_as_string(False))
    issued = mealaid("link-code", "--rider", str(ids["rider"]), "--lang", "en", check_code=0)
    assert "Chat code:" in issued.stdout
    both = mealaid("link-code", "--rider", "1", "--worker", "1", "--lang", "en", check_code=2)
    assert "Name one person" in both.stdout
