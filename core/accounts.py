"""Staff accounts and what they are linked to, server-side sessions and failed logins; the
schemas that validate a new account; the password hasher and the refusals about accounts.
In `core` so that the use cases (an admin adds, disables or resets an account) reach them;
the login machinery stays in `api.accounts`."""

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from argon2 import PasswordHasher
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlmodel import Field as Column
from sqlmodel import SQLModel

import core.models  # noqa: F401  (sets the constraint naming convention first)
from core.errors import Conflict, DomainError, NotFound
from core.i18n import N_
from core.types import LABELS, Labelled, UTCDateTime
from core.validation import LINE


class Role(Labelled):
    """What a member of staff does; each role sees only the pages its work needs."""

    admin = "admin"
    community_worker = "community_worker"
    kitchen = "kitchen"
    rider = "rider"
    funder_auditor = "funder_auditor"
    canteen = "canteen"


LABELS.add(
    Role,
    {
        Role.admin: N_("programme admin"),
        Role.community_worker: N_("community worker"),
        Role.kitchen: N_("kitchen staff"),
        Role.rider: N_("rider"),
        Role.funder_auditor: N_("funder auditor"),
        Role.canteen: N_("canteen staff"),
    },
)


class StaffAccount(SQLModel, table=True):
    """A person who logs in to the staff pages. A rider account is one rider, a funder auditor
    one funder, kitchen staff one kitchen; community workers are linked to communities."""

    __tablename__ = "staff_account"
    id: int | None = Column(default=None, primary_key=True)
    username: str = Column(max_length=32, unique=True)
    password_hash: str = Column(max_length=200)
    role: Role = Column(sa_type=sa.String(24))
    display_name: str = Column(default="", max_length=64)
    rider_id: int | None = Column(default=None, foreign_key="rider.id", index=True)
    funder_id: int | None = Column(default=None, foreign_key="funder.id", index=True)
    kitchen_id: int | None = Column(default=None, foreign_key="site.id", index=True)
    active: bool = True
    created_at: datetime = Column(sa_type=UTCDateTime)
    password_changed_at: datetime = Column(sa_type=UTCDateTime)


class StaffCommunity(SQLModel, table=True):
    """The communities whose elders a community worker looks after."""

    __tablename__ = "staff_community"
    account_id: int = Column(foreign_key="staff_account.id", primary_key=True)
    community_id: int = Column(foreign_key="community.id", primary_key=True)


class StaffSite(SQLModel, table=True):
    """The sites (canteens, pick-up points) whose counter a member of canteen staff keeps."""

    __tablename__ = "staff_site"
    account_id: int = Column(foreign_key="staff_account.id", primary_key=True)
    site_id: int = Column(foreign_key="site.id", primary_key=True)


class StaffSession(SQLModel, table=True):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
    copy of the database cannot be used to log in, and logout deletes the row. It ends at
    `expires_at`, or earlier when no request came for the idle timeout after `last_seen_at`
    (written down about once a minute: api.accounts.service.find_session)."""

    __tablename__ = "staff_session"
    token_hash: str = Column(max_length=64, primary_key=True)
    account_id: int = Column(foreign_key="staff_account.id", index=True)
    created_at: datetime = Column(sa_type=UTCDateTime)
    expires_at: datetime = Column(sa_type=UTCDateTime)
    last_seen_at: datetime = Column(sa_type=UTCDateTime)


class LoginFailure(SQLModel, table=True):
    """A refused login, counted per username and address to slow down password guessing.
    In the database so the limit holds across several API workers."""

    __tablename__ = "login_failure"
    id: int | None = Column(default=None, primary_key=True)
    username: str = Column(max_length=32, index=True)
    ip: str = Column(max_length=64)
    at: datetime = Column(sa_type=UTCDateTime, index=True)


Username = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Password = Annotated[str, Field(min_length=10, max_length=200)]


class StaffAccountCreate(BaseModel):
    # Not str_strip_whitespace: a password is taken exactly as typed.
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    role: Role
    display_name: Annotated[str, Field(max_length=64), LINE] = ""
    rider_id: int | None = None
    funder_id: int | None = None
    kitchen_id: int | None = None
    community_ids: list[int] = []
    site_ids: list[int] = []

    @field_validator("username", "display_name", mode="before")
    @classmethod
    def _tidy(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.strip().lower() if info.field_name == "username" else value.strip()


class StaffPublic(BaseModel):
    """An account as the API shows it (never the hash)."""

    id: int
    username: str
    display_name: str
    role: Role
    rider_id: int | None
    funder_id: int | None
    kitchen_id: int | None
    community_ids: list[int]


# Argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile). Tests swap in a cheaper
# hasher; every hash records its own parameters, so either verifies the other's hashes.
HASHER = PasswordHasher()


class LinkMissing(DomainError):
    code = "link_missing"
    message = N_("A {role} account needs its {link}.")
    status = 422


class LinkNotForRole(DomainError):
    code = "link_not_for_role"
    message = N_("A {role} account cannot have a {link}.")
    status = 422


class AccountNotFound(NotFound):
    code = "account_not_found"
    message = N_("We could not find this account.")


class RiderNotFound(NotFound):
    code = "rider_not_found"
    message = N_("We could not find this rider.")


class FunderNotFound(NotFound):
    code = "funder_not_found"
    message = N_("We could not find this funder.")


class UsernameTaken(Conflict):
    code = "username_taken"
    message = N_("The user name “{username}” is already taken.")
