"""Logging in and out over HTTP: where people are sent, translated refusals, the limit on wrong
passwords, cookie flags, CSRF on every form, and the audit trail of logins and views."""

from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlmodel import select

from api.accounts.models import LoginFailure, StaffAccount, StaffSession
from api.accounts.security import SESSION_COOKIE
from core.audit import AuditEntry, verify_chain
from core.clock import FixedClock
from core.models import Order
from core.settings import get_settings
from core.types import OrderStatus
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import PASSWORD, Factory, csrf_from, kitchen_with_route, log_in, make_staff


@pytest.fixture
def site(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        route_id, orders = kitchen_with_route(make, elders=2)
        admin = make_staff(make, "admin").username
    clock.set(datetime(2026, 11, 25, 11, 20, tzinfo=SHANGHAI))
    with TestClient(web_app(database=empty_database, clock=clock)) as client:
        yield client, empty_database, admin, route_id, orders


def rows(database, table) -> list:
    with database.reading() as session:
        return list(session.exec(select(table)))


def test_a_page_sends_an_anonymous_visitor_to_log_in_and_back(site):
    client, _, admin, _, _ = site
    page = client.get("/?date=2026-11-25", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2F%3Fdate%3D2026-11-25"
    form = client.get(page.headers["location"])
    assert 'name="next" value="/?date=2026-11-25"' in form.text
    done = log_in(client, admin, next="/?date=2026-11-25")
    assert done.status_code == 303 and done.headers["location"] == "/?date=2026-11-25"


@pytest.mark.parametrize(("lang", "message"), [("en", "Please log in."), ("zh_CN", "请先登录。")])
def test_the_api_answers_401_in_json_in_the_readers_language(site, lang, message):
    client = site[0]
    response = client.get(f"/api/v1/overview?lang={lang}")
    assert response.status_code == 401
    assert response.json() == {"error": "login_required", "message": message}


def test_a_wrong_password_shows_a_translated_error_and_no_session(site):
    client, database, admin, _, _ = site
    client.get("/login?lang=en")
    wrong = log_in(client, admin, "not my password")
    assert wrong.status_code == 401
    assert "The user name or password is not right." in wrong.text
    assert SESSION_COOKIE not in wrong.cookies
    client.get("/login?lang=zh_CN")
    assert "用户名或密码不正确" in log_in(client, admin, "still wrong").text
    assert rows(database, StaffSession) == []


def test_the_sixth_wrong_try_in_fifteen_minutes_is_refused_even_with_the_right_password(site):
    client, database, admin, _, _ = site
    client.get("/login?lang=en")
    for _ in range(5):
        assert log_in(client, admin, "guessing").status_code == 401
    locked = log_in(client, admin, PASSWORD)
    assert locked.status_code == 429
    assert "Please wait 15 minutes" in locked.text
    assert len(rows(database, LoginFailure)) == 5 and rows(database, StaffSession) == []


def test_the_session_cookie_is_httponly_and_samesite_lax(site):
    client, _, admin, _, _ = site
    cookie = log_in(client, admin).headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie


def test_the_cookie_is_secure_when_the_app_is_served_over_https(site, monkeypatch):
    client, _, admin, _, _ = site
    monkeypatch.setenv("MEALAID_PUBLIC_BASE_URL", "https://meals.example.org")
    get_settings.cache_clear()
    try:
        cookie = log_in(client, admin).headers["set-cookie"]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert "Secure" in cookie


def test_logout_ends_the_session_for_good(site):
    client, database, admin, _, _ = site
    log_in(client, admin)
    token = client.cookies.get(SESSION_COOKIE)
    assert client.get("/api/v1/me").json()["username"] == admin
    csrf = csrf_from(client.get("/", headers={"accept": "text/html"}).text)
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert rows(database, StaffSession) == []
    client.cookies.set(SESSION_COOKIE, token)  # a copy of the old cookie no longer works
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_login_never_sends_people_to_another_site(site, target):
    client, _, admin, _, _ = site
    assert log_in(client, admin, next=target).headers["location"] == "/"


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site):
    client, database, admin, route_id, orders = site
    refused = client.post(
        "/login", data={"username": admin, "password": PASSWORD}, follow_redirects=False
    )
    assert refused.status_code == 403 and refused.json()["error"] == "csrf_refused"
    assert rows(database, StaffSession) == [] and rows(database, LoginFailure) == []
    log_in(client, admin)
    csrf = csrf_from(client.get("/rider").text)
    for token in (None, "forged", csrf + "0"):
        data = {"outcome": "delivered"} | ({"csrf_token": token} if token else {})
        response = client.post(
            f"/rider/routes/{route_id}/stops/{orders[0]}?lang=en",
            data=data,
            headers={"accept": "text/html"},
        )
        assert response.status_code == 403
        assert "did not come from MealAid" in response.text
    with database.reading() as session:
        assert session.get(Order, orders[0]).status == OrderStatus.locked
    # The same form with its token goes through.
    done = client.post(
        f"/rider/routes/{route_id}/stops/{orders[0]}",
        data={"outcome": "delivered", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303


def test_another_browsers_token_is_no_good_here(site, empty_database):
    client, database, admin, _, _ = site
    log_in(client, admin)
    with TestClient(client.app) as other:
        foreign = csrf_from(other.get("/login").text)
    out = client.post("/logout", data={"csrf_token": foreign})
    assert out.status_code == 403
    assert len(rows(database, StaffSession)) == 1


def test_api_clients_send_the_token_in_a_header(site):
    client, _, admin, _, _ = site
    log_in(client, admin)
    csrf = csrf_from(client.get("/rider").text)
    out = client.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert out.status_code == 303


def test_logins_and_views_of_addresses_are_in_the_audit_log_without_the_addresses(site):
    client, database, admin, route_id, _ = site
    log_in(client, admin)
    assert client.get(f"/rider/routes/{route_id}").status_code == 200
    from tests.factories import route_key

    with TestClient(client.app) as anonymous:
        anonymous.get(f"/api/v1/routes/{route_id}?key={route_key(database, route_id)}")
    planned, *entries = rows(database, AuditEntry)
    assert (planned.actor, planned.action) == ("test", "routes_planned")  # the set-up's route
    assert [(e.actor, e.action, e.subject) for e in entries] == [
        (f"staff:{admin}", "login", f"staff:{admin}"),
        (f"staff:{admin}", "view_route", f"route:{route_id}"),
        # Which link was followed: the route's sheet of that day, generation 0.
        (f"link:route:{route_id}:20261125:g0:sheet", "view_route", f"route:{route_id}"),
    ]
    with database.reading() as session:
        assert verify_chain(session=session).intact
    page = client.get("/admin/audit?lang=en", headers={"accept": "text/html"})
    assert page.status_code == 200 and page.text.count("view_route") == 2
    assert "人民路" not in page.text  # no addresses in the log


def test_changing_the_password_on_the_page(site):
    client, _, admin, _, _ = site
    log_in(client, admin)
    form = client.get("/account/password?lang=en").text
    csrf = csrf_from(form)
    differ = client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": PASSWORD,
            "new_password": "a new password here",
            "new_password_again": "another one",
        },
    )
    assert differ.status_code == 422 and "The two new passwords are not the same." in differ.text
    short = client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": PASSWORD,
            "new_password": "short",
            "new_password_again": "short",
        },
    )
    assert short.status_code == 422 and "this is too short" in short.text
    done = client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": PASSWORD,
            "new_password": "a new password here",
            "new_password_again": "a new password here",
        },
    )
    assert done.status_code == 200 and "Your password has been changed." in done.text
    assert client.get("/api/v1/me").status_code == 200  # this browser stays logged in


def _change_password(client, current: str, new: str = "a new password here"):
    csrf = csrf_from(client.get("/account/password?lang=en").text)
    return client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": current,
            "new_password": new,
            "new_password_again": new,
        },
    )


def test_wrong_current_passwords_are_limited_like_wrong_logins(site):
    """Someone at an unattended browser cannot guess the password on the change form: the
    sixth wrong try in the window is refused even with the right password, and the password
    stays as it was."""
    client, database, admin, _, _ = site
    log_in(client, admin)
    for _ in range(5):
        wrong = _change_password(client, "guessing")
        assert wrong.status_code == 422 and "Your current password is not right." in wrong.text
    locked = _change_password(client, PASSWORD)
    assert locked.status_code == 429
    assert "Please wait 15 minutes" in locked.text
    assert len(rows(database, LoginFailure)) == 5
    with database.reading() as session:  # the password did not change
        account = session.exec(select(StaffAccount).where(StaffAccount.username == admin)).one()
        assert PasswordHasher().verify(account.password_hash, PASSWORD)
        assert "change_password" not in [e.action for e in session.exec(select(AuditEntry))]
    # The same wrong passwords count at the login form: from here, it waits too.
    with TestClient(client.app) as other:
        assert log_in(other, admin).status_code == 429


def test_a_session_left_idle_is_signed_out_with_a_translated_message(site, monkeypatch):
    """Staff sessions end after MEALAID_SESSION_IDLE_MINUTES without a request (a browser left
    open in an office), however long the login itself would last; every request keeps the
    session alive, a page then goes to the login form saying why, and the API answers 401."""
    client, _, admin, _, _ = site
    clock = client.app.state.clock
    monkeypatch.setenv("MEALAID_SESSION_IDLE_MINUTES", "20")
    get_settings.cache_clear()
    try:
        log_in(client, admin)
        for _ in range(4):  # 76 minutes in all, never 20 without a request
            clock.advance(timedelta(minutes=19))
            assert client.get("/api/v1/me").status_code == 200
        clock.advance(timedelta(minutes=21))
        page = client.get("/?lang=en", headers={"accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
        login = client.get(page.headers["location"])
        assert "You were signed out after 20 minutes without activity." in login.text
        assert "20 分钟没有操作，已自动退出" in client.get("/login?lang=zh_CN").text
        answer = client.get("/api/v1/me?lang=en")
        assert answer.status_code == 401 and answer.json()["error"] == "session_idle"
        assert log_in(client, admin).status_code == 303  # logging in again works
        assert client.get("/api/v1/me").status_code == 200
        assert "signed out" not in client.get("/login?lang=en").text
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_the_idle_timeout_is_thirty_minutes_unless_set(site):
    client, _, admin, _, _ = site
    clock = client.app.state.clock
    log_in(client, admin)
    clock.advance(timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(minutes=31))
    assert client.get("/api/v1/me").json()["error"] == "session_idle"
