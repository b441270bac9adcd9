"""Settlement over HTTP: the month for the admin, one funder's statement for the admin and its
own auditor, downloads that match the ledger and come out the same twice, and bad input refused
in the reader's language."""

import csv
import io
from datetime import datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from billing.models import LedgerEntry
from core.audit import AuditEntry
from core.clock import FixedClock
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import Factory, log_in, make_staff, served_lunches


@pytest.fixture
def month(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        city, charity = served_lunches(make)
        ids = {"city": city.id, "code": city.code, "charity": charity.id}
        ids["admin"] = make_staff(make, "admin").username
        ids["auditor"] = make_staff(make, "funder_auditor", funder_id=city.id).username
        ids["ledger"] = session.execute(
            sa.select(sa.func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.funder_id == city.id)
        ).scalar_one()
    app = web_app(database=empty_database, clock=clock)
    yield app, empty_database, ids


def client_for(app, username: str) -> TestClient:
    client = TestClient(app)
    assert log_in(client, username).status_code == 303
    return client


def test_the_admin_sees_each_funders_total_equal_to_its_ledger_entries(month):
    app, _, ids = month
    with client_for(app, ids["admin"]) as admin:
        body = admin.get("/api/v1/settlement?month=2026-11").json()
        totals = {s["funder_id"]: (s["meals"], s["total_fen"]) for s in body["statements"]}
        assert totals[ids["city"]] == (3, ids["ledger"]) and ids["ledger"] == 1400
        assert totals[ids["charity"]] == (0, 0)
        assert body["held_for_review"] == 0
        assert [(f["budget_fen"], f["spent_fen"]) for f in body["funds"]] == [(100_000, 800)]
        assert f"statement-{ids['code']}.pdf" in body["files"] and "bills.pdf" in body["files"]
        # Default: this month by the programme's clock.
        assert admin.get("/api/v1/settlement").json()["month"] == "2026-11"
        page = admin.get("/settlement?month=2026-11&lang=zh_CN")
        assert page.status_code == 200
        assert "广州市民政局" in page.text and "¥14.00" in page.text
        assert f"/api/v1/settlement/2026-11/files/statement-{ids['code']}.xlsx" in page.text
        assert 'href="/settlement"' in page.text  # the nav link


def test_an_auditor_sees_their_own_statement_by_category_and_site(month):
    app, _, ids = month
    with client_for(app, ids["auditor"]) as auditor:
        body = auditor.get(f"/api/v1/funders/{ids['city']}/statements?month=2026-11").json()
        assert (body["meals"], body["total_fen"]) == (3, ids["ledger"])
        assert {line["category"]: line["amount_fen"] for line in body["lines"]} == {
            "dibao": 1000,
            "none": 400,
        }
        page = auditor.get(f"/funders/{ids['city']}/statements?month=2026-11&lang=en")
        assert page.status_code == 200
        assert "¥14.00" in page.text and "Minimum living allowance" in page.text
        assert f'href="/funders/{ids["city"]}/statements"' in page.text  # the nav link
        assert auditor.get("/settlement").status_code == 403
        assert auditor.get(f"/funders/{ids['charity']}/statements").status_code == 403


def test_a_download_matches_the_ledger_is_the_same_twice_and_is_recorded(month):
    app, database, ids = month
    url = f"/api/v1/funders/{ids['city']}/statements/2026-11/files/statement-{ids['code']}"
    with client_for(app, ids["auditor"]) as auditor:
        first = auditor.get(url + ".csv?lang=en")
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(first.content.decode("utf-8-sig"))))
        assert rows[-1][0] == "Total" and rows[-1][3] == "14.00"
        assert auditor.get(url + ".csv?lang=en").content == first.content
        pdf = auditor.get(url + ".pdf")
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF") and auditor.get(url + ".pdf").content == pdf.content
        xlsx = auditor.get(url + ".xlsx")
        assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    with client_for(app, ids["admin"]) as admin:
        # The admin's copy of the same statement is the same file.
        whole = admin.get(f"/api/v1/settlement/2026-11/files/statement-{ids['code']}.csv?lang=en")
        assert whole.content == first.content
        bills = admin.get("/api/v1/settlement/2026-11/files/bills.csv?lang=zh_CN")
        assert bills.status_code == 200 and "低保长者" in bills.content.decode("utf-8-sig")
        again = admin.get("/api/v1/settlement/2026-11/files/bills.csv?lang=zh_CN")
        assert again.content == bills.content
    with database.reading() as session:
        actions = [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.seq))]
    assert actions.count("download_statement") == 5
    assert actions.count("download_settlement_file") == 3


def test_a_bad_month_or_an_unknown_file_is_refused_in_the_readers_language(month):
    app, _, ids = month
    with client_for(app, ids["admin"]) as admin:
        bad = admin.get("/api/v1/settlement?month=2026-13&lang=zh_CN")
        assert bad.status_code == 422 and bad.json()["error"] == "invalid_month"
        assert "2026-13" in bad.json()["message"] and "月份" in bad.json()["message"]
        page = admin.get("/settlement?month=november", headers={"accept": "text/html"})
        assert page.status_code == 422 and "november" in page.text
        for url in (
            "/api/v1/settlement/2026-11/files/secrets.csv?lang=en",
            f"/api/v1/funders/{ids['city']}/statements/2026-11/files/claims.csv?lang=en",
        ):
            missing = admin.get(url)
            assert missing.status_code == 404, url
            assert missing.json()["error"] == "settlement_file_not_found", url
            assert "no settlement file" in missing.json()["message"], url
        # A path in the name is no file of the month either.
        traversal = admin.get("/api/v1/settlement/2026-11/files/..%2F..%2Fetc%2Fpasswd?lang=en")
        assert traversal.status_code == 404 and "does not exist" in traversal.json()["message"]
        bad_file_month = admin.get("/api/v1/settlement/11-2026/files/claims.csv")
        assert bad_file_month.status_code == 422
        nobody = admin.get("/api/v1/funders/999999/statements?lang=en")
        assert nobody.status_code == 404 and nobody.json()["error"] == "funder_not_found"
