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


class FundNotFound(NotFound):
    code = "fund_not_found"
    message = N_("We could not find this fund.")


class RuleNotFound(NotFound):
    code = "rule_not_found"
    message = N_("There is no subsidy rule “{code}”.")


class PolicyProblem(Conflict):
    """A policy change that does not hold together; `field_code` names the field to fix."""

    code = "policy_problem"
    status = 422


class RuleStartsInThePast(PolicyProblem):
    code = "rule_starts_in_the_past"
    message = N_(
        "A new version takes effect from today ({today}) or later: meals already served keep "
        "the rules they were served under."
    )


class RuleEndsBeforeItStarts(PolicyProblem):
    code = "rule_ends_before_it_starts"
    message = N_("The last day comes before the first day.")


class RuleAmountNeeded(PolicyProblem):
    code = "rule_amount_needed"
    message = N_("Give either an amount per portion or a percentage of the price, not both.")


class RuleFunderFixed(PolicyProblem):
    code = "rule_funder_fixed"
    message = N_(
        "Rule “{code}” is paid by {funder}: a rule keeps its funder from version to version "
        "(make a rule with a new code for another funder)."
    )


class FundOfAnotherFunder(PolicyProblem):
    code = "fund_of_another_funder"
    message = N_("This fund belongs to another funder.")


class CategoryBothWays(PolicyProblem):
    code = "category_both_ways"
    message = N_("A category cannot be both required and left out.")


class LayerNeeded(PolicyProblem):
    code = "layer_needed"
    message = N_(
        "A government funder pays for a city, a district or a street: choose its layer and "
        "the place."
    )


class LayerOnlyForGovernment(PolicyProblem):
    code = "layer_only_for_government"
    message = N_("Only a government funder has a layer; a provider or a charity pays anywhere.")


class JurisdictionNeeded(PolicyProblem):
    code = "jurisdiction_needed"
    message = N_("Choose the {layer} this funder pays for.")


class BudgetBelowCommitted(PolicyProblem):
    code = "budget_below_committed"
    message = N_("{committed} of this budget is already reserved or paid: it cannot be less.")


class PeriodNotOfFund(PolicyProblem):
    code = "period_not_of_fund"
    message = N_("“{period}” is not one of this fund's periods (like {example}).")
