"""Reports as files: a document (title, facts, a table) written as CSV, XLSX and PDF, the
same bytes every time for the same content. Used by settlement and the kitchen."""

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import xlsxwriter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

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


# A month's bills write millions of amounts, most of them the same few prices and shares.
@lru_cache(maxsize=1 << 16)
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
    for column, heading in enumerate(document.header):
        sheet.write(0, column, heading, bold)
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
    story: list[Flowable] = [Paragraph(document.title, title)]
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
