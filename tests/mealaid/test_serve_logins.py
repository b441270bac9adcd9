"""Who is logging in, as `mealaid serve` sees it (a real server process): an X-Forwarded-For
header is believed only from the proxies the operator named, so a forged one cannot give a
guesser a fresh address for every try (issue 23, finding 6)."""

from datetime import datetime

import httpx
import pytest

from core.clock import FixedClock
from core.db import Database
from tests.conftest import SHANGHAI, TEMPLATES
from tests.factories import PASSWORD, Factory, csrf_from, make_staff
from tests.mealaid.test_serve_faults import server

LIMIT = 5  # MEALAID_LOGIN_MAX_FAILURES


def _admin(url: str) -> str:
    database = Database.from_url(url)
    with database.transaction() as session:
        name = make_staff(Factory(session, FixedClock(datetime.now(SHANGHAI))), "admin").username
    database.dispose()
    return name


def _guesses(base: str, username: str, tries: int) -> list[int]:
    """`tries` wrong passwords, each claiming a different client address, then the right one."""
    codes = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for n in range(tries + 1):
            token = csrf_from(http.get("/login").text)
            password = PASSWORD if n == tries else f"wrong guess {n}"
            answer = http.post(
                "/login",
                data={"username": username, "password": password, "csrf_token": token},
                headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
            )
            codes.append(answer.status_code)
    return codes


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_a_forged_forwarded_for_does_not_escape_the_login_limit(tmp_path, trusted):
    url, drop = TEMPLATES.copy("sqlite", tmp_path)
    try:
        admin = _admin(url)
        with server(url, MEALAID_TRUSTED_PROXIES=trusted) as (base, _):
            codes = _guesses(base, admin, LIMIT + 1)
    finally:
        drop()
    if trusted:
        # A proxy on this machine that the operator named: each header is a client of its own.
        assert codes == [401] * (LIMIT + 1) + [303]
    else:
        # Nobody named: every try comes from this machine, and the sixth is held.
        assert codes[:LIMIT] == [401] * LIMIT and set(codes[LIMIT:]) == {429}
