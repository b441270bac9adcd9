"""The admin's buttons for riders' and community workers' own chats, on their staff pages:
issue a one-time code (shown once, with what to do with it, in the reader's language) and
unlink a chat; both through usecases.chat_links, both audited."""

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from core.audit import AuditEntry
from core.clock import FixedClock
from core.models import ChatUser, CommunityWorker, Rider
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import SETTINGS, Factory, csrf_from, log_in, lunch_kitchen, make_staff
from usecases import chat_links


@pytest.fixture
def people(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        community = make.community()
        lunch_kitchen(make, community, cutoff=datetime(2026, 1, 1, 9).time(), rider="骑手丙")
        rider = session.exec(select(Rider).where(Rider.name == "骑手丙")).one()
        worker = CommunityWorker(community_id=community.id, name="王社工", phone="13600000001")
        session.add(worker)
        session.flush()
        ids = {"rider": rider.id, "worker": worker.id, "admin": make_staff(make, "admin").username}
    client = TestClient(web_app(database=empty_database, clock=clock))
    log_in(client, ids["admin"])
    with client:
        yield client, empty_database, clock, ids


def test_the_admin_issues_a_riders_chat_code_on_the_page_and_it_links_the_chat(people):
    client, database, clock, ids = people
    csrf = csrf_from(client.get("/counter").text)
    rider_page = client.get(f"/admin/riders/{ids['rider']}?lang=zh_CN").text
    assert "生成聊天绑定码" in rider_page and "解除聊天绑定" not in rider_page  # none linked
    shown = client.post(
        f"/admin/riders/{ids['rider']}/chat-code?lang=zh_CN", data={"csrf_token": csrf}
    )
    assert shown.status_code == 200 and "骑手丙" in shown.text
    assert "我有绑定码" in shown.text  # what to press in the chat, in her language
    code = shown.text.split('<code class="chat-code">')[1].split("</code>")[0]
    with database.transaction() as session:
        chat = ChatUser(telegram_user_id=424242, name="丙", created_at=clock.now())
        session.add(chat)
        session.flush()
        linked = chat_links.redeem_code(
            session=session, clock=clock, settings=SETTINGS, chat_user_id=chat.id, code=code
        )
    assert linked is not None and (linked.kind, linked.name) == ("rider", "骑手丙")
    with database.reading() as session:
        assert session.get(Rider, ids["rider"]).chat_user_id is not None
    assert "解除聊天绑定" in client.get(f"/admin/riders/{ids['rider']}?lang=zh_CN").text
    # Unlinked from the page: back to the rider, the chat gets nothing more.
    gone = client.post(
        f"/admin/riders/{ids['rider']}/chat/unlink",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert gone.status_code == 303 and gone.headers["location"] == f"/admin/riders/{ids['rider']}"
    with database.reading() as session:
        assert session.get(Rider, ids["rider"]).chat_user_id is None
        actions = session.exec(
            select(AuditEntry.action, AuditEntry.subject).where(
                AuditEntry.action.in_(["issue_chat_code", "unlink_chat"])
            )
        ).all()
    assert actions == [
        ("issue_chat_code", f"rider:{ids['rider']}"),
        ("unlink_chat", f"rider:{ids['rider']}"),
    ]


def test_a_workers_code_in_english_and_an_unknown_person_refused(people):
    client, _, _, ids = people
    csrf = csrf_from(client.get("/counter").text)
    shown = client.post(
        f"/admin/workers/{ids['worker']}/chat-code?lang=en", data={"csrf_token": csrf}
    )
    assert shown.status_code == 200 and "王社工" in shown.text and "I have a code" in shown.text
    assert f'href="/admin/workers/{ids["worker"]}"' in shown.text
    missing = client.post(
        "/admin/workers/987654/chat-code?lang=en",
        data={"csrf_token": csrf},
        headers={"accept": "text/html"},
    )
    assert missing.status_code == 404 and "Traceback" not in missing.text
