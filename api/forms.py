"""Form refusals as pages show them: the message next to the field it is about."""

from pydantic import ValidationError

from core.errors import DomainError
from core.validation import FIELD_LABELS, FieldName, invalid_input_from

FORM = "_form"  # a refusal about the whole form, shown above it


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
