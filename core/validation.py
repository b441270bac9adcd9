"""Input checking at every service entry point: bad values become a translated InvalidInput."""

import functools
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any, ParamSpec, TypeVar

from pydantic import AfterValidator, ConfigDict, ValidationError, validate_call
from pydantic_core import PydanticCustomError

from core.errors import InvalidInput
from core.i18n import N_

P = ParamSpec("P")
R = TypeVar("R")


class FieldName:
    """A field's name as people read it, translated when the error is shown."""

    def __init__(self, label: str) -> None:
        self.label = label


FIELD_LABELS = {
    "elder_id": N_("elder"),
    "site_id": N_("meal site"),
    "service_date": N_("date"),
    "slot": N_("meal"),
    "dish_id": N_("dish"),
    "variant": N_("variant"),
    "quantity": N_("number of portions"),
    "mode": N_("delivery or pick-up"),
    "idempotency_key": N_("request number"),
    "order_id": N_("order"),
    "standing_order_id": N_("standing order"),
    "weekdays": N_("weekdays"),
    "start_date": N_("start date"),
    "end_date": N_("end date"),
    "name": N_("name"),
    "phone": N_("phone number"),
    "address": N_("address"),
    "birth_date": N_("date of birth"),
    "lat": N_("latitude"),
    "lon": N_("longitude"),
    "price_fen": N_("price"),
    "price": N_("price"),
    "item_id": N_("meal"),
    "week": N_("week"),
    "allergens": N_("allergens"),
    "diet_tags": N_("diets"),
    "variants": N_("variants"),
    "code": N_("code"),
    "name_zh": N_("name in Chinese"),
    "name_en": N_("name in English"),
    "position": N_("set number"),
    "texture": N_("food texture"),
    "categories": N_("categories"),
    "community_id": N_("community"),
    "username": N_("user name"),
    "password": N_("password"),
    "new_password": N_("new password"),
    "role": N_("role"),
    "rider_id": N_("rider"),
    "funder_id": N_("funder"),
    "kitchen_id": N_("kitchen"),
    "community_ids": N_("communities"),
    "display_name": N_("name shown"),
    "gender": N_("gender"),
    "diet_needs": N_("diet needs"),
    "allergies": N_("allergies"),
    "service_mode": N_("how meals are served"),
    "home_site_id": N_("home meal site"),
    "language": N_("language"),
    "notes": N_("notes"),
    "status": N_("status"),
    "consent": N_("consent"),
    "category": N_("category"),
    "valid_from": N_("valid from"),
    "valid_to": N_("valid until"),
    "emergency_contacts": N_("emergency contacts"),
    "relation": N_("relation"),
    "priority": N_("priority"),
    "reason": N_("reason"),
    "outcome": N_("outcome"),
    "q": N_("search"),
    "issued_by": N_("issued by"),
    "id_number": N_("ID card number"),
    "kind": N_("kind"),
    "ingredient_id": N_("ingredient"),
    "milli_per_portion": N_("quantity per portion"),
}

PROBLEMS = {
    "int_parsing": N_("a whole number is needed."),
    "int_type": N_("a whole number is needed."),
    "int_from_float": N_("a whole number is needed."),
    "float_parsing": N_("a number is needed."),
    "date_parsing": N_("a date like 2026-11-25 is needed."),
    "date_from_datetime_parsing": N_("a date like 2026-11-25 is needed."),
    "date_type": N_("a date like 2026-11-25 is needed."),
    "missing": N_("this is required."),
    "missing_argument": N_("this is required."),
    "string_too_short": N_("this is too short."),
    "string_too_long": N_("this is too long."),
    "string_pattern_mismatch": N_("this is not in the expected form."),
    "enum": N_("this is not one of the choices."),
    "literal_error": N_("this is not one of the choices."),
    "greater_than_equal": N_("this number is too small."),
    "greater_than": N_("this number is too small."),
    "less_than_equal": N_("this number is too large."),
    "less_than": N_("this number is too large."),
    "control_characters": N_("this contains characters that cannot be stored."),
    "invisible_characters": N_(
        "this contains invisible characters (a zero-width space or a mark that turns the "
        "direction of the text); please type it again without them."
    ),
    "nothing_visible": N_("this has nothing in it that can be seen."),
    "implausible_birth_date": N_(
        "a date of birth is needed that is not in the future nor more than 120 years ago."
    ),
    "too_long": N_("there are too many of these."),
    "id_number_form": N_("an ID card number has 18 characters (or 15 digits for an old card)."),
    "id_number_check_digit": N_(
        "the last character does not match the others: a digit is mistyped."
    ),
    "id_number_birth_date": N_("the date of birth in this number does not exist."),
    "id_number_digits_lost": N_(
        "the spreadsheet stored this number as a number and lost its last digits: format "
        "the column as text and type the numbers again."
    ),
    "id_number_birth_mismatch": N_(
        "the date of birth in this number is not the date of birth given."
    ),
    "id_number_taken": N_("another elder is registered with this ID card number."),
    "bool_parsing": N_("please answer yes or no."),
    "list_type": N_("a list is needed."),
}
UNKNOWN_PROBLEM = N_("this value is not valid.")
# Fields the staff forms offer as a list to choose from. Left unchosen, a list sends an empty
# value, and "a whole number is needed" would blame the person for a number they never saw.
UNCHOSEN = {
    "community_id": N_("please choose a community."),
    "home_site_id": N_("please choose a meal site."),
    "site_id": N_("please choose a meal site."),
    "elder_id": N_("please choose an elder."),
    "item_id": N_("please choose a meal."),
    "dish_id": N_("please choose a dish."),
    "slot": N_("please choose a meal."),
    "variant": N_("please choose a dish and how it is cooked."),
    "category": N_("please choose a category."),
    "texture": N_("please choose a food texture."),
    "service_mode": N_("please choose how meals are served."),
    "mode": N_("please choose how the meal is served."),
    "language": N_("please choose a language."),
    "status": N_("please choose a status."),
    "role": N_("please choose a role."),
}
NOT_A_PRICE = N_("a price in yuan like 12.50 is needed.")


# -- text people type ---------------------------------------------------------------------------
# Refused anywhere: control characters (Cc: PostgreSQL cannot store NUL, and none is typed on
# purpose; DEL and the C1 controls too), lone surrogates (Cs: not text, and not storable as
# UTF-8), the line and paragraph separators, and the invisible format characters (Cf): zero-width
# spaces, the byte-order mark, and the bidirectional embeddings, overrides and isolates that make
# "abc\u202egnp.exe" read as "abcexe.png" (the "Trojan Source" trick) or turn a name around on
# a page, a list or a label. Kept: every letter, mark, digit, punctuation and symbol of every
# script (Chinese names, the middle dot in 阿依古丽·买买提), private-use characters (some rare
# characters of Chinese names exist only there), and the zero-width joiner and non-joiner, which
# some scripts and emoji need and which cannot reorder text. Tab and line breaks only where the
# field holds lines (notes); elsewhere the field's own pattern refuses them.
LINE_BREAKS = frozenset("\t\n\r")
KEPT_FORMAT = frozenset("\u200c\u200d")
# Letters that show nothing: Hangul fillers and the blank Braille pattern.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def text_problem(value: str, *, lines: bool = False) -> str | None:
    """What is wrong with a piece of typed text (a key of PROBLEMS), or None."""
    if value.isascii() and value.isprintable():
        return None  # most text: nothing to look at character by character
    visible = False
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp"):
            if lines and char in LINE_BREAKS:
                continue
            return "control_characters"
        if category == "Cf" and char not in KEPT_FORMAT:
            return "invisible_characters"
        if (category[0] in "LNPS" or category == "Co") and char not in BLANK_LETTERS:
            visible = True
    if value and not visible and not value.isspace():
        return "nothing_visible"
    return None


def _hidden(char: str) -> bool:
    category = unicodedata.category(char)
    return category in ("Cc", "Cs", "Zl", "Zp") or (category == "Cf" and char not in KEPT_FORMAT)


def without_hidden(value: str) -> str:
    """`value` without the characters `text_problem` refuses: for text that comes from
    elsewhere and cannot be sent back (a person's name as Telegram gives it)."""
    if value.isascii() and value.isprintable():
        return value
    return "".join(char for char in value if not _hidden(char))


def _checked(value: str, lines: bool) -> str:
    problem = text_problem(value, lines=lines)
    if problem is not None:
        raise PydanticCustomError(problem, PROBLEMS[problem])
    return value


def checked_line(value: str) -> str:
    """`value`, if it is text fit to store and show on one line (a pydantic validator)."""
    return _checked(value, lines=False)


def checked_lines(value: str) -> str:
    """`value`, if it is text fit to store and show, on one line or several."""
    return _checked(value, lines=True)


# For an `Annotated[str, ...]`: the text rules above, on one line or on several.
LINE = AfterValidator(checked_line)
LINES = AfterValidator(checked_lines)

OLDEST_AGE_YEARS = 120


def plausible_birth_date(born: date, today: date) -> bool:
    """Not in the future, and not more than 120 years ago (no one registered is older)."""
    try:
        oldest = today.replace(year=today.year - OLDEST_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = date(today.year - OLDEST_AGE_YEARS, 3, 1)
    return oldest <= born <= today


def invalid_text(field: str, problem: str) -> InvalidInput:
    """The refusal of a field's text, for a surface that checks it outside a schema."""
    return InvalidInput(
        field=FieldName(FIELD_LABELS.get(field, field)),
        problem=FieldName(PROBLEMS[problem]),
        field_code=field,
        field_path=field,
    )


def unchosen(field: str) -> InvalidInput:
    """The refusal of a list left unchosen, for a surface that reads it outside a schema."""
    return InvalidInput(
        field=FieldName(FIELD_LABELS.get(field, field)),
        problem=FieldName(UNCHOSEN[field]),
        field_code=field,
        field_path=field,
    )


def invalid_input_from(problems: list[Any]) -> InvalidInput:
    """The first problem of a pydantic (or FastAPI) validation error, as a translatable error."""
    first = problems[0]
    location = [part for part in first["loc"] if isinstance(part, str)]
    field = location[-1] if location else "value"
    label = FIELD_LABELS.get(field, field)
    problem = FieldName(problem_message(first))
    return InvalidInput(
        field=FieldName(label), problem=problem, field_code=field, field_path=field_path(first)
    )


def field_path(problem: Any) -> str:
    """Where in the input a problem is, e.g. "categories.1.valid_to", without the argument
    or body name the service or request puts first (so a form can show it by the field)."""
    parts = [str(part) for part in problem["loc"]]
    if parts and parts[0] in ("body", "query", "path", "form"):
        parts = parts[1:]
    if len(parts) > 1 and parts[0].endswith("_in"):
        parts = parts[1:]
    return ".".join(parts)


def problem_message(problem: Any) -> str:
    """The translatable text for one pydantic problem (without the field's name)."""
    location = [part for part in problem["loc"] if isinstance(part, str)]
    if location and location[-1] in UNCHOSEN and problem.get("input") == "":
        return UNCHOSEN[location[-1]]
    return PROBLEMS.get(problem["type"], UNKNOWN_PROBLEM)


def service(func: Callable[P, R]) -> Callable[P, R]:
    """Validate a service's arguments against its type hints before it runs."""
    checked = validate_call(config=ConfigDict(arbitrary_types_allowed=True))(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return checked(*args, **kwargs)
        except ValidationError as error:
            # Only errors about our arguments: validate_call raises before the body runs.
            if error.title != func.__name__:
                raise
            raise invalid_input_from(error.errors()) from None

    return wrapper
