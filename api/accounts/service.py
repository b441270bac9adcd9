"""Accounts: create one, check a password (with a limit on failures), sessions, change a
password. Services flush; the request or the command commits."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import Field
from sqlmodel import Session, col, delete, func, select, update

from api.accounts.errors import AccountNotFound, LoginRefused, TooManyAttempts, WrongPassword
from core import accounts as records
from core.accounts import (
    LoginFailure,
    StaffAccount,
    StaffCommunity,
    StaffPublic,
    StaffSession,
    StaffSite,
)
from core.clock import Clock
from core.db import exclusive
from core.models import saved
from core.settings import get_settings
from core.validation import invalid_text, service, text_problem
from usecases.accounts import new_account as create_account

__all__ = ["create_account"]  # made by the use cases; named here for the set-up of tests

_dummy: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash to check against when the user name is unknown, so that answer takes as long
    as a wrong password does and does not reveal which user names exist."""
    key = id(records.HASHER)
    if key not in _dummy:
        _dummy[key] = records.HASHER.hash(secrets.token_urlsafe(16))
    return _dummy[key]


def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return records.HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class LoginAttempt:
    """A login let in by the limits and counted as a failure until its password proves right:
    what the password check needs, without a database."""

    username: str
    ip: str
    account_id: int | None
    stored_hash: str | None  # None: no account by that name


@dataclass(frozen=True)
class PasswordCheck:
    matched: bool
    new_hash: str | None  # the same password hashed with today's parameters, when they changed


def begin_login(*, session: Session, clock: Clock, username: str, ip: str) -> LoginAttempt:
    """The first of a login's three steps, a short writing transaction: refuse a name or an
    address past its limit; otherwise count this attempt as a failure now, before the
    password is checked, so that guesses sent at once cannot all slip under the limit (on
    PostgreSQL the name and the address are locked for the count, on SQLite the write lock
    does it). The caller commits, then checks the password holding nothing."""
    settings = get_settings()
    username = username.strip().lower()[:32]
    # A name with characters no account's name has (a NUL cannot even be looked up in
    # PostgreSQL) is refused as such, before anything is read or counted.
    problem = text_problem(username)
    if problem is not None:
        raise invalid_text("username", problem)
    ip = ip[:64]
    exclusive(session, f"login-name:{username}")
    exclusive(session, f"login-address:{ip}")
    now = clock.now()
    since = now - timedelta(minutes=settings.login_window_minutes)
    recent = select(func.count()).select_from(LoginFailure).where(LoginFailure.at > since)
    by_name = session.exec(
        recent.where(LoginFailure.username == username, LoginFailure.ip == ip)
    ).one()
    by_address = session.exec(recent.where(LoginFailure.ip == ip)).one()
    if (
        by_name >= settings.login_max_failures
        or by_address >= settings.login_max_failures_per_address
    ):
        raise TooManyAttempts(minutes=settings.login_window_minutes)
    # Old failures are no longer counted; drop them as new ones come.
    session.exec(delete(LoginFailure).where(col(LoginFailure.at) <= since))
    session.add(LoginFailure(username=username, ip=ip, at=now))
    account = session.exec(select(StaffAccount).where(StaffAccount.username == username)).first()
    session.flush()
    if account is None:
        return LoginAttempt(username, ip, None, None)
    return LoginAttempt(username, ip, account.id, account.password_hash)


def check_password(attempt: LoginAttempt, password: str) -> PasswordCheck:
    """The second step, with no database at all: Argon2 takes about a tenth of a second, which
    no lock or transaction may wait on. An unknown name is checked against a made-up hash, so
    its answer takes as long as a wrong password's."""
    if attempt.stored_hash is None:
        _password_matches(_dummy_hash(), password)
        return PasswordCheck(False, None)
    if not _password_matches(attempt.stored_hash, password):
        return PasswordCheck(False, None)
    rehash = records.HASHER.check_needs_rehash(attempt.stored_hash)
    return PasswordCheck(True, records.HASHER.hash(password) if rehash else None)


def finish_login(*, session: Session, attempt: LoginAttempt, check: PasswordCheck) -> StaffAccount:
    """The last step, a short writing transaction: the account, or a refusal (the attempt
    stays counted as a failure). A success clears the name's failures from that address."""
    account = session.get(StaffAccount, attempt.account_id) if check.matched else None
    if account is None or not account.active:
        raise LoginRefused()
    session.exec(
        delete(LoginFailure).where(
            col(LoginFailure.username) == attempt.username, col(LoginFailure.ip) == attempt.ip
        )
    )
    if check.new_hash is not None:
        account.password_hash = check.new_hash
        session.add(account)
    session.flush()
    return account


def authenticate(
    *, session: Session, clock: Clock, username: str, password: str, ip: str
) -> StaffAccount:
    """A login's three steps in the caller's one transaction, for commands and tests; the
    login page commits between them (api.account_pages.login), so nothing is held while the
    password is checked. A refused attempt is flushed before raising: commit it regardless."""
    attempt = begin_login(session=session, clock=clock, username=username, ip=ip)
    return finish_login(session=session, attempt=attempt, check=check_password(attempt, password))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, session: Session, clock: Clock, account: StaffAccount) -> str:
    """A new session for a logged-in account; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        StaffSession(
            token_hash=_token_hash(token),
            account_id=saved(account.id),
            created_at=now,
            expires_at=now + timedelta(hours=get_settings().session_hours),
            last_seen_at=now,
        )
    )
    session.flush()
    return token


@dataclass(frozen=True)
class FoundSession:
    """What a session token opens: the account, or None and whether the session ended by
    the idle timeout; and whether this request should be written down as its last."""

    account: StaffAccount | None
    idle: bool = False
    touch: bool = False


def _touch_every(idle: timedelta) -> timedelta:
    """How stale `last_seen_at` may get: written at most about once a minute, so reading
    pages seldom means writing; the idle timeout is then exact to within that."""
    return min(timedelta(minutes=1), idle / 10)


def find_session(*, session: Session, clock: Clock, token: str) -> FoundSession:
    """The active account a session token belongs to, unless the session has expired or has
    seen no request for the idle timeout (MEALAID_SESSION_IDLE_MINUTES)."""
    # One statement: it runs before every staff request.
    found = session.exec(
        select(StaffAccount, StaffSession.expires_at, StaffSession.last_seen_at)
        .join(StaffSession, col(StaffSession.account_id) == col(StaffAccount.id))
        .where(StaffSession.token_hash == _token_hash(token))
    ).first()
    if found is None:
        return FoundSession(None)
    account, expires_at, last_seen_at = found
    now = clock.now()
    if expires_at <= now or not account.active:
        return FoundSession(None)
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if now - last_seen_at > idle:
        return FoundSession(None, idle=True)
    return FoundSession(account, touch=now - last_seen_at >= _touch_every(idle))


def account_for_session(*, session: Session, clock: Clock, token: str) -> StaffAccount | None:
    """The active account a session token belongs to (`find_session`)."""
    return find_session(session=session, clock=clock, token=token).account


def touch_session(*, session: Session, clock: Clock, token: str) -> None:
    """A request came in this session now: the idle timeout counts from here."""
    session.exec(
        update(StaffSession)
        .where(col(StaffSession.token_hash) == _token_hash(token))
        .values(last_seen_at=clock.now())
    )
    session.flush()


def end_session(*, session: Session, token: str) -> None:
    session.exec(delete(StaffSession).where(col(StaffSession.token_hash) == _token_hash(token)))
    session.flush()


@dataclass(frozen=True)
class PasswordChange:
    """A password change let in by the limit, counted as a wrong password until the current
    one proves right: what the checks need, without a database."""

    account_id: int
    failure_id: int
    stored_hash: str


@dataclass(frozen=True)
class NewPassword:
    current_matches: bool
    new_hash: str | None


@service
def begin_password_change(
    *,
    session: Session,
    clock: Clock,
    account_id: int,
    new_password: Annotated[str, Field(min_length=10, max_length=200)],
    ip: str = "unknown",
) -> PasswordChange:
    """The first of a password change's three steps (like a login's): a new password that
    will not do is refused before anything is counted; past the limit the change is refused;
    otherwise the attempt counts as a wrong password until the current one proves right. A
    wrong current password is a guess like a wrong login and counts with them (the same limit
    and window), for the account from any address: whoever holds the session may move."""
    account = session.get(StaffAccount, account_id)
    if account is None:
        raise AccountNotFound(account_id=account_id)
    exclusive(session, f"login-name:{account.username}")
    settings = get_settings()
    now = clock.now()
    failures = session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            LoginFailure.username == account.username,
            LoginFailure.at > now - timedelta(minutes=settings.login_window_minutes),
        )
    ).one()
    if failures >= settings.login_max_failures:
        raise TooManyAttempts(minutes=settings.login_window_minutes)
    failure = LoginFailure(username=account.username, ip=ip[:64], at=now)
    session.add(failure)
    session.flush()
    assert failure.id is not None and account.id is not None
    return PasswordChange(account.id, failure.id, account.password_hash)


def check_new_password(change: PasswordChange, current: str, new: str) -> NewPassword:
    """The second step, with no database: check the current password, hash the new one."""
    if not _password_matches(change.stored_hash, current):
        return NewPassword(False, None)
    return NewPassword(True, records.HASHER.hash(new))


def finish_password_change(
    *,
    session: Session,
    clock: Clock,
    change: PasswordChange,
    checked: NewPassword,
    keep_token: str | None = None,
) -> None:
    """The last step: the new password, and every other session logged out; or a refusal
    (the wrong current password stays counted)."""
    if not checked.current_matches or checked.new_hash is None:
        raise WrongPassword()
    account = session.get_one(StaffAccount, change.account_id)
    session.exec(delete(LoginFailure).where(col(LoginFailure.id) == change.failure_id))
    account.password_hash = checked.new_hash
    account.password_changed_at = clock.now()
    session.add(account)
    others = delete(StaffSession).where(col(StaffSession.account_id) == change.account_id)
    if keep_token is not None:
        others = others.where(col(StaffSession.token_hash) != _token_hash(keep_token))
    session.exec(others)
    session.flush()


def change_password(
    *,
    session: Session,
    clock: Clock,
    account_id: int,
    current_password: str,
    new_password: str,
    keep_token: str | None = None,
    ip: str = "unknown",
) -> None:
    """A password change's three steps in the caller's one transaction, for commands and
    tests (the password page commits between them). A refused attempt is flushed before
    raising: commit it regardless."""
    change = begin_password_change(
        session=session, clock=clock, account_id=account_id, new_password=new_password, ip=ip
    )
    checked = check_new_password(change, current_password, new_password)
    finish_password_change(
        session=session, clock=clock, change=change, checked=checked, keep_token=keep_token
    )


def site_ids_of(*, session: Session, account_id: int) -> list[int]:
    return list(
        session.exec(
            select(StaffSite.site_id)
            .where(StaffSite.account_id == account_id)
            .order_by(col(StaffSite.site_id))
        )
    )


def community_ids_of(*, session: Session, account_id: int) -> list[int]:
    return list(
        session.exec(
            select(StaffCommunity.community_id)
            .where(col(StaffCommunity.account_id) == account_id)
            .order_by(col(StaffCommunity.community_id))
        )
    )


def public(account: StaffAccount, community_ids: list[int]) -> StaffPublic:
    return StaffPublic(
        id=saved(account.id),
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        rider_id=account.rider_id,
        funder_id=account.funder_id,
        kitchen_id=account.kitchen_id,
        community_ids=community_ids,
    )
