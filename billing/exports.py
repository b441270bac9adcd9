"""Settlement files: CSV, XLSX and PDF for each statement, the elders' bills, fund reports and
providers' claims. The same month gives byte-identical files every time it is generated."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlmodel import Session, col, select

from billing.errors import SettlementFileNotFound
from billing.models import AnomalyReview, Fund, Funder, Share
from billing.settlement import (
    NO_CATEGORY,
    ElderTotal,
    FunderStatement,
    bill_rows,
    elder_bills,
    fund_reports,
    funder_meal_rows,
    funder_statements,
    provider_claims,
    tally,
)
from core import i18n
from core.i18n import N_
from core.reports import FORMATS, Cell, Document, Money, write, yuan
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

    def t(message: str) -> str:
        return i18n.gettext(message, locale)

    period = _period(first, last, locale)
    files: list[Path] = []
    totals = []
    category_header = _category_header(locale)
    for statement in funder_statements(session=session, first=first, last=last):
        document = statement_document(statement, month, first, last, locale)
        files += write(document, folder, first)
        meals = meals_document(statement, session, month, first, last, locale)
        files += write(meals, folder, first, formats=MEAL_FORMATS)
        totals.append((statement.name.in_locale(locale), statement.total_fen))

    for report in fund_reports(session=session, first=first, last=last):
        document = Document(
            f"fund-{report.code}",
            i18n.render(
                N_("{month} fund report: {fund}"),
                locale,
                {"month": month, "fund": report.in_locale(locale)},
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
                i18n.render(
                    N_("{meals} orders, {portions} portions."),
                    locale,
                    {"meals": report.meals, "portions": report.portions},
                ),
            ],
            [
                *category_header[:2],
                t(N_("Orders")),
                t(N_("Portions")),
                category_header[3],
            ],
            [
                [
                    category_name(line.category, locale),
                    line.site,
                    line.meals,
                    line.portions,
                    Money(line.amount_fen),
                ]
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
        *elder_columns(locale),
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
        for elder_id, name, id_tail, _, day, slot, site, zh, en, *shares in tally(
            bill_rows(session=session, first=first, last=last), per_elder
        ):
            # Amounts as yuan text straight away: this file is CSV only, and `yuan` remembers
            # the few prices and shares a month repeats a million times.
            yield [
                name,
                elder_id,
                id_tail,
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
                *elder_columns(locale),
                t(N_("Meals")),
                t(N_("Price")),
                *[i18n.display(share, locale) for share in Share],
            ],
            [
                [
                    total.name,
                    total.elder_id,
                    total.id_tail,
                    total.meals,
                    Money(total.price_fen),
                    *map(Money, total.shares),
                ]
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
                    bill.elder_id,
                    bill.id_tail,
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
                    bill.elder_id,
                    bill.id_tail,
                    t(N_("Total")),
                    "",
                    "",
                    "",
                    Money(bill.total()),
                    *[Money(bill.total(share)) for share in Share],
                ]
            )
            bills.sections.append(
                (
                    i18n.render(
                        N_("{name}, elder no. {number}, ID card ending {tail}")
                        if bill.id_tail
                        else N_("{name}, elder no. {number}"),
                        locale,
                        {"name": bill.name, "number": bill.elder_id, "tail": bill.id_tail},
                    ),
                    rows,
                )
            )
        files += write(bills, folder, first, formats=("pdf",))
    return Settlement(month, folder, files, totals, len(held_orders))


def elder_columns(locale: str) -> list[str]:
    """The columns that say who a bill's line is for: her name, her number in the registry
    (as staff see it on her page) and the last four characters of her ID card (empty when
    not on record), so that two elders of one name are never read as one, and a family
    can check the bill is hers without the whole ID card number on paper. A funder's
    statement meal by meal takes the last two: an auditor needs no name."""
    return [
        i18n.gettext(N_("Elder"), locale),
        i18n.gettext(N_("Elder no."), locale),
        i18n.gettext(N_("ID card (last 4)"), locale),
    ]


def _period(first: date, last: date, locale: str) -> str:
    return i18n.render(
        N_("Service days {first} to {last}; meals actually served."),
        locale,
        {"first": first, "last": last},
    )


def _category_header(locale: str) -> list[str]:
    return [
        i18n.gettext(N_("Elder category"), locale),
        i18n.gettext(N_("Site"), locale),
        i18n.gettext(N_("Meals"), locale),
        i18n.gettext(N_("Amount (yuan)"), locale),
    ]


def statement_document(
    statement: FunderStatement, month: str, first: date, last: date, locale: str
) -> Document:
    """One funder's statement: meals and amounts by elder category and site, with the total."""
    name = statement.name.in_locale(locale)
    rows: list[list[Cell]] = [
        [category_name(line.category, locale), line.site, line.meals, Money(line.amount_fen)]
        for line in statement.lines
    ]
    rows.append(
        [i18n.gettext(N_("Total"), locale), "", statement.meals, Money(statement.total_fen)]
    )
    return Document(
        f"statement-{statement.code}",
        i18n.render(N_("{month} statement: {funder}"), locale, {"month": month, "funder": name}),
        [
            _period(first, last, locale),
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
        _category_header(locale),
        rows,
    )


# The meal-by-meal detail of a statement: CSV, and a spreadsheet (on more than one worksheet
# when a month's meals do not fit one). No PDF: a month of meals is not read on paper.
MEAL_FORMATS = ("csv", "xlsx")


def meals_document(
    statement: FunderStatement,
    session: Session,
    month: str,
    first: date,
    last: date,
    locale: str,
) -> Document:
    """A funder's statement meal by meal, the lines an auditor samples from: each meal's date,
    site, elder (by number and her ID card's last four, as the bills name her: the auditor
    matches her to the civil-affairs list by them, or asks the programme for the record
    behind the number, and needs no name for that), category, order and the funder's part.
    They add up to the statement's total."""
    slots = {slot.value: i18n.display(slot, locale) for slot in Slot}
    categories: dict[str, str] = {}

    def rows() -> Iterator[list[Cell]]:
        for day, slot, site, elder_id, id_tail, category, order_id, amount in funder_meal_rows(
            session=session, funder_id=statement.funder_id, first=first, last=last
        ):
            if category not in categories:
                categories[category] = category_name(category, locale)
            yield [
                day,
                slots.get(slot, slot),
                site,
                elder_id,
                id_tail,
                categories[category],
                order_id,
                Money(amount),
            ]

    name = statement.name.in_locale(locale)
    return Document(
        f"meals-{statement.code}",
        i18n.render(
            N_("{month} statement meal by meal: {funder}"),
            locale,
            {"month": month, "funder": name},
        ),
        [
            _period(first, last, locale),
            i18n.render(
                N_("{meals} meals, {total} in all: the statement's total, one line per meal."),
                locale,
                {"meals": statement.meals, "total": i18n.money(statement.total_fen, locale)},
            ),
        ],
        [
            i18n.gettext(N_("Date"), locale),
            i18n.gettext(N_("Meal"), locale),
            i18n.gettext(N_("Site"), locale),
            # Her number and ID card tail, headed as on the bills; not her name.
            *elder_columns(locale)[1:],
            i18n.gettext(N_("Elder category"), locale),
            i18n.gettext(N_("Order"), locale),
            i18n.render(N_("{funder} pays (yuan)"), locale, {"funder": name}),
        ],
        Rows(rows),
    )


@dataclass(frozen=True)
class Rows:
    """A report's rows streamed from the database afresh each time a file is written of them
    (the CSV, then the spreadsheet): a generator would be spent after the first."""

    stream: Callable[[], Iterator[list[Cell]]]

    def __iter__(self) -> Iterator[list[Cell]]:
        return self.stream()


def category_name(code: str, locale: str) -> str:
    """An elder category code (or \"none\") as a person reads it."""
    if code == NO_CATEGORY:
        return i18n.gettext(N_("no category"), locale)
    return i18n.display(Category(code), locale)


# -- one file at a time (the web downloads) ---------------------------------------------------

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def statement_file_names(code: str) -> list[str]:
    """A funder's statement files, named as `settle_files` names them."""
    return [f"statement-{code}.{kind}" for kind in FORMATS]


def meal_file_names(code: str) -> list[str]:
    """A funder's statement meal by meal, named as `settle_files` names it."""
    return [f"meals-{code}.{kind}" for kind in MEAL_FORMATS]


def settlement_file_names(*, session: Session) -> list[str]:
    """Every file `settle_files` writes for a month (with the elders' bills as PDF), in order."""
    names = []
    for funder in session.exec(select(Funder).order_by(col(Funder.id))):
        names += statement_file_names(funder.code) + meal_file_names(funder.code)
    for fund in session.exec(select(Fund).order_by(col(Fund.id))):
        names += [f"fund-{fund.code}.{kind}" for kind in FORMATS]
    names += [f"claims.{kind}" for kind in FORMATS] + [f"anomalies.{kind}" for kind in FORMATS]
    return [*names, "bills.csv", "bills-summary.xlsx", "bills.pdf"]


def statement_file(
    statement: FunderStatement,
    *,
    session: Session,
    month: str,
    first: date,
    last: date,
    folder: Path,
    locale: str,
    name: str,
) -> Path:
    """One of a funder's files (`statement_file_names`, `meal_file_names`) by its name, byte
    for byte as `settle_files` writes it."""
    stem, kind = name.rsplit(".", 1)
    folder.mkdir(parents=True, exist_ok=True)
    if stem == f"meals-{statement.code}" and kind in MEAL_FORMATS:
        document = meals_document(statement, session, month, first, last, locale)
    elif stem == f"statement-{statement.code}" and kind in FORMATS:
        document = statement_document(statement, month, first, last, locale)
    else:
        raise SettlementFileNotFound(name=name)
    return write(document, folder, first, formats=(kind,))[0]


def settlement_file(
    *,
    session: Session,
    month: str,
    first: date,
    last: date,
    folder: Path,
    locale: str,
    reviews: list[AnomalyReview],
    name: str,
) -> Path:
    """One of the month's files by its name (see `settlement_file_names`), written into
    `folder`; a statement alone, anything else with the month's other documents."""
    if name not in settlement_file_names(session=session):
        raise SettlementFileNotFound(name=name)
    stem = name.rsplit(".", 1)[0]
    for statement in funder_statements(session=session, first=first, last=last):
        if stem in (f"statement-{statement.code}", f"meals-{statement.code}"):
            return statement_file(
                statement,
                session=session,
                month=month,
                first=first,
                last=last,
                folder=folder,
                locale=locale,
                name=name,
            )
    settle_files(
        session=session,
        month=month,
        first=first,
        last=last,
        folder=folder,
        locale=locale,
        reviews=reviews,
        bill_pdfs=name == "bills.pdf",
    )
    return folder / name
