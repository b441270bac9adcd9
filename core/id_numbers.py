"""Resident ID card numbers (居民身份证号码, GB 11643-1999): read as people and spreadsheets
write them, checked (the check digit, the birth date in it), and kept as personal data should
be: a keyed hash to find the same person again and the last four characters to tell two
people of one name apart. The number itself is never stored (docs/security.md)."""

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.settings import get_settings

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
_LONG = re.compile(r"\d{17}[\dX]")
_OLD = re.compile(r"\d{15}")


class IdNumberProblem(ValueError):
    """Why a text is not an ID card number: `code` names the problem (core.validation.PROBLEMS)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class IdNumber:
    """A checked 18-character ID number (an old 15-digit one is brought to 18 characters, so
    both forms of one person's number are the same number)."""

    value: str

    @property
    def birth_date(self) -> date:
        return date(int(self.value[6:10]), int(self.value[10:12]), int(self.value[12:14]))

    @property
    def tail(self) -> str:
        return self.value[-4:]

    def keyed_hash(self) -> str:
        return id_number_hash(self.value)


def check_character(first17: str) -> str:
    """The 18th character of an ID number whose first 17 digits are these (ISO 7064 MOD 11-2)."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def read_id_number(value: Any) -> IdNumber:
    """The ID number a cell or a form field holds, checked; IdNumberProblem if it is none.
    Full-width digits, spaces and a lower-case x are read as typed on a Chinese keyboard."""
    if isinstance(value, bool):
        raise IdNumberProblem("id_number_form")
    if isinstance(value, int | float):
        # A spreadsheet that took the number for a number keeps 15 significant digits: the
        # last ones are gone (440104194107250000, 4.40104E+17), and cannot be recovered.
        raise IdNumberProblem("id_number_digits_lost")
    text = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", str(value))).upper()
    if re.fullmatch(r"\d(\.\d+)?E\+\d+", text):
        raise IdNumberProblem("id_number_digits_lost")
    if _OLD.fullmatch(text):
        # Numbers issued before 1999: a two-digit year of the 1900s and no check character.
        first17 = f"{text[:6]}19{text[6:]}"
        text = first17 + check_character(first17)
    elif not _LONG.fullmatch(text):
        raise IdNumberProblem("id_number_form")
    elif check_character(text[:17]) != text[17]:
        raise IdNumberProblem("id_number_check_digit")
    number = IdNumber(text)
    try:
        number.birth_date  # noqa: B018  (a date that exists)
    except ValueError:
        raise IdNumberProblem("id_number_birth_date") from None
    return number


def id_number_key() -> bytes:
    settings = get_settings()
    if settings.id_number_key:
        return settings.id_number_key.encode()
    return hmac.new(settings.secret_key.encode(), b"mealaid id number", hashlib.sha256).digest()


def id_number_hash(value: str) -> str:
    """The keyed hash an ID number is stored as. Keyed (HMAC-SHA256, a key the database does
    not hold): ID numbers are few enough (places, dates of birth, 1,000 serials) that a plain
    hash of one is found by trying them all."""
    return hmac.new(id_number_key(), f"id-number:{value}".encode(), hashlib.sha256).hexdigest()
