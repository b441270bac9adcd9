"""Liveness and database reachability for load balancers and the operator."""

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ReadSessionDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=Health)
def healthz(session: ReadSessionDep) -> Health:
    session.execute(sa.text("SELECT 1"))
    return Health(status="ok", database=session.get_bind().dialect.name)
