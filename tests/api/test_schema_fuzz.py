"""The JSON API against its own OpenAPI schema: Schemathesis generates requests for every
operation (valid and invalid: wrong types, out-of-range ids, odd strings) as a logged-in admin,
and every response must be a non-5xx that matches what the schema promises (status codes,
content types, bodies, headers), and input the schema forbids must be refused.

One check is left out: that every request the schema allows is accepted. A schema cannot say
"not a date in the past" or "not after the cutoff": such a request is well-formed and refused by
a rule, with a documented 400/409 and a translated message."""

import os
from datetime import datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlmodel import select

from api.accounts.models import StaffAccount
from api.accounts.security import CSRF_HEADER, SESSION_COOKIE, csrf_token_for
from api.accounts.service import start_session
from core.clock import FixedClock
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import Factory, kitchen_with_route, make_staff, served_lunches

# Bounded inside the normal test run: every operation, fifteen cases each (a new draw every
# run, so runs add up). A deeper run: MEALAID_FUZZ_EXAMPLES=200 pytest tests/api/test_schema_fuzz.py
EXAMPLES_PER_OPERATION = int(os.environ.get("MEALAID_FUZZ_EXAMPLES", "15"))


@pytest.fixture
def admin_api(empty_database):
    """An app with a day's data in it (a planned route, served and billed lunches) and the
    cookie and CSRF header of a logged-in admin."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        kitchen_with_route(make, elders=2)
        served_lunches(make)
        username = make_staff(make, "admin").username
        account = session.exec(select(StaffAccount).where(StaffAccount.username == username)).one()
        token = start_session(session=session, clock=clock, account=account)
    clock.set(datetime(2026, 11, 25, 11, 20, tzinfo=SHANGHAI))
    app = web_app(database=empty_database, clock=clock)
    return app, {SESSION_COOKIE: token}, {CSRF_HEADER: csrf_token_for(token)}


def test_every_operation_answers_as_its_schema_says_and_never_with_a_5xx(admin_api):
    app, cookies, headers = admin_api
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10, "the schema lost its operations"
    failures = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(
                cookies=cookies, headers=headers, excluded_checks=[positive_data_acceptance]
            )

        try:
            check()
        except (Exception, BaseExceptionGroup) as failure:  # all operations tried, all reported
            failures[operation.label] = failure
    assert not failures, "\n\n".join(f"{label}: {error}" for label, error in failures.items())
