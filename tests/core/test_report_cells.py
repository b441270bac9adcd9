"""What a report's CSV holds (issue 23, finding 4): text a spreadsheet would run as a formula
gets a leading single quote; numbers, and amounts written as text, stay numbers."""

import csv
from datetime import date

from core.reports import Document, Money, write


def test_formula_text_is_quoted_and_numbers_stay_numbers(tmp_path):
    rows = [
        ["=1+1", Money(-12000), "-120.00", -3],
        ["+86 20 8888 0000", Money(1250), "+3", 0],
        ["-2+3", Money(0), "12.50", 7],
        ["@SUM(A1:A9)", Money(5), "0.05", 1],
        ["\t=1+1", Money(5), "\r=1+1", 1],
        ["王小明", Money(5), "a=1", 1],
        ["a\r=1+1", Money(5), "b\r\n=1+1", 1],
        ["- 1", Money(5), "1-1", 1],
    ]
    document = Document("cells", "Cells", [], ["=Name", "Amount", "As text", "Count"], rows)
    [path] = write(document, tmp_path, date(2026, 11, 1), formats=("csv",))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.reader(handle))
    assert written == [
        ["'=Name", "Amount", "As text", "Count"],
        ["'=1+1", "-120.00", "-120.00", "-3"],
        ["'+86 20 8888 0000", "12.50", "+3", "0"],
        ["'-2+3", "0.00", "12.50", "7"],
        ["'@SUM(A1:A9)", "0.05", "0.05", "1"],
        ["'\t=1+1", "0.05", "'\n=1+1", "1"],
        ["王小明", "0.05", "a=1", "1"],
        # A carriage return would end the row in a spreadsheet: it becomes a quoted line feed.
        ["a\n=1+1", "0.05", "b\n=1+1", "1"],
        ["'- 1", "0.05", "1-1", "1"],
    ]
