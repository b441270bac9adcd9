"""Four contributions: who pays for each meal (government, business, charity, elder)."""

from billing.service import post, quote, release, reserve, reverse, rules_in_force
from billing.split import Allocation, Limits, Meal, Split, Terms, split

__all__ = [
    "Allocation",
    "Limits",
    "Meal",
    "Split",
    "Terms",
    "post",
    "quote",
    "release",
    "reserve",
    "reverse",
    "rules_in_force",
    "split",
]
