"""Settlement files: CSV, XLSX and PDF for each statement, the elders' bills, fund reports and
providers' claims. The same month gives byte-identical files every time it is generated."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlmodel import Session

from billing.models import AnomalyReview, Share
from billing.settlement import (
    NO_CATEGORY,
    ElderTotal,
    bill_rows,
    elder_bills,
    fund_reports,
    funder_statements,
    provider_claims,
    tally,
)
from core import i18n
from core.i18n import N_
from core.reports import Cell, Document, Money, write, yuan
from core.types import Category, Slot

# -- the month's documents --------------------------------------------------------------------


@dataclass
class Settlement:
    month: str
    folder: Path
    files: list[Path]
    totals: list[tuple[str, int]]  # (funder name, fen)
    held: int


def settle_files(
    *,
    session: Session,
    month: str,
    first: date,
    last: date,
    folder: Path,
    locale: str,
    reviews: list[AnomalyReview],
    bill_pdfs: bool = True,
) -> Settlement:
    """Write every settlement document of the month into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    t = lambda message: i18n.gettext(message, locale)  # noqa: E731
    period = i18n.render(
        N_("Service days {first} to {last}; meals actually served."),
        locale,
        {"first": first, "last": last},
    )
    files: list[Path] = []
    totals = []
    category_header = [
        t(N_("Elder category")),
        t(N_("Site")),
        t(N_("Meals")),
        t(N_("Amount (yuan)")),
    ]
    for statement in funder_statements(session=session, first=first, last=last):
        name = statement.name.in_locale(locale)
        document = Document(
            f"statement-{statement.code}",
            i18n.render(
                N_("{month} statement: {funder}"), locale, {"month": month, "funder": name}
            ),
            [
                period,
                i18n.render(
                    N_("Contribution: {share}. Meals: {meals}. Total: {total}."),
                    locale,
                    {
                        "share": statement.share,
                        "meals": statement.meals,
                        "total": i18n.money(statement.total_fen, locale),
                    },
                ),
            ],
            category_header,
            [
                [_category(line.category, locale), line.site, line.meals, Money(line.amount_fen)]
                for line in statement.lines
            ]
            + [[t(N_("Total")), "", statement.meals, Money(statement.total_fen)]],
        )
        files += write(document, folder, first)
        totals.append((name, statement.total_fen))

    for report in fund_reports(session=session, first=first, last=last):
        document = Document(
            f"fund-{report.code}",
            i18n.render(
                N_("{month} fund report: {fund}"), locale, {"month": month, "fund": report.name}
            ),
            [
                period,
                i18n.render(
                    N_(
                        "Budget {budget}; spent this month {spent}; committed in all {committed}; "
                        "left {left}."
                    ),
                    locale,
                    {
                        "budget": i18n.money(report.budget_fen, locale),
                        "spent": i18n.money(report.spent_fen, locale),
                        "committed": i18n.money(report.committed_fen, locale),
                        "left": i18n.money(report.budget_fen - report.committed_fen, locale),
                    },
                ),
            ],
            category_header,
            [
                [_category(line.category, locale), line.site, line.meals, Money(line.amount_fen)]
                for line in report.lines
            ],
        )
        files += write(document, folder, first)

    held_orders = {review.order_id for review in reviews if review.status != "approved"}
    claims = provider_claims(session=session, first=first, last=last)
    files += write(
        Document(
            "claims",
            i18n.render(N_("{month} providers' claims"), locale, {"month": month}),
            [period, t(N_("Meals flagged by the anomaly checks are held back until approved."))],
            [
                t(N_("Site")),
                t(N_("Funder")),
                t(N_("Meals claimed")),
                t(N_("Claim (yuan)")),
                t(N_("Meals held")),
                t(N_("Held (yuan)")),
            ],
            [
                [
                    claim.site,
                    claim.funder.in_locale(locale),
                    claim.meals,
                    Money(claim.amount_fen),
                    claim.held_meals,
                    Money(claim.held_fen),
                ]
                for claim in claims
            ],
        ),
        folder,
        first,
    )

    files += write(
        Document(
            "anomalies",
            i18n.render(N_("{month} meals held for review"), locale, {"month": month}),
            [period],
            [t(N_("Order")), t(N_("Reason")), t(N_("Detail")), t(N_("Decision"))],
            [
                [
                    review.order_id,
                    i18n.display(review.reason, locale),
                    review.detail or "",
                    i18n.display(review.status, locale),
                ]
                for review in reviews
            ],
        ),
        folder,
        first,
    )

    bill_header = [
        t(N_("Elder")),
        t(N_("Date")),
        t(N_("Meal")),
        t(N_("Site")),
        t(N_("Dish")),
        t(N_("Price")),
        *[i18n.display(share, locale) for share in Share],
    ]
    title = i18n.render(N_("{month} bills for elders"), locale, {"month": month})
    facts = [period, t(N_("Every meal, and who paid what for it."))]
    slots = {slot.value: i18n.display(slot, locale) for slot in Slot}

    # Every meal as CSV, streamed from the database cursor (a month can hold a million
    # meals); each elder's totals for the spreadsheet are added up on the way.
    per_elder: list[ElderTotal] = []

    def every_meal() -> Iterator[list[Cell]]:
        for _, name, _, day, slot, site, zh, en, *shares in tally(
            bill_rows(session=session, first=first, last=last), per_elder
        ):
            # Amounts as yuan text straight away: this file is CSV only, and `yuan` remembers
            # the few prices and shares a month repeats a million times.
            yield [
                name,
                day,
                slots.get(slot, slot),
                site,
                zh if locale == "zh_CN" else en,
                yuan(sum(shares)),
                *map(yuan, shares),
            ]

    files += write(
        Document("bills", title, facts, bill_header, every_meal()), folder, first, formats=("csv",)
    )
    # One row per elder in the spreadsheet: a month of meals would overflow a worksheet.
    files += write(
        Document(
            "bills-summary",
            title,
            facts,
            [
                t(N_("Elder")),
                t(N_("Meals")),
                t(N_("Price")),
                *[i18n.display(share, locale) for share in Share],
            ],
            [
                [total.name, total.meals, Money(total.price_fen), *map(Money, total.shares)]
                for total in per_elder
            ],
        ),
        folder,
        first,
        formats=("xlsx",),
    )
    if bill_pdfs:
        # Each elder's bill on pages of its own, ready to print and hand over.
        bills = Document("bills", title, facts, bill_header)
        for bill in elder_bills(session=session, first=first, last=last):
            rows: list[list[Cell]] = [
                [
                    bill.name,
                    line.service_date.isoformat(),
                    slots.get(line.slot, line.slot),
                    line.site,
                    line.dish.in_locale(locale),
                    Money(line.price_fen),
                    *[Money(line.shares[share]) for share in Share],
                ]
                for line in bill.lines
            ]
            rows.append(
                [
                    bill.name,
                    t(N_("Total")),
                    "",
                    "",
                    "",
                    Money(bill.total()),
                    *[Money(bill.total(share)) for share in Share],
                ]
            )
            bills.sections.append((f"{bill.name} (#{bill.elder_id})", rows))
        files += write(bills, folder, first, formats=("pdf",))
    return Settlement(month, folder, files, totals, len(held_orders))


def _category(code: str, locale: str) -> str:
    if code == NO_CATEGORY:
        return i18n.gettext(N_("no category"), locale)
    return i18n.display(Category(code), locale)
