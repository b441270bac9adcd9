"""The kitchen's files with hostile names in them (issue 23, findings 4 and 5): elders, a rider,
a dish and a kitchen named like spreadsheet formulas or ReportLab markup come out as typed in
every PDF and as text in every CSV, downloaded from the web as kitchen staff do."""

import io
from datetime import datetime

import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from core.clock import FixedClock
from core.models import Elder, Order, Rider, Site
from tests.apps import web_app
from tests.billing.test_export_injection import assert_no_formula, csv_rows
from tests.conftest import SHANGHAI
from tests.factories import Factory, kitchen_with_route, log_in, make_staff, route_key

ELDERS = ["=1+1", '<img src="x"/>', "<b"]
RIDER = "<i>骑手</b>"
DISH = '+<font size="80">大字</font>'
KITCHEN = "-2+3 & <para>厨房"
FILES = [
    "production.csv",
    "production.pdf",
    "special-diets.csv",
    "special-diets.pdf",
    "purchase.csv",
    "purchase.pdf",
    "packing.csv",
    "packing.pdf",
    "labels-a4.pdf",
    "labels-thermal.pdf",
]


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def hostile_kitchen(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        route_id, orders = kitchen_with_route(make, elders=3)
        for order_id, name in zip(orders, ELDERS, strict=True):
            order = session.get_one(Order, order_id)
            elder = session.get_one(Elder, order.elder_id)
            # Allergic: each is named on the special-diet list too.
            elder.name, elder.allergies = name, ["egg"]
            order.dish_name_zh = order.dish_name_en = DISH
            session.add_all([elder, order])
        rider = session.exec(select(Rider)).one()
        rider.name = RIDER
        kitchen = session.get_one(Site, rider.kitchen_id)
        kitchen.name = KITCHEN
        session.add_all([rider, kitchen])
        ids = {"kitchen": kitchen.id, "route": route_id}
        ids["staff"] = make_staff(make, "kitchen", kitchen_id=kitchen.id).username
    with TestClient(web_app(database=empty_database, clock=clock)) as client:
        assert log_in(client, ids["staff"]).status_code == 303
        yield client, ids, empty_database


def test_every_kitchen_file_prints_the_names_as_typed(hostile_kitchen):
    client, ids, database = hostile_kitchen
    texts = {}
    for name in FILES:
        response = client.get(
            f"/api/v1/kitchens/{ids['kitchen']}/files/{name}?date=2026-11-25&lang=zh_CN"
        )
        assert response.status_code == 200, name
        if name.endswith(".pdf"):
            texts[name] = pdf_text(response.content)
        else:
            assert_no_formula(csv_rows(response.content))
    for name in ELDERS:
        for file in ("special-diets.pdf", "packing.pdf", "labels-a4.pdf", "labels-thermal.pdf"):
            assert name in texts[file], (name, file)
    assert RIDER in texts["packing.pdf"]
    assert KITCHEN in texts["production.pdf"] and DISH in texts["production.pdf"]
    # The riders' route sheet (it escaped its text already; kept so).
    key = route_key(database, ids["route"])
    sheet = client.get(f"/api/v1/routes/{ids['route']}/sheet.pdf?key={key}&lang=en")
    assert sheet.status_code == 200
    for name in [*ELDERS, RIDER, KITCHEN]:
        assert name in pdf_text(sheet.content), name


def test_every_kitchen_csv_writes_formulas_as_text(hostile_kitchen):
    client, ids, _ = hostile_kitchen
    url = f"/api/v1/kitchens/{ids['kitchen']}/files/{{}}?date=2026-11-25&lang=en"
    diets = csv_rows(client.get(url.format("special-diets.csv")).content)
    assert sorted(row[0] for row in diets[1:]) == sorted(["'=1+1", '<img src="x"/>', "<b"])
    assert {row[1] for row in diets[1:]} == {"'" + DISH}
    packing = csv_rows(client.get(url.format("packing.csv")).content)
    assert "'=1+1" in {row[2] for row in packing[1:]}
    production = csv_rows(client.get(url.format("production.csv")).content)
    assert production[1][0] == "'" + DISH and production[1][3] == "3"
