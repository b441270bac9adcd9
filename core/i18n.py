"""Translation and formatting helpers shared by the bot, the pages and the CLI (Babel catalogs)."""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations

from core.marks import N_ as N_  # re-exported: every module marks its messages from here
from core.settings import get_settings

LOCALES = ("zh_CN", "en")
DOMAIN = "messages"


@lru_cache
def babel_locale(code: str) -> Locale:
    """Parsed once: Babel's formatters parse a locale string on every call otherwise, which
    costs more than the formatting itself."""
    return Locale.parse(code)


@lru_cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog for a locale (English msgids fall through unchanged)."""
    directory = get_settings().locales_dir
    return Translations.load(str(directory), [locale], DOMAIN)


@lru_cache(maxsize=256)
def negotiate(requested: str | None, default: str | None = None) -> str:
    """Map a client's language tag ("zh-hans", "en-US", "zh_CN") to one of our locales."""
    fallback = default or get_settings().default_locale
    if not requested:
        return fallback
    tag = requested.replace("-", "_").strip()
    try:
        language = Locale.parse(tag).language
    except (ValueError, UnknownLocaleError):
        language = tag.split("_")[0].lower()
    if language == "zh":
        return "zh_CN"
    if language == "en":
        return "en"
    return fallback


def gettext(message: str, locale: str) -> str:
    return translations(locale).gettext(message)


def ngettext(singular: str, plural: str, n: int, locale: str) -> str:
    return translations(locale).ngettext(singular, plural, n)


# The locale still gives the digits' grouping and decimal sign.
YUAN = "¥#,##0.00"


def money(fen: int, locale: str) -> str:
    """Format an integer amount of fen as yuan for people, e.g. ¥15.00, in every language:
    English's own symbol for the yuan is "CN¥" (to tell it from the Japanese yen), which no
    one reading a bill from a Chinese meal programme needs."""
    if not isinstance(fen, int):
        raise TypeError("money is integer fen")
    return format_currency(
        Decimal(fen).scaleb(-2),
        "CNY",
        format=YUAN,
        currency_digits=False,
        locale=babel_locale(locale),
    )


def day(value: date, locale: str) -> str:
    return format_date(value, format="medium", locale=babel_locale(locale))


def weekday_and_day(value: date, locale: str) -> str:
    pattern = "M月d日 EEEE" if locale == "zh_CN" else "EEE d MMM"
    return format_date(value, format=pattern, locale=babel_locale(locale))


def clock_time(value: time | datetime, locale: str) -> str:
    return format_time(value, format="HH:mm", locale=babel_locale(locale))


def moment(value: datetime, locale: str) -> str:
    """A moment close enough to now that the year goes without saying: 11月25日 09:30."""
    pattern = "M月d日 HH:mm" if locale == "zh_CN" else "d MMM HH:mm"
    return format_datetime(value, format=pattern, tzinfo=value.tzinfo, locale=babel_locale(locale))


def render(message: str, locale: str, params: dict[str, Any] | None = None) -> str:
    """Translate `message` and fill its {placeholders}, formatting each value for the locale."""
    text = gettext(message, locale)
    if not params:
        return text
    return text.format(**{key: display(value, locale) for key, value in params.items()})


@dataclass(frozen=True)
class Bilingual:
    """A name kept in both languages, such as a dish: shown in the reader's."""

    zh: str
    en: str

    def __str__(self) -> str:
        return self.zh

    def in_locale(self, locale: str) -> str:
        return self.zh if locale == "zh_CN" else self.en


def display(value: Any, locale: str) -> str:
    """One value as a person reads it: dates, times and labelled enums in their language."""
    if isinstance(value, Bilingual) or hasattr(value, "in_locale"):
        return str(value.in_locale(locale))
    if hasattr(value, "label"):
        return gettext(value.label, locale)
    if isinstance(value, datetime):
        return moment(value, locale)
    if isinstance(value, date):
        return day(value, locale)
    if isinstance(value, time):
        return clock_time(value, locale)
    return str(value)
