"""The key a page gives each mark (served, not collected, delivered, no answer, undo), in a form
field or the JSON API's Idempotency-Key header: a mark sent again under it counts once
(usecases.marks)."""

from typing import Annotated

from fastapi import Header
from pydantic import Field

# A UUID's hex, or any such string the client makes up.
MarkKey = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
KeyHeader = Annotated[
    MarkKey | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique string (a UUID) for this mark: sent again with the same key, "
        "the mark counts once and the first answer comes back.",
    ),
]
