"""Month-end settlement: the anomaly checks that hold doubtful meals out of the claims, run by
an admin (`mealaid settle`, the settlement page) or by the scheduler on the 1st."""

from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from billing.models import AnomalyReview, ReviewStatus
from billing.service import fund_standings, ledger_totals
from billing.settlement import flag_anomalies, month_range
from core import audit
from core.clock import Clock
from core.models import Order

__all__ = [
    "check_month",
    "fund_standings",
    "held_by_month",
    "ledger_totals",
    "month_range",
    "previous_month",
]


def previous_month(day: date) -> str:
    """The month before the one `day` falls in, as YYYY-MM."""
    return (day.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def check_month(*, session: Session, clock: Clock, month: str, actor: str) -> list[AnomalyReview]:
    """Run the month's anomaly checks (again adds only what is new) and record who ran them."""
    first, last = month_range(month)
    reviews = flag_anomalies(session=session, clock=clock, first=first, last=last)
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="month_checked",
        subject=f"month:{month}",
        detail=f"{len(reviews)} meals held for review",
    )
    return reviews


def held_by_month(*, session: Session) -> dict[str, int]:
    """Meals still held for review, by the month they were served in (YYYY-MM), oldest first:
    what the admin is shown on opening the app until each is decided."""
    rows = session.execute(
        sa.select(col(Order.service_date), sa.func.count(sa.distinct(col(Order.id))))
        .join(AnomalyReview, col(AnomalyReview.order_id) == col(Order.id))
        .where(col(AnomalyReview.status) == ReviewStatus.held.value)
        .group_by(col(Order.service_date))
    )
    months: dict[str, int] = {}
    for day, count in sorted(rows):
        month = day.strftime("%Y-%m")
        months[month] = months.get(month, 0) + count
    return months
