"""Refusals about accounts and access, each with a translatable message."""

from core.accounts import (
    AccountNotFound,
    FunderNotFound,
    LinkMissing,
    LinkNotForRole,
    RiderNotFound,
    UsernameTaken,
)
from core.errors import DomainError
from core.i18n import N_


class LoginRequired(DomainError):
    code = "login_required"
    message = N_("Please log in.")
    status = 401


class SessionIdle(LoginRequired):
    code = "session_idle"
    message = N_(
        "You were signed out after {minutes} minutes without activity. Please log in again."
    )


class AccessDenied(DomainError):
    code = "access_denied"
    message = N_("Your account may not open this page.")
    status = 403


class CsrfRefused(DomainError):
    code = "csrf_refused"
    message = N_(
        "This form has expired or did not come from MealAid. "
        "Please go back, reload the page and try again."
    )
    status = 403


class LoginRefused(DomainError):
    code = "login_refused"
    message = N_("The user name or password is not right.")
    status = 401


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    message = N_("Too many wrong passwords. Please wait {minutes} minutes and try again.")
    status = 429


class TooManyLogins(DomainError):
    code = "too_many_logins"
    message = N_("Many people are logging in at this moment. Please try again in a few seconds.")
    status = 503


class WrongPassword(DomainError):
    code = "wrong_password"
    message = N_("Your current password is not right.")
    status = 422


class CommunityNotYours(DomainError):
    code = "community_not_yours"
    message = N_("You do not look after this community.")
    status = 403


__all__ = [
    "AccessDenied",
    "AccountNotFound",
    "CommunityNotYours",
    "CsrfRefused",
    "FunderNotFound",
    "LinkMissing",
    "LinkNotForRole",
    "LoginRefused",
    "LoginRequired",
    "RiderNotFound",
    "SessionIdle",
    "TooManyAttempts",
    "TooManyLogins",
    "UsernameTaken",
    "WrongPassword",
]
