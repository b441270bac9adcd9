"""Fund budgets by period: which budget a meal draws on, and how a period is named."""

from datetime import date

from babel.dates import format_skeleton

from billing.models import BudgetPeriod
from core import i18n
from core.i18n import N_, Bilingual, babel_locale


def budget_period(period: BudgetPeriod | str, service_date: date) -> str:
    """Which of a fund's budgets a meal on this day draws on: its month's ("2026-11"), its
    year's ("2026"), or the one budget of a fund that does not renew ("all")."""
    if period == BudgetPeriod.month:
        return service_date.strftime("%Y-%m")
    if period == BudgetPeriod.year:
        return str(service_date.year)
    return "all"


def period_name(period: str, locale: str) -> str:
    """A budget's period as people say it: 2026年12月 / December 2026; 2026年 / 2026; and
    nothing for a fund that does not renew."""
    if len(period) == 7:
        month = date.fromisoformat(f"{period}-01")
        return format_skeleton("yMMMM", month, locale=babel_locale(locale))
    if len(period) == 4:
        return i18n.render(N_("{year} (the year)"), locale, {"year": period})
    return ""


def fund_name(name: Bilingual, period: str, locale: str) -> str:
    when = period_name(period, locale)
    if not when:
        return name.in_locale(locale)
    return i18n.render(N_("{fund} ({period})"), locale, {"fund": name, "period": when})
