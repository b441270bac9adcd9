"""Liveness and database health for load balancers and the operator: `/healthz` answers 200
only when the database takes a write (a committed one), 503 with Retry-After otherwise."""

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ClockDep, SessionDep
from api.errors import BUSY_RESPONSE
from core.db import upsert_insert
from core.models import HealthProbe

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=Health, responses={503: BUSY_RESPONSE})
def healthz(session: SessionDep, clock: ClockDep) -> Health:
    """Ok when the database answered and committed a write; a database that is out of reach,
    full or read-only answers 503 (the app's usual "busy" answer), so a load balancer takes
    this process out of service until the storage is back."""
    now = clock.now()
    session.execute(
        upsert_insert(session)(HealthProbe)
        .values(id=1, written_at=now)
        .on_conflict_do_update(index_elements=["id"], set_={"written_at": now})
    )
    return Health(status="ok", database=session.get_bind().dialect.name)
