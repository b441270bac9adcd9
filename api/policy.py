"""The subsidy policy for the programme admin (funder auditors read it): funders, funds and
their budgets by period, subsidy rules as versions from a day, and the preview of a draft rule
beside the rules in force today; as pages and JSON. What a change may be is in billing.policy,
its audit entry in usecases.policy; these views read forms and show refusals by their fields."""

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from babel.dates import get_day_names
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from api.deps import AdminStaff, ClockDep, LocaleDep, ReadSessionDep, SessionDep, StatementStaff
from api.errors import STAFF_RESPONSES
from api.forms import FORM, FormDep, FormInvalid, refusal, text, validated
from api.templating import page
from core import i18n
from core.clock import Clock, today
from core.errors import DomainError, InvalidInput
from core.models import Site
from core.types import Category, RowId, Slot
from core.validation import FIELD_LABELS, PROBLEMS, FieldName
from usecases.menus import price_fen_from_yuan
from usecases.policy import (
    BillingPolicyIn,
    BudgetPeriod,
    FundCreate,
    FunderCreate,
    FunderUpdate,
    FundUpdate,
    Layer,
    PeriodBudget,
    Preview,
    RuleDraft,
    Share,
    UnservedRule,
    billing_policies,
    create_fund,
    create_funder,
    draft_of,
    fund_budgets,
    fund_standings,
    get_fund,
    get_funder,
    list_funders,
    list_funds,
    preview_rule,
    publish_rule,
    rule_lines,
    rule_versions,
    set_billing_policy,
    set_period_budget,
    update_fund,
    update_funder,
)
from usecases.setup import list_districts, list_streets

router = APIRouter(tags=["policy"], responses=STAFF_RESPONSES)

WEEKDAYS = range(1, 8)
DEFAULT_PRICE_FEN, DEFAULT_AGE = 1500, 80


# -- JSON shapes ------------------------------------------------------------------------------


class FunderPublic(BaseModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    share: str
    layer: str | None
    city: str | None
    district_id: int | None
    district: str | None
    street_id: int | None
    street: str | None


class FundPublic(BaseModel):
    id: int
    code: str
    funder_id: int
    name_zh: str
    name_en: str
    period: BudgetPeriod
    budget_fen: int  # each new period's budget
    # Today's period: "2026-12", "2026" or "all", its budget and what is committed from it.
    current_period: str
    current_budget_fen: int
    current_committed_fen: int


class PeriodBudgetPublic(BaseModel):
    fund_id: int
    period: str
    budget_fen: int
    committed_fen: int


class RuleVersionPublic(RuleDraft):
    id: int
    version: int


class RuleLinePublic(BaseModel):
    code: str
    funder_zh: str
    funder_en: str
    in_force: RuleVersionPublic | None
    coming: RuleVersionPublic | None
    versions: int


class PreviewRequest(BaseModel):
    """A draft rule and the sample meals to try it on: elders (by number) at sites, and/or an
    elder of every category (and of none) of `age` at every site (or at the sites given)."""

    draft: RuleDraft
    elder_ids: list[RowId] = Field(default_factory=list, max_length=50)
    site_ids: list[RowId] = Field(default_factory=list, max_length=200)
    every_category: bool = False
    price_fen: Annotated[int, Field(ge=0, le=100_000_00)] = DEFAULT_PRICE_FEN
    age: Annotated[int, Field(ge=0, le=120)] = DEFAULT_AGE
    slot: Slot = Slot.lunch


class PaymentPublic(BaseModel):
    share: str
    funder_zh: str | None
    funder_en: str | None
    fen: int


class PreviewRowPublic(BaseModel):
    elder_id: int | None
    elder_name: str | None
    categories: list[str]
    age: int
    site_id: int
    site: str
    price_fen: int
    today: list[PaymentPublic]
    draft: list[PaymentPublic]
    changed: bool


class PreviewPublic(BaseModel):
    today: date
    effective_from: date
    changed: int
    rows: list[PreviewRowPublic]


def _funder_public(funder: Any) -> FunderPublic:
    return FunderPublic.model_validate(funder, from_attributes=True)


def _fund_public(session: Session, fund: Any, clock: Clock) -> FundPublic:
    (standing,) = fund_standings(session=session, on=today(clock), fund_ids={fund.id})
    return FundPublic(
        id=fund.id,
        code=fund.code,
        funder_id=fund.funder_id,
        name_zh=fund.name_zh,
        name_en=fund.name_en,
        period=fund.period,
        budget_fen=fund.budget_fen,
        current_period=standing.period,
        current_budget_fen=standing.budget_fen,
        current_committed_fen=standing.committed_fen,
    )


def _version_public(rule: Any) -> RuleVersionPublic:
    return RuleVersionPublic(**draft_of(rule).model_dump(), id=rule.id, version=rule.version)


def _preview_public(preview: Preview) -> PreviewPublic:
    def payments(items: Any) -> list[PaymentPublic]:
        return [
            PaymentPublic(
                share=p.share.value,
                funder_zh=p.funder.zh if p.funder else None,
                funder_en=p.funder.en if p.funder else None,
                fen=p.fen,
            )
            for p in items
        ]

    return PreviewPublic(
        today=preview.today,
        effective_from=preview.effective_from,
        changed=preview.changed,
        rows=[
            PreviewRowPublic(
                elder_id=row.elder_id,
                elder_name=row.elder_name,
                categories=list(row.categories),
                age=row.age,
                site_id=row.site_id,
                site=row.site,
                price_fen=row.price_fen,
                today=payments(row.today),
                draft=payments(row.draft),
                changed=row.changed,
            )
            for row in preview.rows
        ],
    )


# -- JSON: funders and funds ------------------------------------------------------------------


@router.get("/api/v1/funders", response_model=list[FunderPublic])
def funders_json(staff: StatementStaff, session: ReadSessionDep) -> list[FunderPublic]:
    """Every funder: its contribution and, for government, the place it pays for."""
    return [_funder_public(f) for f in list_funders(session=session)]


@router.post("/api/v1/funders", response_model=FunderPublic, status_code=201)
def funder_create_json(
    funder_in: FunderCreate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> FunderPublic:
    """Add a funder; a district or street layer names its place by id."""
    funder = create_funder(session=session, clock=clock, actor=staff.actor, funder_in=funder_in)
    return _funder_public(funder)


@router.put("/api/v1/funders/{funder_id}", response_model=FunderPublic)
def funder_update_json(
    funder_id: RowId,
    funder_in: FunderUpdate,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
) -> FunderPublic:
    """Change a funder's names or jurisdiction (its code and contribution stay)."""
    funder = update_funder(
        session=session, clock=clock, actor=staff.actor, funder_id=funder_id, funder_in=funder_in
    )
    return _funder_public(funder)


@router.get("/api/v1/funds", response_model=list[FundPublic])
def funds_json(staff: StatementStaff, session: ReadSessionDep, clock: ClockDep) -> list[FundPublic]:
    """Every fund with the budget each new period starts with and today's period's standing."""
    return [_fund_public(session, f, clock) for f in list_funds(session=session)]


@router.post("/api/v1/funds", response_model=FundPublic, status_code=201)
def fund_create_json(
    fund_in: FundCreate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> FundPublic:
    """Add a fund: its budget renews each month, each year, or never (period "whole")."""
    fund = create_fund(session=session, clock=clock, actor=staff.actor, fund_in=fund_in)
    return _fund_public(session, fund, clock)


@router.put("/api/v1/funds/{fund_id}", response_model=FundPublic)
def fund_update_json(
    fund_id: RowId, fund_in: FundUpdate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> FundPublic:
    """Change a fund's names or the budget new periods start with."""
    fund = update_fund(
        session=session, clock=clock, actor=staff.actor, fund_id=fund_id, fund_in=fund_in
    )
    return _fund_public(session, fund, clock)


@router.get("/api/v1/funds/{fund_id}/budgets", response_model=list[PeriodBudgetPublic])
def fund_budgets_json(
    fund_id: RowId, staff: StatementStaff, session: ReadSessionDep
) -> list[PeriodBudgetPublic]:
    """The fund's periods that have a budget of their own, latest first."""
    get_fund(session=session, fund_id=fund_id)
    return [
        PeriodBudgetPublic.model_validate(b, from_attributes=True)
        for b in fund_budgets(session=session, fund_id=fund_id)
    ]


@router.put("/api/v1/funds/{fund_id}/budgets", response_model=PeriodBudgetPublic)
def fund_budget_json(
    fund_id: RowId,
    budget_in: PeriodBudget,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
) -> PeriodBudgetPublic:
    """Set one period's budget ("2026-12", "2026" or "all" as the fund renews); refused below
    what is already reserved or paid from it."""
    row = set_period_budget(
        session=session, clock=clock, actor=staff.actor, fund_id=fund_id, budget_in=budget_in
    )
    return PeriodBudgetPublic.model_validate(row, from_attributes=True)


# -- JSON: the programme's billing settings ---------------------------------------------------


class BillingPolicyPublic(BillingPolicyIn):
    id: int


@router.get("/api/v1/billing-policies", response_model=list[BillingPolicyPublic])
def billing_policies_json(
    staff: StatementStaff, session: ReadSessionDep
) -> list[BillingPolicyPublic]:
    """The programme's billing settings, latest first: each from its day until the next."""
    return [
        BillingPolicyPublic.model_validate(p, from_attributes=True)
        for p in billing_policies(session=session)
    ]


@router.post("/api/v1/billing-policies", response_model=BillingPolicyPublic, status_code=201)
def billing_policy_json(
    policy_in: BillingPolicyIn, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> BillingPolicyPublic:
    """Settings from a day, today or later (a setting already waiting for that day is
    replaced): the least an elder pays per portion, and whether a meal nobody answered for is
    paid as if served, by the elder in full, or by nobody."""
    row = set_billing_policy(session=session, clock=clock, actor=staff.actor, policy_in=policy_in)
    return BillingPolicyPublic.model_validate(row, from_attributes=True)


@router.post("/admin/policy/settings", response_class=HTMLResponse, include_in_schema=False)
def billing_policy_form(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    typed = {name: text(form, name) for name in ("effective_from", "min_payment", "unserved")}
    try:
        policy_in = validated(
            BillingPolicyIn,
            {
                "effective_from": typed["effective_from"],
                "elder_min_payment_fen": _fen_text(typed["min_payment"], "min_payment") or 0,
                "unserved": typed["unserved"],
            },
            locale,
            {},
        )
        with session.begin_nested():
            set_billing_policy(session=session, clock=clock, actor=staff.actor, policy_in=policy_in)
    except (FormInvalid, DomainError) as problem:
        errors = (
            problem.errors if isinstance(problem, FormInvalid) else _refused(problem, locale).errors
        )
        named = {"elder_min_payment_fen": "min_payment"}
        errors = {f"settings.{named.get(k, k)}" if k != FORM else k: v for k, v in errors.items()}
        return _policy_page(
            request, session, clock, form={"settings": typed}, errors=errors, status=422
        )
    return RedirectResponse("/admin/policy?saved=settings#settings", status_code=303)


# -- JSON: rules and the preview --------------------------------------------------------------


@router.get("/api/v1/subsidy-rules", response_model=list[RuleLinePublic])
def rules_json(
    staff: StatementStaff, session: ReadSessionDep, clock: ClockDep, on: date | None = None
) -> list[RuleLinePublic]:
    """Each rule: its version in force on `on` (default today) and the next one waiting."""
    return [
        RuleLinePublic(
            code=line.code,
            funder_zh=line.funder.zh,
            funder_en=line.funder.en,
            in_force=_version_public(line.in_force) if line.in_force else None,
            coming=_version_public(line.coming) if line.coming else None,
            versions=line.versions,
        )
        for line in rule_lines(session=session, on=on or today(clock))
    ]


@router.get("/api/v1/subsidy-rules/{code}", response_model=list[RuleVersionPublic])
def rule_versions_json(
    code: Annotated[str, Field(max_length=32)], staff: StatementStaff, session: ReadSessionDep
) -> list[RuleVersionPublic]:
    """Every version of a rule, newest first."""
    return [_version_public(r) for r in rule_versions(session=session, code=code)]


@router.post("/api/v1/subsidy-rules", response_model=RuleVersionPublic, status_code=201)
def rule_publish_json(
    draft: RuleDraft, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> RuleVersionPublic:
    """Publish a rule's next version (its first, for a new code) from `effective_from`, today
    or later. Versions already written never change: meals already served keep theirs; orders
    already placed keep the split they were placed with."""
    rule = publish_rule(session=session, clock=clock, actor=staff.actor, draft=draft)
    return _version_public(rule)


@router.post("/api/v1/subsidy-rules/preview", response_model=PreviewPublic)
def rule_preview_json(
    request_in: PreviewRequest, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> PreviewPublic:
    """Who would pay what per meal under the draft, beside the rules in force today, for each
    sample meal. Nothing is published."""
    preview = preview_rule(
        session=session,
        clock=clock,
        actor=staff.actor,
        draft=request_in.draft,
        elder_ids=request_in.elder_ids,
        site_ids=request_in.site_ids,
        every_category=request_in.every_category,
        price_fen=request_in.price_fen,
        age=request_in.age,
        slot=request_in.slot,
    )
    return _preview_public(preview)


# -- pages ------------------------------------------------------------------------------------


def _policy_page(
    request: Request,
    session: Session,
    clock: Clock,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    day = today(clock)
    return page(
        request,
        "policy.html",
        {
            "funders": list_funders(session=session),
            "funds": list_funds(session=session),
            "standings": {s.fund_id: s for s in fund_standings(session=session, on=day)},
            "rules": rule_lines(session=session, on=day),
            "settings": billing_policies(session=session),
            "unserved_rules": list(UnservedRule),
            "today": day,
            "shares": ["government", "business", "charity"],
            "periods": list(BudgetPeriod),
            "form": form or {},
            "errors": errors or {},
            "names": _names(request.state.locale),
            **_places(session),
        },
        status,
    )


def _weekday_names(locale: str) -> dict[int, str]:
    """ISO weekdays (Monday 1) by name in the reader's language."""
    names = get_day_names("wide", locale=i18n.babel_locale(locale))
    return {day: names[day - 1] for day in WEEKDAYS}


def _names(locale: str) -> dict[str, dict[str, str]]:
    """Codes the policy pages show (contributions, layers, periods, meals, categories) as
    people read them."""
    enums: dict[str, Any] = {
        "share": Share,
        "layer": Layer,
        "period": BudgetPeriod,
        "slot": Slot,
        "category": Category,
        "unserved": UnservedRule,
    }
    return {
        key: {member.value: i18n.display(member, locale) for member in enum}
        for key, enum in enums.items()
    }


def _places(session: Session) -> dict[str, Any]:
    return {
        "districts": list_districts(session=session),
        "streets": list_streets(session=session),
        "layers": ["city", "district", "street"],
    }


@router.get("/admin/policy", response_class=HTMLResponse, include_in_schema=False)
def policy_page(
    request: Request, staff: StatementStaff, session: ReadSessionDep, clock: ClockDep
) -> HTMLResponse:
    return _policy_page(request, session, clock)


def _funder_values(form: FormDep, *, new: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name_zh": text(form, "name_zh"),
        "name_en": text(form, "name_en"),
        "layer": text(form, "layer") or None,
        "city": text(form, "city") or None,
        "district_id": text(form, "district_id") or None,
        "street_id": text(form, "street_id") or None,
    }
    if new:
        values.update(code=text(form, "code"), share=text(form, "share"))
    return values


def _refused(error: DomainError, locale: str, prefix: str = "") -> FormInvalid:
    return FormInvalid(_prefixed(refusal(error, locale, {}), prefix))


@router.post("/admin/policy/funders", response_class=HTMLResponse, include_in_schema=False)
def funder_create_form(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    values = _funder_values(form, new=True)
    try:
        funder_in = validated(FunderCreate, values, locale, {})
        with session.begin_nested():
            create_funder(session=session, clock=clock, actor=staff.actor, funder_in=funder_in)
    except FormInvalid as problem:
        return _policy_page(
            request, session, clock, form={"funder": values}, errors=_prefixed(problem, "funder.")
        )
    except DomainError as error:
        refused = _refused(error, locale, "funder.")
        return _policy_page(
            request, session, clock, form={"funder": values}, errors=refused.errors, status=422
        )
    return RedirectResponse("/admin/policy?saved=funder#funders", status_code=303)


def _prefixed(problem: FormInvalid, prefix: str) -> dict[str, Any]:
    return {f"{prefix}{k}" if k else FORM: v for k, v in problem.errors.items()}


def _funder_page(
    request: Request,
    session: Session,
    funder_id: int,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    funder = get_funder(session=session, funder_id=funder_id)
    return page(
        request,
        "policy_funder.html",
        {
            "funder": funder,
            "form": form
            or {
                name: getattr(funder, name)
                for name in ("name_zh", "name_en", "layer", "city", "district_id", "street_id")
            },
            "errors": errors or {},
            "names": _names(request.state.locale),
            **_places(session),
        },
        status,
    )


@router.get(
    "/admin/policy/funders/{funder_id}", response_class=HTMLResponse, include_in_schema=False
)
def funder_page(
    request: Request, funder_id: RowId, staff: AdminStaff, session: ReadSessionDep
) -> HTMLResponse:
    return _funder_page(request, session, funder_id)


@router.post(
    "/admin/policy/funders/{funder_id}", response_class=HTMLResponse, include_in_schema=False
)
def funder_update_form(
    request: Request,
    funder_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    values = _funder_values(form, new=False)
    try:
        funder_in = validated(FunderUpdate, values, locale, {})
        with session.begin_nested():
            update_funder(
                session=session,
                clock=clock,
                actor=staff.actor,
                funder_id=funder_id,
                funder_in=funder_in,
            )
    except FormInvalid as problem:
        return _funder_page(request, session, funder_id, form=values, errors=problem.errors)
    except DomainError as error:
        found = _refused(error, locale)
        return _funder_page(
            request, session, funder_id, form=values, errors=found.errors, status=error.status
        )
    return RedirectResponse(f"/admin/policy/funders/{funder_id}?saved=1", status_code=303)


def _fen(form: FormDep, name: str) -> int | None:
    """An amount typed in yuan as integer fen (refused by its field when not a price)."""
    return _fen_text(text(form, name), name)


@router.post("/admin/policy/funds", response_class=HTMLResponse, include_in_schema=False)
def fund_create_form(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    typed = {
        name: text(form, name)
        for name in ("code", "funder_id", "name_zh", "name_en", "period", "budget")
    }
    try:
        values = {**typed, "budget_fen": _fen(form, "budget")}
        values.pop("budget")
        fund_in = validated(FundCreate, values, locale, {})
        with session.begin_nested():
            create_fund(session=session, clock=clock, actor=staff.actor, fund_in=fund_in)
    except FormInvalid as problem:
        return _policy_page(
            request, session, clock, form={"fund": typed}, errors=_prefixed(problem, "fund.")
        )
    except DomainError as error:
        found = _refused(error, locale, "fund.")
        return _policy_page(
            request,
            session,
            clock,
            form={"fund": typed},
            errors={
                k.replace("fund.budget_fen", "fund.budget"): v for k, v in found.errors.items()
            },
            status=422,
        )
    return RedirectResponse("/admin/policy?saved=fund#funds", status_code=303)


def _fund_page(
    request: Request,
    session: Session,
    clock: Clock,
    fund_id: int,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    fund = get_fund(session=session, fund_id=fund_id)
    (standing,) = fund_standings(session=session, on=today(clock), fund_ids={fund_id})
    return page(
        request,
        "policy_fund.html",
        {
            "fund": fund,
            "funder": get_funder(session=session, funder_id=fund.funder_id),
            "standing": standing,
            "budgets": fund_budgets(session=session, fund_id=fund_id),
            "form": form
            or {
                "name_zh": fund.name_zh,
                "name_en": fund.name_en,
                "budget": f"{Decimal(fund.budget_fen).scaleb(-2):.2f}",
                "period": standing.period,
            },
            "errors": errors or {},
            "names": _names(request.state.locale),
        },
        status,
    )


@router.get("/admin/policy/funds/{fund_id}", response_class=HTMLResponse, include_in_schema=False)
def fund_page(
    request: Request, fund_id: RowId, staff: AdminStaff, session: ReadSessionDep, clock: ClockDep
) -> HTMLResponse:
    return _fund_page(request, session, clock, fund_id)


@router.post("/admin/policy/funds/{fund_id}", response_class=HTMLResponse, include_in_schema=False)
def fund_update_form(
    request: Request,
    fund_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    typed = {name: text(form, name) for name in ("name_zh", "name_en", "budget", "period")}
    budget_of_period = text(form, "action") == "period"
    try:
        if budget_of_period:
            budget_in = validated(
                PeriodBudget,
                {"period": typed["period"], "budget_fen": _fen(form, "period_budget")},
                locale,
                {},
            )
            with session.begin_nested():
                set_period_budget(
                    session=session,
                    clock=clock,
                    actor=staff.actor,
                    fund_id=fund_id,
                    budget_in=budget_in,
                )
        else:
            fund_in = validated(
                FundUpdate,
                {
                    "name_zh": typed["name_zh"],
                    "name_en": typed["name_en"],
                    "budget_fen": _fen(form, "budget"),
                },
                locale,
                {},
            )
            with session.begin_nested():
                update_fund(
                    session=session,
                    clock=clock,
                    actor=staff.actor,
                    fund_id=fund_id,
                    fund_in=fund_in,
                )
    except (FormInvalid, DomainError) as problem:
        errors = (
            problem.errors if isinstance(problem, FormInvalid) else _refused(problem, locale).errors
        )
        if budget_of_period:
            errors = {("period_budget" if k == "budget_fen" else k): v for k, v in errors.items()}
        else:
            errors = {("budget" if k == "budget_fen" else k): v for k, v in errors.items()}
        typed["period_budget"] = text(form, "period_budget")
        return _fund_page(request, session, clock, fund_id, form=typed, errors=errors, status=422)
    return RedirectResponse(f"/admin/policy/funds/{fund_id}?saved=1", status_code=303)


# -- the rule form: a new version, its preview, publishing ------------------------------------


AMOUNTS = {
    "amount": "amount_fen",
    "cap_per_meal": "cap_per_meal_fen",
    "cap_per_elder_day": "cap_per_elder_day_fen",
    "cap_per_elder_month": "cap_per_elder_month_fen",
}
# A draft's field -> the form's field its problem is shown beside.
FORM_NAMES = {field: name for name, field in AMOUNTS.items()} | {"percent_bp": "percent"}


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{Decimal(fen).scaleb(-2):.2f}"


def _rule_form(draft: RuleDraft | None, clock: Clock) -> dict[str, Any]:
    """The form's fields as typed (amounts in yuan, the percentage in percent)."""
    start = (today(clock) + timedelta(days=1)).isoformat()
    if draft is None:
        return {
            "effective_from": start,
            "priority": "100",
            "preview_every_category": "1",
            "preview_price": _yuan(DEFAULT_PRICE_FEN),
            "preview_age": str(DEFAULT_AGE),
        }
    values = draft.model_dump(mode="json")
    form: dict[str, Any] = {
        **{k: v for k, v in values.items() if k not in AMOUNTS.values()},
        **{name: _yuan(values[field]) for name, field in AMOUNTS.items()},
        "percent": ""
        if draft.percent_bp is None
        else f"{Decimal(draft.percent_bp).scaleb(-2).normalize():f}",
        "effective_from": max(draft.effective_from, date.fromisoformat(start)).isoformat(),
        "effective_to": "",
        "min_age": "" if draft.min_age is None else str(draft.min_age),
        "fund_id": "" if draft.fund_id is None else str(draft.fund_id),
        "priority": str(draft.priority),
        "preview_every_category": "1",
        "preview_price": _yuan(DEFAULT_PRICE_FEN),
        "preview_age": str(DEFAULT_AGE),
    }
    return form


def _typed_rule(form: FormDep) -> dict[str, Any]:
    """What the rule form sent, kept to fill the form again."""
    single = [
        "code",
        "funder_id",
        "fund_id",
        "effective_from",
        "effective_to",
        "min_age",
        "percent",
        "priority",
        "stacks",
        "preview_elder_ids",
        "preview_every_category",
        "preview_price",
        "preview_age",
        "preview_slot",
        *AMOUNTS,
    ]
    typed: dict[str, Any] = {name: text(form, name) for name in single}
    for name in (
        "categories",
        "excluded_categories",
        "site_ids",
        "slots",
        "weekdays",
        "preview_site_ids",
    ):
        typed[name] = [str(v) for v in form.getlist(name)][:50]
    return typed


def _percent_bp(typed: str) -> int | None:
    if not typed:
        return None
    try:
        percent = Decimal(typed.replace("%", "").strip())
    except InvalidOperation:
        percent = None
    if percent is None or not percent.is_finite() or percent.as_tuple().exponent < -2:  # type: ignore[operator]  # an int: percent is finite
        raise InvalidInput(
            field=FieldName(FIELD_LABELS["percent_bp"]),
            problem=FieldName(PROBLEMS["float_parsing"]),
            field_code="percent",
        )
    return int(percent * 100)


def _draft_from(typed: dict[str, Any], locale: str) -> RuleDraft:
    values: dict[str, Any] = {
        key: typed[key] or None
        for key in ("code", "funder_id", "fund_id", "effective_from", "effective_to", "min_age")
    }
    values["code"] = typed["code"]
    values["funder_id"] = typed["funder_id"]
    values["effective_from"] = typed["effective_from"]
    values.update(
        {
            key: typed[key]
            for key in ("categories", "excluded_categories", "site_ids", "slots", "weekdays")
        }
    )
    for name, field in AMOUNTS.items():
        values[field] = _fen_text(typed[name], name)
    values["percent_bp"] = _percent_bp(typed["percent"])
    values["priority"] = typed["priority"] or "100"
    values["stacks"] = bool(typed["stacks"])
    try:
        return validated(RuleDraft, values, locale, {})
    except FormInvalid as problem:
        raise FormInvalid({FORM_NAMES.get(k, k): v for k, v in problem.errors.items()}) from None


# The label each amount field is refused under (the form's name -> the field's label).
AMOUNT_LABELS = {
    "amount": "amount_fen",
    "cap_per_meal": "cap_per_meal_fen",
    "cap_per_elder_day": "cap_per_elder_day_fen",
    "cap_per_elder_month": "cap_per_elder_month_fen",
    "budget": "budget_fen",
    "period_budget": "budget_fen",
    "preview_price": "price",
    "min_payment": "elder_min_payment_fen",
}


def _fen_text(typed: str, name: str) -> int | None:
    """An amount typed in yuan as integer fen; refused by its own field and name."""
    if not typed:
        return None
    try:
        return price_fen_from_yuan(typed, name)
    except InvalidInput as refusal:
        label = FIELD_LABELS.get(AMOUNT_LABELS.get(name, name), name)
        refusal.params["field"] = FieldName(label)
        raise


def _rule_page(
    request: Request,
    session: Session,
    clock: Clock,
    *,
    code: str | None,
    form: dict[str, Any],
    errors: dict[str, Any] | None = None,
    preview: Preview | None = None,
    status: int = 200,
) -> HTMLResponse:
    versions = rule_versions(session=session, code=code) if code else []
    return page(
        request,
        "policy_rule.html",
        {
            "code": code,
            "versions": versions,
            "funders": [f for f in list_funders(session=session) if f.share != "elder"],
            "funds": list_funds(session=session),
            # Every site, a closed one too: a version keeps the sites of the one before.
            "sites": list(session.exec(select(Site).order_by(col(Site.active).desc(), Site.name))),
            "categories": list(Category),
            "slots": list(Slot),
            "weekdays": _weekday_names(request.state.locale),
            "today": today(clock),
            "form": form,
            "errors": errors or {},
            "preview": preview,
            "names": _names(request.state.locale),
        },
        status,
    )


@router.get("/admin/policy/rules/new", response_class=HTMLResponse, include_in_schema=False)
def rule_new_page(
    request: Request, staff: AdminStaff, session: ReadSessionDep, clock: ClockDep
) -> HTMLResponse:
    return _rule_page(request, session, clock, code=None, form=_rule_form(None, clock))


@router.get("/admin/policy/rules/{code}", response_class=HTMLResponse, include_in_schema=False)
def rule_page(
    request: Request,
    code: Annotated[str, Field(max_length=32)],
    staff: StatementStaff,
    session: ReadSessionDep,
    clock: ClockDep,
) -> HTMLResponse:
    latest = rule_versions(session=session, code=code)[0]
    return _rule_page(request, session, clock, code=code, form=_rule_form(draft_of(latest), clock))


@router.post("/admin/policy/rules", response_class=HTMLResponse, include_in_schema=False)
def rule_form(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    """The rule form's two buttons: Preview (nothing written) and Publish."""
    typed = _typed_rule(form)
    existing = text(form, "existing") or None
    try:
        draft = _draft_from(typed, locale)
        if text(form, "action") == "publish":
            with session.begin_nested():
                rule = publish_rule(session=session, clock=clock, actor=staff.actor, draft=draft)
            return RedirectResponse(
                f"/admin/policy/rules/{rule.code}?published={rule.version}", status_code=303
            )
        preview = preview_rule(
            session=session,
            clock=clock,
            actor=staff.actor,
            draft=draft,
            elder_ids=_elder_ids(typed["preview_elder_ids"]),
            site_ids=[int(s) for s in typed["preview_site_ids"] if s.isdigit()],
            every_category=bool(typed["preview_every_category"]),
            price_fen=_fen_text(typed["preview_price"], "preview_price") or DEFAULT_PRICE_FEN,
            age=_whole(typed["preview_age"], "preview_age", DEFAULT_AGE),
            slot=Slot(typed["preview_slot"]) if typed["preview_slot"] in set(Slot) else Slot.lunch,
        )
    except FormInvalid as problem:
        return _rule_page(
            request, session, clock, code=existing, form=typed, errors=problem.errors, status=422
        )
    except DomainError as error:
        found = _refused(error, locale)
        errors = {FORM_NAMES.get(k, k): v for k, v in found.errors.items()}
        if "elder_ids" in errors:
            errors["preview_elder_ids"] = errors.pop("elder_ids")
        return _rule_page(
            request, session, clock, code=existing, form=typed, errors=errors, status=error.status
        )
    return _rule_page(request, session, clock, code=existing, form=typed, preview=preview)


def _elder_ids(typed: str) -> list[int]:
    """Elders' numbers as staff type them: "12, 15 31"."""
    numbers = typed.replace("，", ",").replace(",", " ").split()
    if not all(n.isdigit() and 0 < int(n) < 2**31 for n in numbers):
        raise InvalidInput(
            field=FieldName(FIELD_LABELS["elder_ids"]),
            problem=FieldName(PROBLEMS["int_parsing"]),
            field_code="preview_elder_ids",
        )
    return [int(n) for n in numbers][:50]


def _whole(typed: str, field: str, default: int) -> int:
    if not typed:
        return default
    if not typed.isdigit() or int(typed) > 120:
        raise InvalidInput(
            field=FieldName(FIELD_LABELS["age"]),
            problem=FieldName(PROBLEMS["int_parsing"]),
            field_code=field,
        )
    return int(typed)
