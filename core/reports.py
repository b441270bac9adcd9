"""Reports as files: a document (title, facts, a table) written as CSV, XLSX and PDF, the
same bytes every time for the same content; and QR codes drawn on a PDF page. Used by
settlement, the kitchen and meal cards."""

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
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
# Every PDF carries (the glyphs it uses of) this TrueType font, so that it prints the same in
# any viewer and on any printer. A font only named in the file, such as ReportLab's built-in
# STSong-Light, is left to the viewer, which substitutes what it has: "·" came out as a box.
# The font comes with the project (pyproject.toml says from where).
FONT = "WenQuanYiMicroHei"
FONT_FILE = files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"


@cache
def font() -> str:
    """The font's name, registered with ReportLab when the first PDF of the process is drawn:
    reading the 5 MB font file takes 0.2 s of CPU, which every process (a web server, each
    command) paid at import whether it wrote a PDF or not."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE), subfontIndex=0))
    return FONT


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


@dataclass(frozen=True)
class Summary:
    """A small table printed in the PDF above a document's main table."""

    heading: str
    header: list[str]
    rows: list[list[Cell]]


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
    # In the PDF only, above the main table (under `heading`): the production list's totals
    # per dish above its rows per destination. CSV and XLSX keep the main table alone, the
    # one table a spreadsheet reads.
    summaries: list[Summary] = field(default_factory=list)
    heading: str = ""

    def all_rows(self) -> Iterable[list[Cell]]:
        yield from self.rows
        for _, rows in self.sections:
            yield from rows


def write(
    document: Document, folder: Path, month_start: date, formats: Sequence[str] = FORMATS
) -> list[Path]:
    writers = {"csv": _csv, "xlsx": lambda d, f: _xlsx(d, f, month_start), "pdf": _pdf}
    return [writers[kind](document, folder) for kind in formats]


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...) sends
# the sheet's data away, =cmd|... ran programs in old Excel); a line feed is included because
# some programs drop leading line breaks before looking.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# An amount or a count written as text ("-12.34", "+3"): a spreadsheet reads it as that
# number, which can run nothing, so it is kept as it is.
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def csv_cell(value: Cell) -> Cell:
    """A cell as CSV must hold it: text a spreadsheet would run as a formula gets a leading
    single quote (OWASP's advice: the quote makes it text, and shows what was typed); numbers,
    and text that is a plain number, are left alone so that amounts stay numbers."""
    if not isinstance(value, str):
        return value
    if "\r" in value:
        # The writer quotes a cell with a line feed but not one with a lone carriage return,
        # which spreadsheets read as the end of the row: "x\r=1+1" would start a new row with
        # a formula in its first cell.
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Cell]) -> list[Cell]:
    return [csv_cell(value) for value in values]


def _csv(document: Document, folder: Path) -> Path:
    path = folder / f"{document.name}.csv"
    # UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese right.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(csv_row(document.header))
        writer.writerows(map(csv_row, document.all_rows()))
    return path


# Rows of one worksheet, its header included (Excel's limit).
XLSX_ROWS = 1_048_576


def _xlsx(document: Document, folder: Path, month_start: date) -> Path:
    path = folder / f"{document.name}.xlsx"
    import xlsxwriter  # here, not at import: 0.1 s that most processes never need

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    # A fixed creation time: the same month must give the same file.
    workbook.set_properties(
        {"title": document.title, "created": datetime.combine(month_start, datetime.min.time())}
    )
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})

    def worksheet() -> Any:
        sheet = workbook.add_worksheet()
        for column, heading in enumerate(document.header):
            sheet.write(0, column, heading, bold)
        return sheet

    sheet, row = worksheet(), 0
    for values in document.all_rows():
        row += 1
        if row == XLSX_ROWS:
            # A worksheet ends at XLSX_ROWS rows: a long report (a month's meals) goes on in
            # the next one, under the same header, rather than losing its last rows.
            sheet, row = worksheet(), 1
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
    title = ParagraphStyle("title", fontName=font(), fontSize=15, leading=20, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font(), fontSize=9.5, leading=13)
    # Paragraphs read ReportLab's markup: names and other typed text in them are escaped, or
    # a name like <img src="..."/> would fetch a file and "<b" would stop the whole document.
    story: list[Flowable] = [Paragraph(escape(document.title), title)]
    story += [Paragraph(escape(fact), body) for fact in document.facts]
    story.append(Spacer(1, 4 * mm))
    heading = ParagraphStyle("heading", fontName=font(), fontSize=12, leading=16, spaceAfter=3)
    for summary in document.summaries:
        story += [
            Paragraph(escape(summary.heading), heading),
            _table(summary.header, summary.rows),
            Spacer(1, 5 * mm),
        ]
    if document.heading:
        story.append(Paragraph(escape(document.heading), heading))
    rows = list(document.rows)
    if rows or not document.sections:
        story.append(_table(document.header, rows))
    for index, (heading, rows) in enumerate(document.sections):
        if index:
            story.append(PageBreak())
        story += [Paragraph(escape(heading), title), _table(document.header, rows)]
    # invariant=1: no creation time or random id in the file, so it is reproducible.
    pdf = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        invariant=1,
        # Not ReportLab's default Helvetica, which every page would then name without using.
        initialFontName=font(),
        title=document.title,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
    )
    pdf.build(story)
    return path


def _table(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> Table:
    table = Table(
        [list(header), *[[str(v) for v in row] for row in rows]], repeatRows=1, hAlign="LEFT"
    )
    # Counts and amounts line up on the right, text on the left: a column is a number
    # column when every cell in it that is not blank is a number.
    numbers = [
        ("ALIGN", (column, 0), (column, -1), "RIGHT")
        for column in range(len(header))
        if rows
        and all(isinstance(row[column], int) for row in rows if row[column] != "")
        and any(row[column] != "" for row in rows)
    ]
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font(), 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecef")),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9aa5ad")),
                *numbers,
            ]
        )
    )
    return table


@lru_cache(maxsize=4096)
def _qr_runs(text: str) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """The QR code's dark modules as horizontal runs (row, first column, length). A fixed
    mask skips segno's mask search: every mask gives a valid code, and labels print fast."""
    matrix = segno.make(text, error="m", micro=False, mask=0, boost_error=False).matrix
    runs: list[tuple[int, int, int]] = []
    for row, modules in enumerate(matrix):
        column = 0
        while column < len(modules):
            if modules[column]:
                start = column
                while column < len(modules) and modules[column]:
                    column += 1
                runs.append((row, start, column - start))
            else:
                column += 1
    return len(matrix), tuple(runs)


def draw_qr(pdf: canvas.Canvas, text: str, x: float, y: float, size: float) -> None:
    """A QR code of `text` (a link on labels and route sheets, a card's code on meal cards),
    `size` wide (quiet zone not included), bottom-left at (x, y)."""
    count, runs = _qr_runs(text)
    cell = size / count
    path = pdf.beginPath()
    for row, column, length in runs:
        path.rect(x + column * cell, y + (count - 1 - row) * cell, length * cell, cell)
    pdf.drawPath(path, stroke=0, fill=1)
