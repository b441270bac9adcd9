"""Dates as people and spreadsheets write them: the civil-affairs lists a district already
keeps hold birth dates as 1941/7/25, 1941-07-25, 1941.7.25, 1935年12月1日, 19410725, with
full-width digits from a Chinese keyboard, or as Excel's date cells (a day count)."""

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

# Excel counts days from 1899-12-30 (its day 60 is the 29 February 1900 that never was).
_EXCEL_EPOCH = date(1899, 12, 30)
_SEPARATED = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def read_date(value: Any) -> Any:
    """The date `value` means, or `value` itself when it means none (so the caller's own
    validation refuses it, in the reader's language, as any other bad date)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _excel_day(value)
    if not isinstance(value, str):
        return value
    text = unicodedata.normalize("NFKC", value).strip()
    # A date cell read as text keeps a time of midnight: 1941-07-25 00:00:00.
    text = re.sub(r"[ T]00:00(:00)?$", "", text)
    found = _SEPARATED.fullmatch(text) or _COMPACT.fullmatch(text)
    if found is None:
        return value
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return value


def _excel_day(serial: float) -> Any:
    if serial != int(serial) or not 1 <= serial <= 2_958_465:  # 9999-12-31
        return serial
    return _EXCEL_EPOCH + timedelta(days=int(serial))


# A date field that also takes the ways spreadsheets and people write dates.
SpreadsheetDate = Annotated[date, BeforeValidator(read_date)]
