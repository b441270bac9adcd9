"""What an accountant and an auditor read: every bill line names the elder by her number as
well as her name (two of one name are two people), and a funder's statement comes meal by
meal, the lines an auditor samples from, adding up to the statement."""

import csv
import io
from datetime import datetime

import pypdfium2
import pytest
import sqlalchemy as sa
from sqlmodel import select

from billing.models import LedgerEntry
from core.audit import AuditEntry
from core.clock import FixedClock
from core.models import Elder, Order
from tests.api.test_settlement_api import client_for
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.core.test_report_sheets import xlsx_sheets
from tests.factories import Factory, make_staff, served_lunches


@pytest.fixture
def namesakes(empty_database):
    """The month of served_lunches, two of its three elders named alike."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        city, charity = served_lunches(make)
        by_name = {e.name: e for e in session.exec(select(Elder))}
        dibao, namesakes = by_name["低保长者"], [by_name["普通长者"], by_name["另一位"]]
        for elder, tail in zip(namesakes, ["123X", "0456"], strict=True):
            elder.name = "陆伟雄"
            elder.id_number_tail = tail  # the 低保 elder's ID card is not on record
        ids = {
            "city": city.id,
            "code": city.code,
            "charity_code": charity.code,
            "elders": sorted([dibao.id] + [e.id for e in namesakes]),  # those who ate
            "namesakes": {e.id for e in namesakes},
            "tails": {e.id: e.id_number_tail or "" for e in [dibao, *namesakes]},
            "orders": {o.id: o.elder_id for o in session.exec(select(Order))},
            "dibao": dibao.id,
            "admin": make_staff(make, "admin").username,
            "auditor": make_staff(make, "funder_auditor", funder_id=city.id).username,
            "ledger": {
                order_id: amount
                for order_id, amount in session.execute(
                    sa.select(LedgerEntry.order_id, sa.func.sum(LedgerEntry.amount_fen))
                    .where(LedgerEntry.funder_id == city.id)
                    .group_by(LedgerEntry.order_id)
                )
            },
        }
    app = web_app(database=empty_database, clock=clock)
    yield app, empty_database, ids


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_every_bill_line_names_the_elder_by_her_number(namesakes):
    app, _, ids = namesakes
    files = "/api/v1/settlement/2026-11/files/"
    with client_for(app, ids["admin"]) as admin:
        bills = rows_of(admin.get(files + "bills.csv?lang=zh_CN"))
        assert bills[0][:2] == ["长者", "长者编号"]
        named_alike = {int(row[1]) for row in bills[1:] if row[0] == "陆伟雄"}
        assert named_alike == ids["namesakes"]  # two people, not one eating twice
        assert all(int(row[1]) in ids["elders"] for row in bills[1:])
        summary = xlsx_sheets(admin.get(files + "bills-summary.xlsx?lang=en").content)[0]
        assert summary[0][:2] == ["Elder", "Elder no."]
        assert sorted(int(row[1]) for row in summary[1:]) == ids["elders"]
        pdf = pypdfium2.PdfDocument(admin.get(files + "bills.pdf?lang=zh_CN").content)
        text = "".join(page.get_textpage().get_text_range() for page in pdf)
        for elder_id in ids["namesakes"]:
            assert f"陆伟雄，长者编号 {elder_id}" in text


def test_every_bill_carries_the_last_four_of_her_id_card_beside_her_number(namesakes):
    app, _, ids = namesakes
    files = "/api/v1/settlement/2026-11/files/"
    with client_for(app, ids["admin"]) as admin:
        bills = rows_of(admin.get(files + "bills.csv?lang=zh_CN"))
        assert bills[0][:4] == ["长者", "长者编号", "身份证后4位", "日期"]
        assert {int(row[1]): row[2] for row in bills[1:]} == ids["tails"]
        summary = xlsx_sheets(admin.get(files + "bills-summary.xlsx?lang=en").content)[0]
        assert summary[0][:4] == ["Elder", "Elder no.", "ID card (last 4)", "Meals"]
        # "0456" stays text: a number would lose its leading zero.
        assert {int(row[1]): row[2] or "" for row in summary[1:]} == ids["tails"]
        pdf = pypdfium2.PdfDocument(admin.get(files + "bills.pdf?lang=en").content)
        text = "".join(page.get_textpage().get_text_range() for page in pdf)
        for elder_id, tail in ids["tails"].items():
            if tail:
                assert f"elder no. {elder_id}, ID card ending {tail}" in text
            else:
                assert f"elder no. {elder_id}, ID card" not in text


def test_the_statement_meal_by_meal_carries_the_last_four_of_her_id_card_beside_her_number(
    namesakes,
):
    """As the bills do (the same columns): an auditor matches a meal to the civil-affairs list
    by the elder's number and her ID card's last four, with neither her name nor the whole
    number on the file."""
    app, _, ids = namesakes
    files = f"/api/v1/funders/{ids['city']}/statements/2026-11/files/"
    with client_for(app, ids["auditor"]) as auditor:
        meals = rows_of(auditor.get(files + f"meals-{ids['code']}.csv?lang=zh_CN"))
        assert meals[0][3:5] == ["长者编号", "身份证后4位"]
        assert {int(row[3]): row[4] for row in meals[1:]} == ids["tails"]
        sheet = xlsx_sheets(auditor.get(files + f"meals-{ids['code']}.xlsx?lang=en").content)[0]
        assert sheet[0][3:5] == ["Elder no.", "ID card (last 4)"]
        # "0456" stays text: a number would lose its leading zero.
        assert {int(row[3]): row[4] or "" for row in sheet[1:]} == ids["tails"]
        assert "陆伟雄" not in "".join(",".join(row) for row in meals)
        # The statement's page says what the meal-by-meal files hold.
        page = auditor.get(f"/funders/{ids['city']}/statements?month=2026-11&lang=en").text
        assert "elder no. and ID card (last 4)" in page
        page = auditor.get(f"/funders/{ids['city']}/statements?month=2026-11&lang=zh_CN").text
        assert "长者编号和身份证后4位" in page


def test_an_auditor_downloads_the_statement_meal_by_meal(namesakes):
    app, database, ids = namesakes
    files = f"/api/v1/funders/{ids['city']}/statements/2026-11/files/"
    with client_for(app, ids["auditor"]) as auditor:
        page = auditor.get(f"/funders/{ids['city']}/statements?month=2026-11&lang=zh_CN").text
        assert f'href="{files}meals-{ids["code"]}.csv"' in page
        assert f'href="{files}meals-{ids["code"]}.xlsx"' in page
        body = auditor.get(f"/api/v1/funders/{ids['city']}/statements?month=2026-11").json()
        assert body["meal_files"] == [f"meals-{ids['code']}.csv", f"meals-{ids['code']}.xlsx"]
        meals = auditor.get(files + f"meals-{ids['code']}.csv?lang=en")
        assert meals.status_code == 200 and meals.headers["content-type"].startswith("text/csv")
        header, *rows = rows_of(meals)
        assert header == [
            "Date",
            "Meal",
            "Site",
            "Elder no.",
            "ID card (last 4)",
            "Elder category",
            "Order",
            "Guangzhou pays (yuan)",
        ]
        # One line per meal the funder paid part of: as many as the statement's meals, its
        # parts the ledger's, adding up to the statement's total.
        assert len(rows) == body["meals"] == 3
        assert {int(row[6]): round(float(row[7]) * 100) for row in rows} == ids["ledger"]
        assert sum(round(float(row[7]) * 100) for row in rows) == body["total_fen"] == 1400
        for row in rows:
            assert row[0] == "2026-11-25" and row[1] == "lunch"
            assert int(row[3]) == ids["orders"][int(row[6])]  # the order's elder
            dibao = int(row[3]) == ids["dibao"]
            assert row[5] == ("Minimum living allowance (低保)" if dibao else "no category")
        assert "陆伟雄" not in meals.text  # numbers, not names: the auditor needs no more
        again = auditor.get(files + f"meals-{ids['code']}.csv?lang=en")
        assert again.content == meals.content
        sheet = xlsx_sheets(auditor.get(files + f"meals-{ids['code']}.xlsx?lang=en").content)
        assert [[cell or "" for cell in row[:7]] for row in sheet[0]] == [header[:7]] + [
            row[:7] for row in rows
        ]
        # Another funder's lines are not this auditor's.
        other = auditor.get(
            f"/api/v1/funders/{ids['city']}/statements/2026-11/files/"
            f"meals-{ids['charity_code']}.csv"
        )
        assert other.status_code == 404
    with client_for(app, ids["admin"]) as admin:
        settlement = admin.get("/settlement?month=2026-11&lang=zh_CN").text
        assert f"/api/v1/settlement/2026-11/files/meals-{ids['code']}.xlsx" in settlement
        whole = admin.get(f"/api/v1/settlement/2026-11/files/meals-{ids['code']}.csv?lang=en")
        assert whole.content == meals.content
    with database.reading() as session:
        downloads = session.exec(
            select(AuditEntry).where(AuditEntry.action == "download_statement")
        ).all()
    assert len(downloads) == 3
