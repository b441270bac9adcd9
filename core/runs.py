"""Jobs that run once a day (or once a period), whichever process or restart gets there first:
the claim, in the caller's transaction, that a job has run for a day."""

from datetime import date, datetime

from sqlmodel import Session

from core.db import upsert_insert
from core.models import DailyRun


def claim_run(session: Session, *, job: str, day: date, at: datetime) -> bool:
    """Record that `job` has run for `day`; False if it already had (nothing is written)."""
    statement = (
        upsert_insert(session)(DailyRun)
        .values(job=job, service_date=day, ran_at=at)
        .on_conflict_do_nothing()
        .returning(DailyRun.job)
    )
    return session.execute(statement).first() is not None
