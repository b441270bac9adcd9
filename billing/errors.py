"""Refusals from billing, translated like every other refusal."""

from core.errors import Conflict, NotFound
from core.i18n import N_


class NothingToReverse(NotFound):
    code = "nothing_to_reverse"
    message = N_("This order has no ledger entries to reverse.")


class AlreadyReversed(Conflict):
    code = "already_reversed"
    message = N_("This order's entries have already been reversed.")


class InvalidMonth(Conflict):
    code = "invalid_month"
    message = N_("“{value}” is not a month like 2026-11.")
    status = 422


class ReviewNotFound(NotFound):
    code = "review_not_found"
    message = N_("There is no flagged meal like this to review.")


class SettlementFileNotFound(NotFound):
    code = "settlement_file_not_found"
    message = N_("There is no settlement file called “{name}”.")


class FunderNotFound(NotFound):
    code = "funder_not_found"
    message = N_("We could not find this funder.")
