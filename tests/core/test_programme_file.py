"""A programme's set-up as one file: exported from one installation and imported into another,
names by code, not ids; nothing of the elders; a second import adds nothing; a bad file or
entry is refused, translated, with nothing written."""

import json
from datetime import datetime, time

import pytest
from sqlmodel import func, select

from billing.models import Fund, FundBudget, Funder, SubsidyRule
from core.clock import FixedClock
from core.models import Community, CommunityWorker, Dish, Elder, MealSlot, Rider, Site
from core.types import SiteKind
from tests.conftest import SHANGHAI, fresh_database, row_counts
from tests.factories import Factory, PolicyFactory
from usecases import programme, setup

ADMIN = "staff:admin"


def _first_programme(make: Factory) -> dict:
    """A kitchen and a canteen for two communities (one in another district), a rider, a
    worker, a dish, an elder, a funder of a district with a fund, a budget and a rule."""
    session = make.session
    yuexiu = make.community(code="YX1", street="北京街", district="越秀区")
    haizhu = make.community(code="HZ1", street="北京街", district="海珠区")
    kitchen = make.site(serves=[yuexiu, haizhu], code="K1", kind=SiteKind.central_kitchen)
    kitchen.kitchen_id = kitchen.id
    canteen = make.site(serves=[yuexiu], code="C1", kitchen_id=kitchen.id)
    setup.create_rider(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        rider_in={
            "name": "陈师傅",
            "phone": "13900000001",
            "kitchen_id": kitchen.id,
            "shift_start": "10:30",
            "shift_end": "13:00",
        },
    )
    setup.create_worker(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        worker_in={
            "community_id": haizhu.id,
            "community_ids": [yuexiu.id],
            "name": "王社工",
            "phone": "13600000001",
        },
    )
    make.dish(code="D-RICE", name_zh="叉烧饭", name_en="Char siu rice", allergens=["soy"])
    make.elder(yuexiu, categories=["tekun"])
    policy = PolicyFactory(session)
    funder = policy.funder(
        code="GOV-YX",
        layer="district",
        district="越秀区",
        district_id=yuexiu.district_id,
    )
    fund = policy.fund(funder, 500_000, period="month")
    session.add(FundBudget(fund_id=fund.id, period="2026-12", budget_fen=600_000, committed_fen=1))
    policy.rule(funder, fund_id=fund.id, site_ids=[canteen.id], categories=["tekun"])
    policy.policy(elder_min_payment_fen=100)
    session.flush()
    return programme.export_setup(session=session, clock=make.clock, actor=ADMIN)


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_a_second_district_starts_from_the_first_ones_file(empty_database, tmp_path):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        document = _first_programme(Factory(session, clock))
    data = json.dumps(document, ensure_ascii=False)
    assert "叉烧饭" in data
    assert "elders" not in document
    other, drop = fresh_database(empty_database.engine.dialect.name, tmp_path)
    try:
        with other.transaction() as session:
            imported = programme.import_setup(
                session=session,
                clock=clock,
                actor=ADMIN,
                document=programme.read_setup_file(data.encode()),
            )
        assert imported.added == {
            "communities": 2,
            "sites": 2,
            "riders": 1,
            "workers": 1,
            "dishes": 1,
            "funders": 1,
            "funds": 1,
            "fund_budgets": 1,
            "rules": 1,
            "billing_policies": 1,
        }
        with other.reading() as session:
            assert _count(session, Elder) == 0
            communities = {c.code: c for c in session.exec(select(Community))}
            assert communities["YX1"].street_id != communities["HZ1"].street_id
            sites = {s.code: s for s in session.exec(select(Site))}
            assert sites["K1"].kitchen_id == sites["K1"].id
            assert sites["C1"].kitchen_id == sites["K1"].id
            assert _count(session, MealSlot) == 4
            rider = session.exec(select(Rider)).one()
            assert (rider.kitchen_id, rider.shift_start) == (sites["K1"].id, time(10, 30))
            worker = session.exec(select(CommunityWorker)).one()
            assert worker.community_id == communities["HZ1"].id
            assert setup.worker_communities(session=session, worker_id=worker.id) == sorted(
                [communities["HZ1"].id, communities["YX1"].id]
            )
            assert session.exec(select(Dish)).one().allergens == ["soy"]
            funder = session.exec(select(Funder)).one()
            assert funder.district_id == communities["YX1"].district_id
            fund = session.exec(select(Fund)).one()
            budget = session.exec(select(FundBudget)).one()
            assert (budget.fund_id, budget.budget_fen, budget.committed_fen) == (
                fund.id,
                600_000,
                0,
            )
            rule = session.exec(select(SubsidyRule)).one()
            assert (rule.funder_id, rule.fund_id, rule.site_ids) == (
                funder.id,
                fund.id,
                [sites["C1"].id],
            )
        with other.transaction() as session:
            again = programme.import_setup(
                session=session, clock=clock, actor=ADMIN, document=document
            )
        assert again.added == {}
        assert again.kept == imported.added
    finally:
        drop()


def test_a_file_that_is_not_a_set_up_is_refused_in_both_languages(session, make):
    with pytest.raises(programme.SetupFileInvalid) as refused:
        programme.read_setup_file(b"\xff\xfe not json")
    assert refused.value.render("zh_CN") != refused.value.render("en")
    with pytest.raises(programme.SetupFileInvalid):
        programme.import_setup(
            session=session, clock=make.clock, actor=ADMIN, document={"communities": []}
        )


def test_a_bad_entry_is_named_by_section_and_number_and_nothing_is_written(session, make):
    counts = row_counts(session)
    document = {
        "format": "mealaid-setup",
        "version": 1,
        "communities": [
            {
                "code": "A1",
                "name": "甲社区",
                "street": "北京街",
                "district": "越秀区",
                "city": "广州市",
                "lat": 23.1,
                "lon": 113.2,
            }
        ],
        "sites": [
            {
                "code": "S1",
                "name": "饭堂",
                "kind": "canteen",
                "address": "北京路1号",
                "lat": 23.1,
                "lon": 113.2,
                "community": "NOWHERE",
                "phone": "020-1234 5678",
            }
        ],
    }
    with pytest.raises(programme.SetupEntryInvalid) as refused, session.begin_nested():
        programme.import_setup(session=session, clock=make.clock, actor=ADMIN, document=document)
    assert "NOWHERE" in refused.value.render("en")
    assert "1" in refused.value.render("zh_CN")
    assert refused.value.render("zh_CN") != refused.value.render("en")
    assert row_counts(session) == counts


def test_the_elders_go_along_only_when_asked_and_without_their_id_numbers(empty_database, tmp_path):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        _first_programme(make)
        document = programme.export_setup(
            session=session, clock=clock, actor=ADMIN, with_elders=True
        )
        elder = session.exec(select(Elder)).one()
        shown = (elder.name, elder.phone, elder.birth_date)
    [entry] = document["elders"]
    assert entry["community"] == "YX1" and "id_number" not in entry
    assert entry["categories"]
    other, drop = fresh_database(empty_database.engine.dialect.name, tmp_path)
    try:
        with other.transaction() as session:
            imported = programme.import_setup(
                session=session, clock=clock, actor=ADMIN, document=document
            )
        assert imported.added["elders"] == 1
        with other.reading() as session:
            copied = session.exec(select(Elder)).one()
            assert (copied.name, copied.phone, copied.birth_date) == shown
            community = session.get(Community, copied.community_id)
            assert community.code == "YX1"
        with other.transaction() as session:
            again = programme.import_setup(
                session=session, clock=clock, actor=ADMIN, document=document
            )
        assert again.kept["elders"] == 1 and "elders" not in again.added
    finally:
        drop()
