"""Staff accounts' tables and schemas, which live in `core.accounts` (the use cases change
accounts); named here too for the pages and the login machinery."""

from core.accounts import (
    LoginFailure,
    Password,
    Role,
    StaffAccount,
    StaffAccountCreate,
    StaffCommunity,
    StaffPublic,
    StaffSession,
    StaffSite,
    Username,
)

__all__ = [
    "LoginFailure",
    "Password",
    "Role",
    "StaffAccount",
    "StaffAccountCreate",
    "StaffCommunity",
    "StaffPublic",
    "StaffSession",
    "StaffSite",
    "Username",
]
