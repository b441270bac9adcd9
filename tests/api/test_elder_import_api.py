"""The elder import over HTTP (admin only): the JSON twin's dry run and import (422 with every
problem, translated, and nothing written), the clean rows alone, the page's check and import,
and the templates in both languages."""

import io
from datetime import datetime

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from core.clock import FixedClock
from tests.apps import web_app
from tests.conftest import SHANGHAI, row_counts
from tests.elder_files import HEADERS_EN, HEADERS_ZH, csv_file, elder_row
from tests.factories import Factory, csrf_from, log_in, make_staff

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def admin(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        make.community(name="六榕社区")
        username = make_staff(make, "admin").username
    client = TestClient(web_app(database=empty_database, clock=clock))
    assert log_in(client, username).status_code == 303
    return client, empty_database


def counts(database) -> dict:
    with database.reading() as session:
        return row_counts(session)


def a_file_with_one_bad_row() -> bytes:
    bad = elder_row(2, "六榕社区")
    bad[1] = bad[1][:-1] + ("1" if bad[1][-1] != "1" else "2")
    return csv_file(HEADERS_ZH, [elder_row(1, "六榕社区"), bad, elder_row(3, "六榕社区")])


def test_the_json_import_refuses_a_file_with_problems_and_takes_the_clean_rows_when_asked(admin):
    client, database = admin
    token = csrf_from(client.get("/elders/import").text)
    headers = {"x-csrf-token": token, "accept-language": "en"}
    upload = {"file": ("名单.csv", a_file_with_one_bad_row(), "text/csv")}
    before = counts(database)
    checked = client.post("/api/v1/elders/import?dry_run=true", files=upload, headers=headers)
    assert checked.status_code == 200
    body = checked.json()
    assert (body["rows"], body["clean_rows"], body["written"]) == (3, 2, False)
    assert [(p["row"], p["column"]) for p in body["problems"]] == [(3, "身份证号")]
    assert "mistyped" in body["problems"][0]["message"]
    refused = client.post(
        "/api/v1/elders/import", files=upload, headers={**headers, "accept-language": "zh-CN"}
    )
    assert refused.status_code == 422 and refused.json()["written"] is False
    assert "校验位不符" in refused.json()["problems"][0]["message"]
    assert counts(database) == before
    clean = client.post("/api/v1/elders/import?only_clean=true", files=upload, headers=headers)
    assert clean.status_code == 200, clean.text
    assert (clean.json()["created"], clean.json()["skipped"]) == (2, 1)
    assert counts(database)["elder"] == before["elder"] + 2


def test_the_page_checks_then_imports_and_lists_problems_by_row_and_column(admin):
    client, database = admin
    page = client.get("/elders/import?lang=zh_CN")
    assert page.status_code == 200 and "导入长者" in page.text
    token = csrf_from(page.text)
    rows = [elder_row(1, "六榕社区"), elder_row(2, "六榕社区", 类别="低保、贵宾")]
    upload = {"file": ("名单.csv", csv_file(HEADERS_ZH, rows), "text/csv")}
    before = counts(database)
    checked = client.post(
        "/elders/import?lang=zh_CN", data={"csrf_token": token, "action": "check"}, files=upload
    )
    assert checked.status_code == 200
    assert "贵宾" in checked.text and "类别" in checked.text and "未写入" in checked.text
    assert counts(database) == before
    refused = client.post(
        "/elders/import?lang=zh_CN", data={"csrf_token": token, "action": "import"}, files=upload
    )
    assert refused.status_code == 422 and counts(database) == before
    done = client.post(
        "/elders/import?lang=zh_CN",
        data={"csrf_token": token, "action": "import", "only_clean": "1"},
        files=upload,
    )
    assert done.status_code == 200 and "新登记长者 1 位" in done.text
    assert counts(database)["elder"] == before["elder"] + 1
    nothing = client.post("/elders/import", data={"csrf_token": token, "action": "check"})
    assert nothing.status_code == 422


@pytest.mark.parametrize(("lang", "headers"), [("zh_CN", HEADERS_ZH), ("en", HEADERS_EN)])
def test_the_templates_have_the_headers_in_the_language_asked(admin, lang, headers):
    client, _database = admin
    xlsx = client.get(f"/api/v1/elders/import-template?format=xlsx&headers={lang}")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert [cell.value for cell in sheet[1]] == headers
    # The ID number is a text cell: Excel would lose its last digits as a number.
    assert isinstance(sheet["B2"].value, str)
    csv = client.get(f"/api/v1/elders/import-template?format=csv&headers={lang}")
    assert csv.content.startswith(b"\xef\xbb\xbf")
    assert csv.content.decode("utf-8-sig").splitlines()[0] == ",".join(headers)


def test_an_elder_registered_without_a_location_is_marked_approximate_until_corrected(admin):
    client, database = admin
    with database.reading() as session:
        from core.models import Community

        community = session.exec(sa.select(Community)).scalars().one()
    form = {
        "name": "周伯",
        "birth_date": "1949/12/31",
        "id_number": "11010519491231002x",
        "community_id": str(community.id),
        "address": "中山路8号",
        "lat": "",
        "lon": "",
        "language": "zh_CN",
    }
    page = client.get("/elders/new")
    made = client.post(
        "/elders/new?lang=en",
        data={**form, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    elder_id = int(made.headers["location"].split("?")[0].rsplit("/", 1)[1])
    shown = client.get(f"/elders/{elder_id}?lang=en").text
    assert "Location approximate" in shown and "002X" in shown
    assert "11010519491231002X" not in shown
    token = csrf_from(shown)
    record = client.get(f"/api/v1/elders/{elder_id}", headers={"x-csrf-token": token}).json()
    assert record["location_approximate"] is True and record["id_number_tail"] == "002X"
    assert (record["lat"], record["lon"]) == (community.lat, community.lon)
    wrong = client.post(
        "/elders/new?lang=en",
        data={**form, "id_number": "110105194912310021", "csrf_token": token},
    )
    assert wrong.status_code == 422 and "a digit is mistyped" in wrong.text


def test_the_apps_geocoder_places_elders_registered_or_imported_without_a_location(
    empty_database,
):
    from core.models import Elder
    from core.settings import get_settings
    from tests.core.test_geocoding import StandIn

    stand_in = StandIn()
    try:
        settings = get_settings().model_copy(
            update={"geocoder_url": stand_in.url, "geocoder_key": "test-key"}
        )
        clock = FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))
        with empty_database.transaction() as session:
            make = Factory(session, clock)
            community = make.community(name="六榕社区", lat=23.1, lon=113.2)
            username = make_staff(make, "admin").username
        app = web_app(settings=settings, database=empty_database, clock=clock)
        client = TestClient(app)
        assert log_in(client, username).status_code == 303
        token = csrf_from(client.get("/elders/import").text)
        made = client.post(
            "/api/v1/elders",
            json={
                "name": "周伯",
                "address": "越秀区人民路1号",
                "community_id": community.id,
                "birth_date": "1940-01-01",
            },
            headers={"x-csrf-token": token},
        )
        assert made.status_code == 201, made.text
        assert (made.json()["lat"], made.json()["location_approximate"]) == (23.129, False)
        row = elder_row(2, "六榕社区", 地址="越秀区人民路2号")
        upload = {"file": ("a.csv", csv_file(HEADERS_ZH, [row]), "text/csv")}
        imported = client.post(
            "/api/v1/elders/import", files=upload, headers={"x-csrf-token": token}
        )
        assert imported.status_code == 200, imported.text
        with empty_database.reading() as session:
            placed = session.execute(
                sa.select(Elder.lat, Elder.location_approximate).where(Elder.name == "长者2")
            ).one()
        assert tuple(placed) == (23.13, False)
        assert [a["address"] for a in stand_in.asked] == ["越秀区人民路1号", "越秀区人民路2号"]
    finally:
        stand_in.close()
