"""The translation mark, apart from `core.i18n` so that `core.settings` (which `core.i18n`
reads) can mark its own messages."""


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, in the reader's language."""
    return message
