"""Finding elders by the digits of their phone number (the registry, the counter): lists show
phones masked, yet each search says whether some digits are in someone's number, so enough
searches would spell a masked number out. A search by phone digits needs at least
`MIN_DIGITS` of them, each member of staff has a budget of such searches an hour and a day
(MEALAID_PHONE_SEARCHES_PER_HOUR, _PER_DAY), and each one goes into the audit log: who, how
many digits and whom it found, never the digits, which are part of a phone number."""

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, func, select

from core.audit import AuditEntry
from core.clock import Clock
from core.errors import DomainError
from core.i18n import N_
from core.settings import Settings

MIN_DIGITS = 4
ACTION = "phone_search"
# A search of no more digits than the answer shows anyway (check_phone_search's `shown`):
# recorded, not counted against the budget.
SHOWN_ACTION = "phone_search_shown"
# Elders named in an entry's detail, at most (the detail holds 200 characters).
NAMED = 10


class PhoneDigitsTooFew(DomainError):
    code = "phone_digits_too_few"
    message = N_("Type at least {min_digits} digits of the phone number, or search by name.")
    status = 422


class TooManyPhoneSearches(DomainError):
    code = "too_many_phone_searches"
    message = N_(
        "You have reached the limit of searches by phone number ({per_hour} an hour, "
        "{per_day} a day). Please search by name, or try again later."
    )
    status = 429


def phone_digits(query: str | None) -> str | None:
    """The digits of a query written as (part of) a phone number: digits with spaces, dashes
    and pluses (control characters left out, as the searches do). None for anything else,
    which is a name."""
    text = re.sub(r"[\x00-\x1f]", "", query or "").strip()
    if not re.fullmatch(r"[+\d\s-]+", text) or not re.search(r"\d", text):
        return None
    return re.sub(r"\D", "", text)


def check_phone_search(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    actor: str,
    digits: str,
    shown: int = 0,
) -> None:
    """Refuse a search by phone digits that has too few of them, or that is over this
    person's budget (the searches already in the audit log). Searches made at the same moment
    are recorded once answered, so a burst may pass the budget by the requests let in at
    once (api.deps.Admission), never more. `shown`: where the answer lists the last digits of
    each number anyway and the search matches only the end of it (the counter), a search of
    that many digits tells nothing the list does not, and spends no budget: the counter
    finds most diners by the four digits they say."""
    if len(digits) < MIN_DIGITS:
        raise PhoneDigitsTooFew(min_digits=MIN_DIGITS, field_code="q")
    if len(digits) <= shown:
        return
    now = clock.now()
    hour_ago = now - timedelta(hours=1)
    in_hour, in_day = session.exec(
        select(
            func.count().filter(col(AuditEntry.at) > hour_ago),
            func.count(),
        ).where(
            col(AuditEntry.action) == ACTION,
            col(AuditEntry.actor) == actor,
            col(AuditEntry.at) > now - timedelta(days=1),
        )
    ).one()
    if in_hour >= settings.phone_searches_per_hour or in_day >= settings.phone_searches_per_day:
        raise TooManyPhoneSearches(
            per_hour=settings.phone_searches_per_hour, per_day=settings.phone_searches_per_day
        )


@dataclass(frozen=True)
class SearchRecord:
    """The audit entry of one search by phone digits, for the surface to record with the
    answer (api.audit_log.record_view)."""

    action: str
    subject: str
    detail: str


def search_record(
    *, where: str, digits: str, total: int, elder_ids: list[int], shown: int = 0
) -> SearchRecord:
    """`where`: the registry ("elders"), the counter ("counter") or the phone-in form
    ("phone_in"); `shown` as for check_phone_search."""
    detail = f"{len(digits)} digits, {total} found"
    if elder_ids:
        named = [f"elder:{elder_id}" for elder_id in sorted(set(elder_ids))]
        detail += ": " + ",".join(named[:NAMED]) + (",…" if len(named) > NAMED else "")
    action = SHOWN_ACTION if len(digits) <= shown else ACTION
    return SearchRecord(action=action, subject=where, detail=detail)
