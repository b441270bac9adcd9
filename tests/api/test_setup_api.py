"""The set-up over HTTP: an empty programme's admin starts on the checklist; the JSON twins of
the set-up pages create and change communities, sites and their meals, riders, workers and
accounts, refuse bad input in the reader's language with nothing written, and carry a whole
set-up from one programme to another."""

import secrets
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from api.setup import sandbox_url
from core.clock import FixedClock
from core.models import Community, CommunityWorker, Site
from core.settings import Settings, get_settings
from tests.apps import web_app
from tests.conftest import SHANGHAI, fresh_database
from tests.factories import Factory, csrf_from, log_in, make_staff


@pytest.fixture
def empty_programme(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        admin = make_staff(Factory(session, clock), "admin").username
    app = web_app(database=empty_database, clock=clock)
    yield _logged_in(app, admin), empty_database, clock


def _logged_in(app, username: str) -> TestClient:
    """A client logged in, sending its CSRF token with every JSON request as the pages do."""
    client = TestClient(app)
    assert log_in(client, username).status_code == 303
    client.headers["x-csrf-token"] = csrf_from(client.get("/admin/setup").text)
    return client


COMMUNITY = {
    "code": "YX-BJ",
    "name": "北京街社区",
    "street": "北京街",
    "district": "越秀区",
    "city": "广州市",
    "lat": 23.125,
    "lon": 113.27,
}


def _site(community_id: int) -> dict:
    return {
        "code": "K1",
        "name": "越秀中央厨房",
        "kind": "central_kitchen",
        "address": "越华路1号",
        "lat": 23.13,
        "lon": 113.27,
        "community_id": community_id,
        "phone": "020-8888 0001",
        "offers_delivery": True,
        "serves_community_ids": [community_id],
    }


def test_an_empty_programme_opens_on_the_checklist_for_the_admin(empty_programme):
    client, _, _ = empty_programme
    first = client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/admin/setup")
    checklist = client.get("/api/v1/setup/checklist").json()
    assert checklist["complete"] is False
    assert [s["key"] for s in checklist["steps"]] == [
        "communities",
        "sites",
        "menus",
        "policy",
        "staff",
        "elders",
    ]
    assert checklist["steps"][0]["pages"] == ["/admin/communities"]


def test_a_programme_with_elders_opens_on_its_day(empty_database, clock):
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        make.world()
        admin = make_staff(make, "admin").username
    client = TestClient(web_app(database=empty_database, clock=clock))
    assert log_in(client, admin).status_code == 303
    day = client.get("/?lang=en", headers={"accept": "text/html"}, follow_redirects=False)
    assert day.status_code == 200
    # No policy and no staff yet: the day says the set-up is not done, and links to it.
    assert 'href="/admin/setup"' in day.text
    assert "Set-up: 2 steps are still missing." in day.text


def test_the_json_twins_set_a_programme_up_and_refuse_in_the_readers_language(empty_programme):
    client, database, _ = empty_programme
    community = client.post("/api/v1/communities", json=COMMUNITY)
    assert community.status_code == 201, community.text
    community_id = community.json()["id"]
    site = client.post("/api/v1/sites", json=_site(community_id))
    assert site.status_code == 201, site.text
    site_id = site.json()["id"]
    assert site.json()["kitchen_id"] == site_id
    lunch = {
        "slot": "lunch",
        "cutoff_time": "09:30",
        "delivery_start": "11:00",
        "delivery_end": "12:30",
    }
    slots = client.put(f"/api/v1/sites/{site_id}/slots", json=lunch)
    assert [s["slot"] for s in slots.json()["slots"]] == ["lunch"]
    rider = client.post(
        "/api/v1/riders",
        json={
            "name": "陈师傅",
            "phone": "13900000001",
            "kitchen_id": site_id,
            "shift_start": "10:30",
            "shift_end": "13:00",
        },
    )
    assert rider.status_code == 201 and rider.json()["chat_linked"] is False
    worker = client.post(
        "/api/v1/community-workers",
        json={"community_id": community_id, "name": "王社工", "phone": "13600000001"},
    )
    assert worker.status_code == 201
    account = client.post(
        "/api/v1/accounts",
        json={
            "username": "wang.sg",
            "password": "a long enough password",
            "role": "community_worker",
            "community_ids": [community_id],
        },
    )
    assert account.status_code == 201, account.text
    reset = client.post(f"/api/v1/accounts/{account.json()['id']}/password", json={})
    assert len(reset.json()["password"]) >= 12
    off = client.post(f"/api/v1/accounts/{account.json()['id']}/active", json={"active": False})
    assert off.json()["active"] is False
    jurisdictions = client.get("/api/v1/jurisdictions").json()
    assert jurisdictions["streets"][0]["district_id"] == jurisdictions["districts"][0]["id"]

    # Refusals: translated, naming the field, nothing written.
    taken = client.post("/api/v1/communities?lang=zh_CN", json=COMMUNITY)
    assert taken.status_code == 409 and "YX-BJ" in taken.json()["message"]
    not_kitchen = client.post(
        "/api/v1/sites?lang=en",
        json={**_site(community_id), "code": "C1", "kind": "canteen", "kitchen_id": 999},
    )
    assert not_kitchen.status_code == 404
    backwards = client.put(
        f"/api/v1/sites/{site_id}/slots?lang=en",
        json={**lunch, "delivery_start": "13:00"},
    )
    assert backwards.status_code == 422
    with database.reading() as session:
        assert session.exec(select(func.count()).select_from(Community)).one() == 1
        assert session.exec(select(func.count()).select_from(Site)).one() == 1


def test_a_set_up_goes_from_one_programme_to_another_over_the_api(empty_programme, tmp_path):
    client, database, clock = empty_programme
    community_id = client.post("/api/v1/communities", json=COMMUNITY).json()["id"]
    client.post("/api/v1/sites", json=_site(community_id))
    exported = client.get("/api/v1/setup/export")
    assert exported.headers["content-disposition"].startswith("attachment;")
    assert "elders" not in exported.json()
    assert client.get("/api/v1/setup/export?elders=true").json()["elders"] == []
    other, drop = fresh_database(database.engine.dialect.name, tmp_path)
    try:
        with other.transaction() as session:
            admin = make_staff(Factory(session, clock), "admin").username
        second = _logged_in(web_app(database=other, clock=clock), admin)
        imported = second.post(
            "/api/v1/setup/import",
            content=exported.content,
            headers={"content-type": "application/json"},
        )
        assert imported.json()["added"] == {"communities": 1, "sites": 1}
        refused = second.post("/api/v1/setup/import?lang=en", json={"format": "something"})
        assert refused.status_code == 422
        assert "not a MealAid set-up file" in refused.json()["message"]
    finally:
        drop()


def test_a_worker_covers_several_communities_and_an_unknown_one_is_refused(empty_programme):
    client, database, _ = empty_programme
    first = client.post("/api/v1/communities", json=COMMUNITY).json()["id"]
    second = client.post(
        "/api/v1/communities", json={**COMMUNITY, "code": "YX-RM", "name": "人民街社区"}
    ).json()["id"]
    worker = client.post(
        "/api/v1/community-workers",
        json={
            "community_id": first,
            "community_ids": [second],
            "name": "王社工",
            "phone": "13600000001",
        },
    )
    assert worker.status_code == 201, worker.text
    assert worker.json()["community_ids"] == sorted([first, second])
    unknown = {
        "community_id": first,
        "community_ids": [99_999],
        "name": "李社工",
        "phone": "13600000003",
    }
    refused = client.post("/api/v1/community-workers?lang=zh_CN", json=unknown)
    assert refused.status_code == 404 and refused.json()["message"] == "找不到这个社区。"

    # The page: several communities ticked, and an unknown one refused in the reader's language.
    page = client.get("/admin/workers?lang=en")
    assert f'name="community_ids" value="{second}"' in page.text
    form = {
        "name": "李社工",
        "phone": "13600000002",
        "community_id": str(first),
        "community_ids": [str(second), "99999"],
        "csrf_token": csrf_from(page.text),
    }
    shown = client.post("/admin/workers?lang=zh_CN", data=form, follow_redirects=False)
    assert shown.status_code == 404 and "找不到这个社区。" in shown.text
    form["community_ids"] = [str(second)]
    saved = client.post("/admin/workers?lang=en", data=form, follow_redirects=False)
    assert saved.status_code == 303
    listed = client.get("/api/v1/community-workers").json()
    assert [w["name"] for w in listed] == ["李社工", "王社工"]
    assert all(w["community_ids"] == sorted([first, second]) for w in listed)
    with database.reading() as session:
        assert session.exec(select(func.count()).select_from(CommunityWorker)).one() == 2


def test_hostile_text_on_the_community_form_is_refused_next_to_its_field(empty_programme):
    client, database, _ = empty_programme
    page = client.get("/admin/communities?lang=en")
    form = {
        **{k: str(v) for k, v in COMMUNITY.items()},
        "name": "\u200b\u200b",
        "street": "北京\x00街",
        "csrf_token": csrf_from(page.text),
    }
    refused = client.post("/admin/communities?lang=en", data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert 'data-field="name"' in refused.text and 'data-field="street"' in refused.text
    assert "invisible characters" in refused.text
    with database.reading() as session:
        assert session.exec(select(func.count()).select_from(Community)).one() == 0


def test_the_checklists_counts_read_as_a_list_in_each_language(empty_database, clock):
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        make.world()
        make.site(slots=[])  # a second site, serving no meal yet
        admin = make_staff(make, "admin").username
    client = TestClient(web_app(database=empty_database, clock=clock))
    assert log_in(client, admin).status_code == 303
    chinese = client.get("/admin/setup?lang=zh_CN").text
    # Chinese lists with 、 and 和 and its own semicolon, never with an English comma.
    assert "2个助餐点和2个餐次；1个助餐点尚未设置餐次" in chinese
    assert "0名送餐员、0名社区工作者和" in chinese
    english = client.get("/admin/setup?lang=en").text
    assert "2 sites and 2 meals; 1 site serves no meal yet" in english
    assert "0 riders, 0 community workers, and " in english


def test_the_checklist_links_to_the_chat_sandbox_at_the_configured_address(empty_database, clock):
    """The last line of the checklist: how to start the chat sandbox (`mealaid bot --sandbox`)
    and a link that opens its page in a new tab, at MEALAID_SANDBOX_URL."""
    with empty_database.transaction() as session:
        admin = make_staff(Factory(session, clock), "admin").username
    default = _logged_in(web_app(database=empty_database, clock=clock), admin)
    page = default.get("/admin/setup?lang=en").text
    assert "<code>mealaid bot --sandbox</code>" in page
    assert (
        '<a class="sandbox-link" href="http://127.0.0.1:8081/sandbox/" target="_blank" '
        'rel="noopener noreferrer">'
    ) in page
    assert "打开聊天沙盒" in default.get("/admin/setup?lang=zh_CN").text
    elsewhere = get_settings().model_copy(update={"sandbox_url": "http://10.0.0.5:9000/sandbox/"})
    app = web_app(database=empty_database, clock=clock, settings=elsewhere)
    client = _logged_in(app, admin)
    assert 'href="http://10.0.0.5:9000/sandbox/" target="_blank"' in client.get("/admin/setup").text
    checklist = client.get("/api/v1/setup/checklist").json()
    assert checklist["sandbox_url"] == "http://10.0.0.5:9000/sandbox/"


def test_no_sandbox_link_in_production_where_the_sandbox_does_not_run():
    production = Settings(environment="production", secret_key=secrets.token_urlsafe(32))
    assert sandbox_url(production) is None
    assert sandbox_url(Settings(sandbox_url="")) is None
    assert sandbox_url(Settings()) == "http://127.0.0.1:8081/sandbox/"
