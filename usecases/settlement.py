"""Month-end settlement: the anomaly checks that hold doubtful meals out of the claims, run by
an admin (`mealaid settle`, the settlement page) or by the scheduler on the 1st."""

from datetime import date, timedelta

from sqlmodel import Session

from billing.models import AnomalyReview
from billing.service import ledger_totals
from billing.settlement import flag_anomalies, month_range
from core import audit
from core.clock import Clock

__all__ = ["check_month", "ledger_totals", "month_range", "previous_month"]


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
