"""The bot's own tables: which Telegram updates were handled, and where each chat is in a
conversation. Both live in the database so that a restart loses nothing."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.types import UTCDateTime


class HandledUpdate(SQLModel, table=True):
    """An update id seen once: Telegram re-delivers updates it thinks were lost."""

    __tablename__ = "bot_handled_update"
    update_id: int = Field(
        sa_type=sa.BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
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
