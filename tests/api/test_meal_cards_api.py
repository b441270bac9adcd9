"""Meal cards from the staff pages: the admin and an elder's community workers print her card
and a community's sheet (PDF, its codes read back by a real decoder) and reissue a lost card
(the old one stops working); workers of other communities are answered as if there were no
such elder or community. Each print and reissue is in the audit log."""

import io
from datetime import datetime

import pypdf
import pypdfium2
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from sqlmodel import col, select

from core.audit import AuditEntry
from core.clock import FixedClock
from core.meal_cards import card_code
from core.models import Elder
from core.types import ElderStatus
from tests.apps import web_app
from tests.conftest import SHANGHAI, row_counts
from tests.factories import Factory, csrf_from, log_in, make_staff


def decoded(pdf: bytes) -> list[str]:
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=200 / 72).to_pil().convert("L")
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return sorted(code.text for code in found)


@pytest.fixture
def registry(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        ours, theirs = make.community(name="惠福西社区"), make.community(name="光塔社区")
        chen = make.elder(ours, name="陈桂英")
        huang = make.elder(ours, name="黄志强")
        gone = make.elder(ours, name="林美华")
        gone.status = ElderStatus.inactive
        session.add(gone)
        other = make.elder(theirs, name="周国平")
        ids = {
            "ours": ours.id,
            "theirs": theirs.id,
            "chen": chen.id,
            "huang": huang.id,
            "other": other.id,
            "worker": make_staff(make, "community_worker", community_ids=[ours.id]).username,
        }
    client = TestClient(web_app(database=empty_database, clock=clock))
    assert log_in(client, ids["worker"]).status_code == 303
    with client:
        yield client, empty_database, ids


def test_a_worker_prints_her_elders_card_and_her_communitys_sheet(registry):
    client, database, ids = registry
    card = client.get(f"/api/v1/elders/{ids['chen']}/meal-card.pdf?lang=zh_CN")
    assert card.status_code == 200 and card.headers["content-type"] == "application/pdf"
    assert decoded(card.content) == [card_code(ids["chen"], 1)]
    text = pypdf.PdfReader(io.BytesIO(card.content)).pages[0].extract_text()
    assert "陈桂英" in text and "惠福西社区" in text and "助餐卡" in text
    sheet = client.get(f"/api/v1/communities/{ids['ours']}/meal-cards.pdf")
    assert sheet.status_code == 200
    # Her community's registered elders; not one who left, not another community's.
    assert decoded(sheet.content) == sorted([card_code(ids["chen"], 1), card_code(ids["huang"], 1)])
    assert (
        client.get("/elders?lang=zh_CN").text.count(
            f'href="/api/v1/communities/{ids["ours"]}/meal-cards.pdf"'
        )
        == 1
    )
    with database.reading() as session:
        printed = session.exec(
            select(AuditEntry.actor, AuditEntry.subject, AuditEntry.detail)
            .where(AuditEntry.action == "print_meal_cards")
            .order_by(AuditEntry.seq)
        ).all()
    actor = f"staff:{ids['worker']}"
    assert [tuple(p) for p in printed] == [
        (actor, f"elder:{ids['chen']}", "card:1"),
        (actor, f"community:{ids['ours']}", f"elder:{ids['chen']} elder:{ids['huang']}"),
    ]


def test_another_communitys_elders_and_cards_are_not_hers(registry):
    client, database, ids = registry
    token = csrf_from(client.get("/elders").text)
    with database.reading() as session:
        before = row_counts(session)
    assert client.get(f"/api/v1/elders/{ids['other']}/meal-card.pdf").status_code == 404
    assert client.get(f"/api/v1/communities/{ids['theirs']}/meal-cards.pdf").status_code == 404
    assert client.get("/api/v1/communities/987654/meal-cards.pdf").status_code == 404
    refused = client.post(
        f"/api/v1/elders/{ids['other']}/meal-card/reissue",
        headers={"x-csrf-token": token, "accept-language": "zh-CN"},
    )
    assert refused.status_code == 404 and refused.json()["message"]
    with database.reading() as session:
        assert row_counts(session) == before
        assert session.get(Elder, ids["other"]).card_number == 1


def test_a_lost_card_is_reissued_and_the_old_one_stops_working(registry):
    client, database, ids = registry
    page = client.get(f"/elders/{ids['chen']}?lang=zh_CN").text
    assert f"卡号 {ids['chen']}-1" in page and "打印助餐卡" in page
    token = csrf_from(page)
    reissued = client.post(
        f"/elders/{ids['chen']}/meal-card/reissue",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert reissued.status_code == 303
    page = client.get(reissued.headers["location"].split("#")[0] + "&lang=zh_CN").text
    assert "已补发新的助餐卡" in page and f"卡号 {ids['chen']}-2" in page
    again = client.post(
        f"/api/v1/elders/{ids['chen']}/meal-card/reissue", headers={"x-csrf-token": token}
    )
    assert again.json() == {"elder_id": ids["chen"], "card_number": 3}
    card = client.get(f"/api/v1/elders/{ids['chen']}/meal-card.pdf")
    assert decoded(card.content) == [card_code(ids["chen"], 3)]
    with database.reading() as session:
        entries = session.exec(
            select(AuditEntry.subject, AuditEntry.detail)
            .where(col(AuditEntry.action) == "reissue_meal_card")
            .order_by(AuditEntry.seq)
        ).all()
    assert [tuple(e) for e in entries] == [
        (f"elder:{ids['chen']}", "card:2"),
        (f"elder:{ids['chen']}", "card:3"),
    ]
