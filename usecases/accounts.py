"""Staff accounts as the admin keeps them: add one (with its role's link), disable and enable
it, reset its password; each with its audit entry. `mealaid user add` and the staff pages call
these. Logging in, sessions and a person's own password change are the web app's
(`api.accounts`)."""

import secrets
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from billing.models import Funder
from core import accounts as records
from core import audit
from core.accounts import (
    AccountNotFound,
    FunderNotFound,
    LinkMissing,
    LinkNotForRole,
    Password,
    RiderNotFound,
    Role,
    StaffAccount,
    StaffAccountCreate,
    StaffCommunity,
    StaffSession,
    StaffSite,
    UsernameTaken,
)
from core.clock import Clock
from core.errors import DomainError
from core.i18n import N_
from core.models import Rider, saved
from core.sites import get_community, get_site
from core.validation import FieldName, service

LINKS = {
    Role.rider: "rider_id",
    Role.funder_auditor: "funder_id",
    Role.kitchen: "kitchen_id",
    Role.community_worker: "community_ids",
    Role.canteen: "site_ids",
}
LINK_NAMES = {
    "rider_id": FieldName(N_("rider")),
    "funder_id": FieldName(N_("funder")),
    "kitchen_id": FieldName(N_("kitchen")),
    "community_ids": FieldName(N_("communities")),
    "site_ids": FieldName(N_("sites")),
}


class OwnAccount(DomainError):
    code = "own_account"
    message = N_("You cannot disable your own account.")
    status = 409


@dataclass(frozen=True)
class AccountRow:
    """An account as the admin's list shows it (never its hash)."""

    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    rider_id: int | None
    funder_id: int | None
    kitchen_id: int | None
    community_ids: list[int]
    site_ids: list[int]


@dataclass(frozen=True)
class PasswordReset:
    """The new password, to be shown once to the admin who reset it."""

    account: StaffAccount
    password: str


def _check_links(session: Session, account_in: StaffAccountCreate) -> None:
    needed = LINKS.get(account_in.role)
    for field, name in LINK_NAMES.items():
        given = bool(getattr(account_in, field))
        if field == needed and not given:
            raise LinkMissing(role=account_in.role, link=name, field_code=field)
        if field != needed and given:
            raise LinkNotForRole(role=account_in.role, link=name, field_code=field)
    if account_in.rider_id is not None and session.get(Rider, account_in.rider_id) is None:
        raise RiderNotFound(rider_id=account_in.rider_id)
    if account_in.funder_id is not None and session.get(Funder, account_in.funder_id) is None:
        raise FunderNotFound(funder_id=account_in.funder_id)
    if account_in.kitchen_id is not None:
        get_site(session=session, site_id=account_in.kitchen_id)
    for community_id in account_in.community_ids:
        get_community(session=session, community_id=community_id)
    for site_id in account_in.site_ids:
        get_site(session=session, site_id=site_id)


@service
def new_account(*, session: Session, clock: Clock, account_in: StaffAccountCreate) -> StaffAccount:
    """A new account with its role's link; the password is stored only as an Argon2id hash.
    Without an audit entry: for `create_account` and the tests' set-up."""
    _check_links(session, account_in)
    taken = select(StaffAccount.id).where(StaffAccount.username == account_in.username)
    if session.exec(taken).first() is not None:
        raise UsernameTaken(username=account_in.username, field_code="username")
    now = clock.now()
    account = StaffAccount(
        username=account_in.username,
        password_hash=records.HASHER.hash(account_in.password),
        role=account_in.role,
        display_name=account_in.display_name,
        rider_id=account_in.rider_id,
        funder_id=account_in.funder_id,
        kitchen_id=account_in.kitchen_id,
        created_at=now,
        password_changed_at=now,
    )
    session.add(account)
    session.flush()
    for community_id in sorted(set(account_in.community_ids)):
        session.add(StaffCommunity(account_id=saved(account.id), community_id=community_id))
    for site_id in sorted(set(account_in.site_ids)):
        session.add(StaffSite(account_id=saved(account.id), site_id=site_id))
    session.flush()
    return account


def create_account(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    account_in: StaffAccountCreate | dict[str, object],
) -> StaffAccount:
    """Add a member of staff (the admin on the page, or `mealaid user add`)."""
    account = new_account(session=session, clock=clock, account_in=account_in)  # type: ignore[arg-type]  # @service validates a dict into the schema
    _record(session, clock, actor, "create_account", account, account.role)
    return account


def _account(session: Session, account_id: int) -> StaffAccount:
    account = session.get(StaffAccount, account_id)
    if account is None:
        raise AccountNotFound(account_id=account_id)
    return account


def _end_sessions(session: Session, account_id: int) -> None:
    session.exec(delete(StaffSession).where(col(StaffSession.account_id) == account_id))


def set_account_active(
    *, session: Session, clock: Clock, actor: str, account_id: int, active: bool, own_id: int
) -> StaffAccount:
    """Disable an account (it can no longer log in, and its sessions end at once) or enable it
    again. Nobody disables their own account: a programme must keep an admin who can log in."""
    account = _account(session, account_id)
    if not active and account_id == own_id:
        raise OwnAccount()
    account.active = active
    session.add(account)
    if not active:
        _end_sessions(session, account_id)
    session.flush()
    _record(session, clock, actor, "enable_account" if active else "disable_account", account)
    return account


@service
def reset_password(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    account_id: int,
    new_password: Password | None = None,
) -> PasswordReset:
    """Give an account a new password (the one typed, else a random one) and end its sessions:
    for a member of staff who forgot theirs. The password is shown once, never stored."""
    account = _account(session, account_id)
    password = new_password or random_password()
    account.password_hash = records.HASHER.hash(password)
    account.password_changed_at = clock.now()
    session.add(account)
    _end_sessions(session, account_id)
    session.flush()
    _record(session, clock, actor, "reset_password", account)
    return PasswordReset(account, password)


def random_password() -> str:
    """A password to hand over once: 16 characters of URL-safe base64 (96 bits)."""
    return secrets.token_urlsafe(12)


def list_accounts(*, session: Session) -> list[AccountRow]:
    """Every account by user name, with its links."""
    accounts = list(session.exec(select(StaffAccount).order_by(col(StaffAccount.username))))
    communities: dict[int, list[int]] = {}
    for account_id, community_id in session.exec(
        select(StaffCommunity.account_id, StaffCommunity.community_id)
    ):
        communities.setdefault(account_id, []).append(community_id)
    sites: dict[int, list[int]] = {}
    for account_id, site_id in session.exec(select(StaffSite.account_id, StaffSite.site_id)):
        sites.setdefault(account_id, []).append(site_id)
    return [
        AccountRow(
            id=account_id,
            username=account.username,
            display_name=account.display_name,
            role=Role(account.role),
            active=account.active,
            rider_id=account.rider_id,
            funder_id=account.funder_id,
            kitchen_id=account.kitchen_id,
            community_ids=sorted(communities.get(account_id, [])),
            site_ids=sorted(sites.get(account_id, [])),
        )
        for account in accounts
        for account_id in [saved(account.id)]
    ]


def get_account(*, session: Session, account_id: int) -> StaffAccount:
    return _account(session, account_id)


def _record(
    session: Session, clock: Clock, actor: str, action: str, account: StaffAccount, detail: str = ""
) -> None:
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action=action,
        subject=f"staff_account:{account.id}",
        detail=detail or account.username,
    )
