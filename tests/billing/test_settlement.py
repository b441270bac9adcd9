"""Monthly settlement: statements agree with the ledger, files are reproducible and readable,
and doubtful meals are held out of the claims until approved."""

import hashlib
from datetime import date, timedelta

import pypdf
import pytest
import sqlalchemy as sa
from sqlmodel import select

from billing import service as billing_service
from billing.errors import InvalidMonth, SettlementFileNotFound
from billing.exports import settle_files, settlement_file, settlement_file_names
from billing.models import AnomalyReason, LedgerEntry
from billing.settlement import (
    ElderTotal,
    bill_rows,
    decide,
    flag_anomalies,
    funder_statements,
    month_range,
    provider_claims,
    tally,
)
from core.elders import pause_elder
from core.models import ElderCategory, Order
from core.types import Category, OrderStatus, Slot
from tests.factories import SETTINGS, PolicyFactory, lunch_delivered
from usecases import ordering

NOVEMBER = month_range("2026-11")


@pytest.fixture
def served(make, session):
    """Three elders served lunch today under a city rule for 低保 and a universal one."""
    site, dishes, _ = make.world()
    policy = PolicyFactory(session)
    city = policy.funder(name_zh="广州市民政局", name_en="Guangzhou Civil Affairs")
    policy.rule(city, code="DIBAO", categories=["dibao"], amount_fen=800)
    policy.rule(city, code="BASE", amount_fen=200, stacks=True)
    elders = [
        make.elder(site, name="低保长者", categories=[Category.minimum_living]),
        make.elder(site, name="普通长者"),
        make.elder(site, name="另一位"),
    ]
    orders = lunch_delivered(make, site, dishes[0], elders)
    return site, elders, orders, city


def test_each_statement_total_is_the_sum_of_that_funders_ledger_entries(served, session):
    _, _, _, city = served
    statements = {
        s.funder_id: s
        for s in funder_statements(session=session, first=NOVEMBER[0], last=NOVEMBER[1])
    }
    ledger = session.execute(
        sa.select(sa.func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.funder_id == city.id)
    ).scalar_one()
    assert statements[city.id].total_fen == ledger == 800 + 3 * 200
    by_category = {
        line.category: (line.meals, line.amount_fen) for line in statements[city.id].lines
    }
    assert by_category == {"dibao": (1, 1000), "none": (2, 400)}


def test_a_reversed_meal_counts_for_no_funder_and_a_category_is_the_one_held_that_day(
    served, session, make
):
    _, elders, orders, city = served
    # The 低保 elder's meal is reversed: its entries cancel out, so it is no meal for the city.
    billing_service.reverse(session=session, clock=make.clock, order_id=orders[0], reason="test")
    # 普通长者 gets 高龄 from today and 独居 only from tomorrow: the meal is listed as 高龄.
    for category, start in (
        ("advanced_age", make.today),
        ("living_alone", make.today.replace(day=26)),
    ):
        session.add(ElderCategory(elder_id=elders[1].id, category=category, valid_from=start))
    session.flush()
    statement = next(
        s
        for s in funder_statements(session=session, first=NOVEMBER[0], last=NOVEMBER[1])
        if s.funder_id == city.id
    )
    by_category = {line.category: (line.meals, line.amount_fen) for line in statement.lines}
    assert by_category == {"dibao": (0, 0), "advanced_age": (1, 200), "none": (1, 200)}


def test_each_elders_totals_add_up_their_bill_rows(served, session, make):
    site, elders, _, _ = served
    # A second meal for the 低保 elder (dinner), served, so that a total adds up two meals.
    billed = ordering.place_order(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elders[0].id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.dinner,
        dish_id=session.get(Order, served[2][0]).dish_id,
        variant="regular",
        idempotency_key="s-dinner",
    )
    ordering.run_cutoff(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.dinner,
        early=True,
    )
    ordering.record_outcome(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        order_id=billed.order.id,
        outcome=OrderStatus.delivered,
        by="rider",
    )
    rows = list(bill_rows(session=session, first=NOVEMBER[0], last=NOVEMBER[1]))
    totals: list[ElderTotal] = []
    assert list(tally(iter(rows), totals)) == rows, "the rows pass through unchanged"
    assert [t.elder_id for t in totals] == sorted(e.id for e in elders)
    for total in totals:
        mine = [row for row in rows if row[0] == total.elder_id]
        assert total.meals == len(mine)
        assert total.shares == [sum(row[9 + i] for row in mine) for i in range(4)]
        assert total.price_fen == sum(total.shares)
    # 低保: two meals of 15.00, each with 8.00 + 2.00 from the city; dates as ISO text.
    first = totals[0]
    assert (first.name, first.meals, first.price_fen, first.shares[0]) == (
        "低保长者",
        2,
        3000,
        2000,
    )
    assert {row[4] for row in rows} == {make.today.isoformat()}


def test_settlement_files_are_identical_when_generated_twice(served, session, make, tmp_path):
    hashes = []
    for attempt in range(2):
        folder = tmp_path / f"run{attempt}"
        reviews = flag_anomalies(
            session=session, clock=make.clock, first=NOVEMBER[0], last=NOVEMBER[1]
        )
        result = settle_files(
            session=session,
            month="2026-11",
            first=NOVEMBER[0],
            last=NOVEMBER[1],
            folder=folder,
            locale="zh_CN",
            reviews=reviews,
        )
        hashes.append(
            {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in result.files}
        )
    assert hashes[0] == hashes[1]
    assert {name.rsplit(".", 1)[1] for name in hashes[0]} == {"csv", "xlsx", "pdf"}


def test_each_file_alone_is_named_and_built_byte_for_byte_as_in_the_whole_month(
    served, session, make, tmp_path
):
    reviews = flag_anomalies(session=session, clock=make.clock, first=NOVEMBER[0], last=NOVEMBER[1])
    month = dict(month="2026-11", first=NOVEMBER[0], last=NOVEMBER[1], locale="en")
    whole = settle_files(session=session, folder=tmp_path / "all", reviews=reviews, **month)
    names = settlement_file_names(session=session)
    assert names == [path.name for path in whole.files]
    for name in names:
        alone = settlement_file(
            session=session, folder=tmp_path / name, reviews=reviews, name=name, **month
        )
        assert alone.read_bytes() == (tmp_path / "all" / name).read_bytes(), name


def test_asking_for_a_file_the_month_does_not_have_is_refused(served, session, tmp_path):
    with pytest.raises(SettlementFileNotFound):
        settlement_file(
            session=session,
            month="2026-11",
            first=NOVEMBER[0],
            last=NOVEMBER[1],
            folder=tmp_path,
            locale="en",
            reviews=[],
            name="../secrets.csv",
        )


def test_the_pdfs_carry_the_chinese_text(served, session, make, tmp_path):
    _, _, _, city = served
    result = settle_files(
        session=session,
        month="2026-11",
        first=NOVEMBER[0],
        last=NOVEMBER[1],
        folder=tmp_path,
        locale="zh_CN",
        reviews=[],
    )
    statement = pypdf.PdfReader(tmp_path / f"statement-{city.code}.pdf")
    text = "".join(page.extract_text() for page in statement.pages)
    assert "广州市民政局" in text and "低保" in text and "14.00" in text
    bills = "".join(p.extract_text() for p in pypdf.PdfReader(tmp_path / "bills.pdf").pages)
    assert "低保长者" in bills and "政府补贴" in bills and "长者自付" in bills
    assert ("广州市民政局", 1400) in result.totals


def test_a_category_ended_before_the_meal_holds_it_out_of_the_claim_until_approved(
    served, session, make
):
    _, elders, orders, _ = served
    # The community worker learns late that the 低保 ended the day before the meal.
    grant = session.exec(select(ElderCategory).where(ElderCategory.elder_id == elders[0].id)).one()
    grant.valid_to = make.today - timedelta(days=1)
    session.add(grant)
    session.flush()
    reviews = flag_anomalies(session=session, clock=make.clock, first=NOVEMBER[0], last=NOVEMBER[1])
    assert [(r.order_id, r.reason) for r in reviews] == [(orders[0], AnomalyReason.category_lapsed)]
    claim = provider_claims(session=session, first=NOVEMBER[0], last=NOVEMBER[1])[0]
    assert (claim.meals, claim.amount_fen, claim.held_meals, claim.held_fen) == (2, 400, 1, 1000)
    decide(
        session=session,
        clock=make.clock,
        order_id=orders[0],
        reason=AnomalyReason.category_lapsed,
        approve=True,
        by="审核员",
    )
    claim = provider_claims(session=session, first=NOVEMBER[0], last=NOVEMBER[1])[0]
    assert (claim.meals, claim.amount_fen, claim.held_meals) == (3, 1400, 0)
    # Checking again does not undo the decision.
    again = flag_anomalies(session=session, clock=make.clock, first=NOVEMBER[0], last=NOVEMBER[1])
    assert [r.status for r in again] == ["approved"]


def test_a_meal_on_a_paused_day_or_without_a_service_record_is_flagged(served, session, make):
    _, elders, orders, _ = served
    pause_elder(session=session, elder_id=elders[1].id, start_date=make.today, end_date=make.today)
    session.execute(sa.update(Order).where(Order.id == orders[2]).values(outcome_at=None))
    reasons = {
        (r.order_id, r.reason)
        for r in flag_anomalies(
            session=session, clock=make.clock, first=NOVEMBER[0], last=NOVEMBER[1]
        )
    }
    assert reasons == {
        (orders[1], AnomalyReason.elder_paused),
        (orders[2], AnomalyReason.no_service_record),
    }


def test_a_sites_day_far_above_its_usual_is_flagged(make, session):
    community = make.community()
    site = make.site(serves=[community])
    dish = make.dish()
    elders = [make.elder(community) for _ in range(30)]
    days = [date(2026, 11, 16) + timedelta(days=n) for n in range(7)]
    for day in days:
        make.menu(site, [dish], day)
    for index, day in enumerate(days):
        eating = elders if index == len(days) - 1 else elders[:3]
        make.clock.set(
            make.clock.now().replace(year=day.year, month=day.month, day=day.day, hour=8)
        )
        placed = [
            ordering.place_order(
                session=session,
                clock=make.clock,
                settings=SETTINGS,
                elder_id=elder.id,
                site_id=site.id,
                service_date=day,
                slot=Slot.lunch,
                dish_id=dish.id,
                variant="regular",
                idempotency_key=f"j-{elder.id}-{day}",
            ).order.id
            for elder in eating
        ]
        ordering.run_cutoff(
            session=session,
            clock=make.clock,
            settings=SETTINGS,
            site_id=site.id,
            service_date=day,
            slot=Slot.lunch,
            early=True,
        )
        for order_id in placed:
            ordering.record_outcome(
                session=session,
                clock=make.clock,
                settings=SETTINGS,
                order_id=order_id,
                outcome=OrderStatus.delivered,
                by="rider",
            )
    reviews = flag_anomalies(session=session, clock=make.clock, first=NOVEMBER[0], last=NOVEMBER[1])
    assert len(reviews) == 30 and {r.reason for r in reviews} == {AnomalyReason.site_count_jump}


@pytest.mark.parametrize("month", ["2026-13", "November", "", "2026-1"])
def test_a_bad_month_is_refused(month):
    with pytest.raises(InvalidMonth):
        month_range(month)
