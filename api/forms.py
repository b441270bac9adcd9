"""HTML forms: reading what was typed, and every problem with it shown next to its field in the
reader's language (the JSON API reports the first problem; a form shows them all at once)."""

import re
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, BeforeValidator, ValidationError
from starlette.datastructures import FormData

from api.errors import field_of
from core import i18n
from core.errors import DomainError
from core.validation import FIELD_LABELS, FieldName, field_path, invalid_input_from, problem_message

M = TypeVar("M", bound=BaseModel)
FORM = "_form"  # a refusal about the whole form, shown above it
MAX_ROWS = 20  # rows of a repeated group (categories, contacts) read from one form


async def read_form(request: Request) -> FormData:
    """The submitted form (already read, and cached, by the CSRF check)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def _blank_is_none(value: object) -> object:
    """A search form's "All" sends an empty value."""
    return None if value == "" else value


# On an optional field of a search form: "All" (an empty value) is no filter.
BlankIsNone = BeforeValidator(_blank_is_none)


class FormInvalid(Exception):
    """What was typed does not fit: messages by field path, ready to show."""

    def __init__(self, errors: dict[str, str], status: int = 422) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status = status


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def rows(form: FormData, group: str, fields: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """The filled rows of a repeated group (`group.N.field` inputs), with their row numbers;
    a row left blank is not a row."""
    numbers = sorted(
        {
            int(found.group(1))
            for key in form
            if (found := re.fullmatch(rf"{group}\.(\d{{1,2}})\.\w+", key))
        }
    )[:MAX_ROWS]
    filled = []
    for number in numbers:
        row = {name: text(form, f"{group}.{number}.{name}") for name in fields}
        if any(row.values()):
            filled.append((number, row))
    return filled


def validated(
    schema: type[M], data: dict[str, Any], locale: str, row_numbers: dict[str, list[int]]
) -> M:
    """The schema's model of the data, or FormInvalid with every problem by its form field.
    `row_numbers` maps a group's list positions back to the form's row numbers."""
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        errors: dict[str, str] = {}
        for problem in error.errors():
            path = _form_path(field_path(problem), row_numbers)
            errors.setdefault(path, i18n.gettext(problem_message(problem), locale))
        raise FormInvalid(errors) from None


def _form_path(path: str, row_numbers: dict[str, list[int]]) -> str:
    parts = path.split(".")
    if len(parts) >= 2 and parts[0] in row_numbers and parts[1].isdigit():
        position = int(parts[1])
        numbers = row_numbers[parts[0]]
        if position < len(numbers):
            parts[1] = str(numbers[position])
    return ".".join(parts)


def refusal(error: DomainError, locale: str, row_numbers: dict[str, list[int]]) -> FormInvalid:
    """A service's refusal as a form problem: by its field when it names one, else on top."""
    path = field_of(error)
    return FormInvalid(
        {_form_path(path, row_numbers) if path else "": error.render(locale)}, error.status
    )


# The menus and orders pages: one refusal at a time, next to its field.


def refusal_of(error: ValidationError, prefix_fields: tuple[str, ...] = ()) -> DomainError:
    """A pydantic error as the translated InvalidInput; an error inside a list field (say a
    dish's variants) is shown next to that list."""
    problems = error.errors()
    refusal = invalid_input_from(problems)
    first = problems[0]["loc"]
    if first and first[0] in prefix_fields:
        refusal.params["field_code"] = first[0]
        refusal.params["field"] = FieldName(FIELD_LABELS.get(first[0], first[0]))
    return refusal


def field_errors(error: DomainError, locale: str, prefix: str = "") -> dict[str, str]:
    """{form field: message} for the template; unknown fields go above the form."""
    field = error.params.get("field_code")
    return {f"{prefix}{field}" if field else FORM: error.render(locale)}
