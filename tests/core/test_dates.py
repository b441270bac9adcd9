"""Birth dates as a district's spreadsheets and staff write them (issue 22)."""

from datetime import date, datetime

import pytest

from core.dates import read_date


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("1941/7/25", date(1941, 7, 25)),
        ("1941-07-25", date(1941, 7, 25)),
        ("1941.7.25", date(1941, 7, 25)),
        ("1935年12月1日", date(1935, 12, 1)),
        ("1935年12月1", date(1935, 12, 1)),
        ("19410725", date(1941, 7, 25)),
        ("１９４１／７／２５", date(1941, 7, 25)),  # full-width, from a Chinese keyboard
        (" 1941-07-25 00:00:00 ", date(1941, 7, 25)),  # a date cell read as text
        (15182, date(1941, 7, 25)),  # an Excel date cell: days since 1899-12-30
        (15182.0, date(1941, 7, 25)),
        (datetime(1941, 7, 25, 0, 0), date(1941, 7, 25)),
        (date(1941, 7, 25), date(1941, 7, 25)),
    ],
)
def test_the_ways_a_birth_date_is_written_all_read(written, meant):
    assert read_date(written) == meant


@pytest.mark.parametrize(
    "written", ["1941/2/30", "41/7/25", "七月二十五", "1941-07", "", "19411325", 15182.5, True]
)
def test_what_is_not_a_date_is_left_for_the_field_to_refuse(written):
    assert read_date(written) == written
