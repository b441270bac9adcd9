"""Request dependencies: the unit of work, the clock, the reader's language."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from core.clock import Clock
from core.db import Database


def get_database(request: Request) -> Database:
    return request.app.state.database


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed when the handler returns without error."""
    with get_database(request).transaction() as session:
        yield session


def get_reading_session(request: Request) -> Iterator[Session]:
    with get_database(request).reading() as session:
        yield session


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


def get_locale(request: Request) -> str:
    return request.state.locale


# scope="function": the transaction commits before the response leaves, so a client that
# follows a redirect (or retries) always sees what it was told was done.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_reading_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]
LocaleDep = Annotated[str, Depends(get_locale)]
