"""The subsidy policy over HTTP: funders, funds and rule versions as JSON and forms for the
admin (auditors read), the preview of a draft, bad input refused by its field in the reader's
language with nothing written."""

import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from billing.models import Fund, Funder, SubsidyRule
from core.audit import AuditEntry
from core.clock import FixedClock
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import Factory, csrf_from, log_in, make_staff


@pytest.fixture
def world(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, _, elder = make.world()
        ids = {
            "site": site.id,
            "elder": elder.id,
            "admin": make_staff(make, "admin").username,
            "auditor": make_staff(make, "funder_auditor").username,
        }
    app = web_app(database=empty_database, clock=clock)
    yield app, empty_database, clock, ids


def client_for(app, username: str) -> TestClient:
    """A browser logged in as this account, sending its CSRF token with JSON as scripts do."""
    client = TestClient(app)
    assert log_in(client, username).status_code == 303
    client.headers["x-csrf-token"] = csrf_from(client.get("/account/password").text)
    return client


def _error_for(html: str, field: str) -> str:
    found = re.search(rf'data-field="{field}">([^<]+)<', html)
    assert found, f"no error shown next to {field}"
    return found.group(1)


def test_the_json_twins_add_a_funder_a_fund_and_a_rule_and_preview_a_draft(world):
    app, database, _, ids = world
    with client_for(app, ids["admin"]) as admin:
        funder = admin.post(
            "/api/v1/funders",
            json={
                "code": "CSH",
                "share": "charity",
                "name_zh": "慈善会",
                "name_en": "Charity",
            },
        )
        assert funder.status_code == 201, funder.text
        fund = admin.post(
            "/api/v1/funds",
            json={
                "code": "LOVE",
                "funder_id": funder.json()["id"],
                "name_zh": "爱心基金",
                "name_en": "Love fund",
                "period": "month",
                "budget_fen": 20_000,
            },
        )
        assert fund.status_code == 201, fund.text
        assert fund.json()["current_period"] == "2026-11"
        draft = {
            "code": "LOVE-ALL",
            "funder_id": funder.json()["id"],
            "fund_id": fund.json()["id"],
            "effective_from": "2026-11-26",
            "amount_fen": 300,
            "excluded_categories": ["tekun"],
        }
        preview = admin.post(
            "/api/v1/subsidy-rules/preview",
            json={"draft": draft, "every_category": True, "price_fen": 1500},
        )
        assert preview.status_code == 200, preview.text
        rows = preview.json()["rows"]
        tekun = next(r for r in rows if r["categories"] == ["tekun"])
        plain = next(r for r in rows if r["categories"] == ["none"])
        assert [p["fen"] for p in tekun["draft"]] == [1500]
        assert [(p["share"], p["fen"]) for p in plain["draft"]] == [
            ("charity", 300),
            ("elder", 1200),
        ]
        published = admin.post("/api/v1/subsidy-rules", json=draft)
        assert published.status_code == 201 and published.json()["version"] == 1
        second = admin.post(
            "/api/v1/subsidy-rules",
            json={**draft, "effective_from": "2026-12-01", "amount_fen": 500},
        )
        assert second.json()["version"] == 2
        lines = admin.get("/api/v1/subsidy-rules?on=2026-11-26").json()
        assert [(x["in_force"]["version"], x["coming"]["version"]) for x in lines] == [(1, 2)]
        budget = admin.put(
            f"/api/v1/funds/{fund.json()['id']}/budgets",
            json={"period": "2026-12", "budget_fen": 30_000},
        )
        assert budget.status_code == 200 and budget.json()["budget_fen"] == 30_000
    with client_for(app, ids["auditor"]) as auditor:
        assert len(auditor.get("/api/v1/subsidy-rules/LOVE-ALL").json()) == 2
        refused = auditor.post("/api/v1/subsidy-rules", json=draft)
        assert refused.status_code == 403
    with database.reading() as session:
        actions = [e.action for e in session.exec(select(AuditEntry))]
    for action in ("create_funder", "create_fund", "publish_rule", "set_fund_budget"):
        assert action in actions


def test_a_version_dated_in_the_past_is_refused_in_the_readers_language(world):
    app, database, _, ids = world
    with client_for(app, ids["admin"]) as admin:
        funder = admin.post(
            "/api/v1/funders",
            json={"code": "OPS", "share": "business", "name_zh": "运营方", "name_en": "Operator"},
        ).json()
        refused = admin.post(
            "/api/v1/subsidy-rules",
            json={
                "code": "OPS",
                "funder_id": funder["id"],
                "effective_from": "2026-11-24",
                "amount_fen": 100,
            },
            headers={"accept-language": "zh-CN"},
        )
        assert refused.status_code == 422
        assert refused.json()["error"] == "rule_starts_in_the_past"
    with database.reading() as session:
        assert session.exec(select(SubsidyRule)).all() == []


def test_the_rule_form_previews_then_publishes_and_shows_bad_input_by_its_field(world):
    app, database, _, ids = world
    with database.transaction() as session:
        city = Funder(
            code="GZ",
            name_zh="广州市民政局",
            name_en="Guangzhou Civil Affairs",
            share="government",
            layer="city",
            city="广州市",
        )
        session.add(city)
        session.flush()
        city_id = city.id
    with client_for(app, ids["admin"]) as admin:
        token = csrf_from(admin.get("/admin/policy/rules/new").text)
        form = {
            "csrf_token": token,
            "code": "CITY-BASE",
            "funder_id": str(city_id),
            "effective_from": "2026-11-26",
            "amount": "abc",
            "priority": "100",
            "preview_every_category": "1",
            "preview_price": "15.00",
            "preview_age": "80",
            "action": "preview",
        }
        bad = admin.post("/admin/policy/rules", data=form)
        assert bad.status_code == 422
        assert (
            _error_for(bad.text, "amount")
            == "请检查“每份金额”：请填写以元为单位的价格，例如 12.50。"
        )
        shown = admin.post("/admin/policy/rules", data={**form, "amount": "4"})
        assert shown.status_code == 200, shown.text
        assert 'id="preview-table"' in shown.text and "¥11.00" in shown.text
        with database.reading() as session:
            assert session.exec(select(SubsidyRule)).all() == []
        done = admin.post(
            "/admin/policy/rules",
            data={**form, "amount": "4", "action": "publish"},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/admin/policy/rules/CITY-BASE?published=1"
        page = admin.get("/admin/policy")
        assert "CITY-BASE" in page.text
    with database.reading() as session:
        (rule,) = session.exec(select(SubsidyRule)).all()
        assert (rule.amount_fen, rule.version) == (400, 1)


def test_the_fund_form_sets_a_periods_budget_in_yuan(world):
    app, database, _, ids = world
    with database.transaction() as session:
        charity = Funder(code="CSH", name_zh="慈善会", name_en="Charity", share="charity")
        session.add(charity)
        session.flush()
        fund = Fund(
            code="LOVE",
            funder_id=charity.id,
            name_zh="爱心基金",
            name_en="Love fund",
            period="month",
            budget_fen=20_000,
        )
        session.add(fund)
        session.flush()
        fund_id = fund.id
    with client_for(app, ids["admin"]) as admin:
        page = admin.get(f"/admin/policy/funds/{fund_id}")
        assert "爱心基金（2026年11月）" in page.text or "Love fund (November 2026)" in page.text
        token = csrf_from(page.text)
        bad = admin.post(
            f"/admin/policy/funds/{fund_id}",
            data={
                "csrf_token": token,
                "action": "period",
                "period": "2026",
                "period_budget": "300",
            },
        )
        assert bad.status_code == 422 and _error_for(bad.text, "period")
        done = admin.post(
            f"/admin/policy/funds/{fund_id}",
            data={
                "csrf_token": token,
                "action": "period",
                "period": "2026-12",
                "period_budget": "300.50",
            },
            follow_redirects=False,
        )
        assert done.status_code == 303
    with client_for(app, ids["admin"]) as admin:
        budgets = admin.get(f"/api/v1/funds/{fund_id}/budgets").json()
        assert [(b["period"], b["budget_fen"]) for b in budgets] == [("2026-12", 30_050)]


def test_the_programme_settings_change_from_a_day_not_yet_past(world):
    app, database, _, ids = world
    with client_for(app, ids["admin"]) as admin:
        page = admin.get("/admin/policy")
        token = csrf_from(page.text)
        bad = admin.post(
            "/admin/policy/settings",
            data={
                "csrf_token": token,
                "effective_from": "2026-11-01",
                "min_payment": "2",
                "unserved": "waived",
            },
        )
        assert bad.status_code == 422
        assert "2026" in _error_for(bad.text, "settings.effective_from")
        done = admin.post(
            "/admin/policy/settings",
            data={
                "csrf_token": token,
                "effective_from": "2026-12-01",
                "min_payment": "2",
                "unserved": "waived",
            },
            follow_redirects=False,
        )
        assert done.status_code == 303
        (setting,) = admin.get("/api/v1/billing-policies").json()
        assert (setting["effective_from"], setting["elder_min_payment_fen"]) == ("2026-12-01", 200)
        assert setting["unserved"] == "waived"
    with database.reading() as session:
        assert "set_billing_policy" in [e.action for e in session.exec(select(AuditEntry))]


def test_the_next_versions_form_starts_from_every_condition_of_the_last(world):
    app, database, _, ids = world
    with client_for(app, ids["admin"]) as admin:
        funder = admin.post(
            "/api/v1/funders",
            json={"code": "OPS", "share": "business", "name_zh": "运营方", "name_en": "Operator"},
        ).json()
        admin.post(
            "/api/v1/subsidy-rules",
            json={
                "code": "OPS-WEEKDAY",
                "funder_id": funder["id"],
                "effective_from": "2026-11-25",
                "amount_fen": 100,
                "weekdays": [1, 2, 3, 4, 5],
                "site_ids": [ids["site"]],
            },
        )
        page = admin.get("/admin/policy/rules/OPS-WEEKDAY").text
        ticked = re.findall(r'name="weekdays" value="(\d)" checked', page)
        assert ticked == ["1", "2", "3", "4", "5"]
        assert f'name="site_ids" value="{ids["site"]}" checked' in page
        # An elder's share is what the funders leave: no funder pays it.
        refused = admin.post(
            "/api/v1/funders",
            json={"code": "ME", "share": "elder", "name_zh": "长者", "name_en": "Elder"},
        )
        assert refused.status_code == 422
    with database.reading() as session:
        assert session.exec(select(Funder).where(Funder.code == "ME")).first() is None
