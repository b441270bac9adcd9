"""A report's spreadsheet keeps every row: one too long for a worksheet goes on in the next,
under the same header."""

import io
import re
import zipfile
from datetime import date
from xml.etree import ElementTree

import core.reports
from core.reports import Document, Money, write

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def xlsx_sheets(data: bytes) -> list[list[list[str]]]:
    """Each worksheet's rows of cell texts, in order (numbers as written: "12.34", "3")."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        names = sorted(
            (n for n in book.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)),
            key=lambda n: int(re.findall(r"\d+", n)[0]),
        )
        sheets = []
        for name in names:
            root = ElementTree.fromstring(book.read(name))
            sheets.append(
                [
                    ["".join(cell.itertext()) for cell in row.iter(f"{MAIN}c")]
                    for row in root.iter(f"{MAIN}row")
                ]
            )
    return sheets


def test_rows_beyond_a_worksheet_go_on_in_the_next_under_the_same_header(tmp_path, monkeypatch):
    monkeypatch.setattr(core.reports, "XLSX_ROWS", 3)  # a header and two rows a sheet
    rows = [[f"meal {n}", n, Money(100 * n + 5)] for n in range(1, 6)]
    document = Document("meals", "Meals", [], ["Meal", "No.", "Amount"], iter(rows))
    (path,) = write(document, tmp_path, date(2026, 11, 1), formats=("xlsx",))
    sheets = xlsx_sheets(path.read_bytes())
    assert [len(sheet) for sheet in sheets] == [3, 3, 2]
    assert all(sheet[0] == ["Meal", "No.", "Amount"] for sheet in sheets)
    assert [row for sheet in sheets for row in sheet[1:]] == [
        [f"meal {n}", str(n), f"{n}.05"] for n in range(1, 6)
    ]
