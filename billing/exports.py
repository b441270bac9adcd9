"""Settlement files: CSV, XLSX and PDF for each statement, the elders' bills, fund reports and
providers' claims. The same month gives byte-identical files every time it is generated."""

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import xlsxwriter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlmodel import Session

from billing.models import AnomalyReview, Share
from billing.settlement import (
    NO_CATEGORY,
    bill_rows,
    bill_totals,
    elder_bills,
    fund_reports,
    funder_statements,
    provider_claims,
)
from core import i18n
from core.i18n import N_
from core.types import Category, Slot

FORMATS = ("csv", "xlsx", "pdf")
# ReportLab's built-in CID font: Chinese renders (and extracts) without shipping a font file.
FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


class Money(int):
    """An amount in integer fen inside a report row: written as exact yuan text in CSV and
    PDF, and as a yuan number (shown to the fen) in spreadsheets."""

    def __str__(self) -> str:
        return yuan(self)


Cell = str | int


def yuan(fen: int) -> str:
    """Integer fen as a plain decimal yuan string for files, exact: -1234 -> "-12.34"."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


@dataclass
class Document:
    """One report: a title, some facts above the table, a header row and rows (a list, or a
    stream that is read once, for reports too long to hold)."""

    name: str
    title: str
    facts: list[str]
    header: list[str]
    rows: Iterable[list[Cell]] = field(default_factory=list)
    # Several tables in one PDF (one per elder in the bills): break pages between sections.
    sections: list[tuple[str, list[list[Cell]]]] = field(default_factory=list)

    def all_rows(self) -> Iterable[list[Cell]]:
        yield from self.rows
        for _, rows in self.sections:
            yield from rows


def write(
    document: Document, folder: Path, month_start: date, formats: Sequence[str] = FORMATS
) -> list[Path]:
    writers = {"csv": _csv, "xlsx": lambda d, f: _xlsx(d, f, month_start), "pdf": _pdf}
    return [writers[kind](document, folder) for kind in formats]


def _csv(document: Document, folder: Path) -> Path:
    path = folder / f"{document.name}.csv"
    # UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese right.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(document.header)
        writer.writerows(document.all_rows())
    return path


def _xlsx(document: Document, folder: Path, month_start: date) -> Path:
    path = folder / f"{document.name}.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    # A fixed creation time: the same month must give the same file.
    workbook.set_properties(
        {"title": document.title, "created": datetime.combine(month_start, datetime.min.time())}
    )
    sheet = workbook.add_worksheet()
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    for column, value in enumerate(document.header):
        sheet.write(0, column, value, bold)
    for row, values in enumerate(document.all_rows(), start=1):
        for column, value in enumerate(values):
            if isinstance(value, Money):
                # A spreadsheet cell holds a binary number; the exact fen stay in CSV and PDF.
                sheet.write_number(row, column, value / 100, money)
            elif isinstance(value, int):
                sheet.write_number(row, column, value)
            else:
                sheet.write_string(row, column, value)
    workbook.close()
    return path


def _pdf(document: Document, folder: Path) -> Path:
    path = folder / f"{document.name}.pdf"
    title = ParagraphStyle("title", fontName=FONT, fontSize=15, leading=20, spaceAfter=4)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13)
    story: list = [Paragraph(document.title, title)]
    story += [Paragraph(fact, body) for fact in document.facts]
    story.append(Spacer(1, 4 * mm))
    rows = list(document.rows)
    if rows or not document.sections:
        story.append(_table(document.header, rows))
    for index, (heading, rows) in enumerate(document.sections):
        if index:
            story.append(PageBreak())
        story += [Paragraph(heading, title), _table(document.header, rows)]
    # invariant=1: no creation time or random id in the file, so it is reproducible.
    pdf = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        invariant=1,
        title=document.title,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
    )
    pdf.build(story)
    return path


def _table(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> Table:
    table = Table([list(header), *[[str(v) for v in row] for row in rows]], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecef")),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9aa5ad")),
                ("ALIGN", (-2, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    return table


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
    # Every meal as CSV, streamed (a month can hold a million meals).
    every_meal = (
        [
            name,
            day.isoformat(),
            slots.get(slot, slot),
            site,
            zh if locale == "zh_CN" else en,
            Money(sum(shares)),
            *[Money(fen) for fen in shares],
        ]
        for _, name, _, day, slot, site, zh, en, *shares in bill_rows(
            session=session, first=first, last=last
        )
    )
    files += write(
        Document("bills", title, facts, bill_header, every_meal), folder, first, formats=("csv",)
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
            (
                [name, meals, Money(sum(shares)), *[Money(fen) for fen in shares]]
                for _, name, meals, *shares in bill_totals(session=session, first=first, last=last)
            ),
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
