"""The bot's own tables: which Telegram updates were handled, and where each chat is in a
conversation. Both live in the database so that a restart loses nothing."""

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.types import UTCDateTime

# Telegram keeps an update for 24 hours and retries a webhook for less: a day's margin on top.
HANDLED_UPDATES_KEPT = timedelta(days=2)


class HandledUpdate(SQLModel, table=True):
    """An update seen once: Telegram re-delivers updates it thinks were lost. Update ids are
    numbered per bot and start again (a new token; a random id after a week without updates;
    the sandbox's stand-in after a restart), so an update is known by its bot, its id and a
    digest of its content: a re-delivery is the same update again, a new one under an old id
    differs. Kept for `HANDLED_UPDATES_KEPT`, longer than Telegram keeps an update to deliver."""

    __tablename__ = "bot_handled_update"
    # 0 on records made before the bot's id was part of the key.
    bot_id: int = Field(
        default=0,
        sa_type=sa.BigInteger,
        primary_key=True,
        sa_column_kwargs={"autoincrement": False},
    )
    update_id: int = Field(
        sa_type=sa.BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    digest: str = Field(default="", max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime)


class ChatState(SQLModel, table=True):
    """Where a chat is: the elder being ordered for, and a step that waits for typed text
    (buttons carry their own state in their callback data)."""

    __tablename__ = "bot_chat_state"
    chat_user_id: int = Field(foreign_key="chat_user.id", primary_key=True)
    elder_id: int | None = Field(default=None, foreign_key="elder.id")
    step: str | None = Field(default=None, max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    updated_at: datetime = Field(sa_type=UTCDateTime)
