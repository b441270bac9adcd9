"""Hostile input over HTTP (issue 23, finding 14), on both databases: a NUL in a phone-in order's
idempotency key, in the login name or in a counter search, a name of zero-width spaces or with
a right-to-left override, control characters in notes and birth dates no one registered can
have are refused with a translated message (next to the field on a form), never a 500, and
nothing is written."""

import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.accounts.models import LoginFailure, StaffSession
from core.clock import FixedClock
from core.models import Elder, Menu, MenuItem
from tests.api.test_elders_api import field_error, new_elder_form
from tests.apps import web_app
from tests.conftest import SHANGHAI, row_counts
from tests.factories import PASSWORD, Factory, csrf_from, log_in, make_staff

# Saturday 5 December 2026, 08:00 in Shanghai.
CLOCK = FixedClock(datetime(2026, 12, 5, 8, 0, tzinfo=SHANGHAI))


@pytest.fixture
def world(empty_database):
    with empty_database.transaction() as session:
        make = Factory(session, CLOCK)
        site, dishes, elder = make.world()
        lunch = session.exec(
            select(MenuItem.id)
            .join(Menu)
            .where(MenuItem.dish_id == dishes[0].id, Menu.slot == "lunch")
            .where(Menu.service_date == make.today, MenuItem.variant == "regular")
        ).one()
        ids = {
            "elder": elder.id,
            "community": elder.community_id,
            "lunch": lunch,
            "admin": make_staff(make, "admin").username,
            "worker": make_staff(
                make, "community_worker", community_ids=[elder.community_id]
            ).username,
            "canteen": make_staff(make, "canteen", site_ids=[site.id]).username,
        }
    app = web_app(database=empty_database, clock=CLOCK)
    yield app, empty_database, ids


def client_for(app, username: str) -> TestClient:
    client = TestClient(app)
    assert log_in(client, username).status_code == 303
    return client


def counts(database) -> dict[str, int]:
    with database.reading() as session:
        return row_counts(session)


def test_a_nul_in_a_phone_in_orders_key_is_refused_as_json_and_on_the_form(world):
    app, database, ids = world
    with client_for(app, ids["worker"]) as worker:
        page = worker.get("/orders?lang=en")
        headers = {"x-csrf-token": csrf_from(page.text)}
        before = counts(database)
        for key in ("phone-\x00-0001", "phone-\u202e-0001"):
            body = {"elder_id": ids["elder"], "item_id": ids["lunch"], "idempotency_key": key}
            refused = worker.post("/api/v1/orders?lang=en", json=body, headers=headers)
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"] == "invalid_input"
            assert "request number" in refused.json()["message"]
        form = worker.post(
            "/orders/phone-in?lang=zh_CN",
            data={
                "csrf_token": csrf_from(page.text),
                "idempotency_key": "phone-\x00-0002",
                "elder_id": str(ids["elder"]),
                "item_id": str(ids["lunch"]),
                "quantity": "1",
                "date": "2026-12-05",
            },
            follow_redirects=False,
        )
        assert form.status_code == 422
        assert "无法保存的字符" in form.text
        # Nothing written but the record that the refusal's page showed the board.
        after = counts(database)
        assert after.pop("audit_entry") == before.pop("audit_entry") + 1
        assert after == before


def test_a_nul_in_the_login_name_is_refused_and_counts_nothing(world):
    app, database, ids = world
    with TestClient(app) as client:
        before = counts(database)
        token = csrf_from(client.get("/login").text)
        response = client.post(
            "/login?lang=en",
            data={"username": ids["admin"] + "\x00", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 422
        assert "cannot be stored" in response.text and "user name" in response.text
        assert counts(database) == before
        with database.reading() as session:
            assert session.exec(select(LoginFailure)).all() == []
            assert session.exec(select(StaffSession)).all() == []


def test_a_nul_in_a_counter_search_is_refused(world):
    app, _, ids = world
    with client_for(app, ids["canteen"]) as canteen:
        response = canteen.get(
            "/api/v1/counter", params={"q": "王\x00"}, headers={"accept-language": "en"}
        )
        assert response.status_code == 422
        assert response.json()["message"] == (
            "Please check “search”: this contains characters that cannot be stored."
        )


HOSTILE_ELDERS = [
    ({"name": "\u200b\u200b"}, "name", "invisible characters"),
    ({"name": "王小明\u202egnp.exe"}, "name", "invisible characters"),
    ({"notes": "请敲门\x1b[2J"}, "notes", "cannot be stored"),
    ({"notes": "请敲\x85门"}, "notes", "cannot be stored"),
    ({"birth_date": "0001-01-01"}, "birth_date", "120 years"),
    ({"birth_date": "2027-06-01"}, "birth_date", "120 years"),
    ({"birth_date": "9999-12-31"}, "birth_date", "120 years"),
]


@pytest.mark.parametrize(("change", "field", "message"), HOSTILE_ELDERS)
def test_a_hostile_elder_record_is_refused_over_json_and_nothing_is_written(
    world, change, field, message
):
    app, database, ids = world
    with client_for(app, ids["worker"]) as worker:
        headers = {"x-csrf-token": csrf_from(worker.get("/elders").text), "accept-language": "en"}
        values = {
            "name": "周伯",
            "address": "中山路8号",
            "lat": 23.13,
            "lon": 113.26,
            "community_id": ids["community"],
            "birth_date": "1938-01-02",
            **change,
        }
        before = counts(database)
        refused = worker.post("/api/v1/elders", json=values, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == field
        assert message in refused.json()["message"]
        assert counts(database) == before
        # And as a change to an elder already registered.
        changed = worker.put(f"/api/v1/elders/{ids['elder']}", json=values, headers=headers)
        assert changed.status_code == 422, changed.text
        assert counts(database) == before


def test_the_registry_form_shows_an_impossible_birth_date_next_to_the_field(world):
    app, database, ids = world
    with client_for(app, ids["worker"]) as worker:
        token = csrf_from(worker.get("/elders/new?lang=zh_CN").text)
        before = counts(database)
        bad = worker.post(
            "/elders/new?lang=zh_CN",
            data={
                **new_elder_form(ids["community"], birth_date="9999-12-31"),
                "csrf_token": token,
            },
        )
        assert bad.status_code == 422
        assert "120" in field_error(bad.text, "birth_date")
        hidden = worker.post(
            "/elders/new?lang=en",
            data={**new_elder_form(ids["community"], name="\u200b"), "csrf_token": token},
        )
        assert hidden.status_code == 422
        assert "invisible characters" in field_error(hidden.text, "name")
        assert counts(database) == before
    with database.reading() as session:
        assert not [e for e in session.exec(select(Elder.name)).all() if re.search("周伯", e)]
