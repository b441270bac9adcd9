"""Elders: registration, eligibility categories over time, pauses, and chat users linked to them."""

import hashlib
import hmac
import re
import secrets
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.clock import Clock
from core.errors import (
    AlreadyExists,
    ChatUserNotFound,
    ElderNotFound,
    InvalidPeriod,
    TooManyCodeAttempts,
)
from core.models import (
    ChatUser,
    Elder,
    ElderCategory,
    ElderLink,
    ElderPause,
    EmergencyContact,
    FamilyLinkCode,
    LinkCodeAttempt,
)
from core.schemas import ElderCreate
from core.settings import get_settings
from core.sites import get_community, get_site
from core.types import Category, LinkRelation
from core.validation import service


@service
def create_elder(*, session: Session, elder_in: ElderCreate, clock: Clock) -> Elder:
    get_community(session=session, community_id=elder_in.community_id)
    if elder_in.home_site_id is not None:
        get_site(session=session, site_id=elder_in.home_site_id)
    if (
        elder_in.phone
        and session.exec(select(Elder.id).where(Elder.phone == elder_in.phone)).first()
    ):
        raise AlreadyExists(value=elder_in.phone)
    elder = Elder(
        **elder_in.model_dump(exclude={"categories", "emergency_contacts"}),
        created_at=clock.now(),
    )
    session.add(elder)
    session.flush()
    for grant in elder_in.categories:
        session.add(ElderCategory(elder_id=elder.id, **grant.model_dump()))
    for contact in elder_in.emergency_contacts:
        session.add(EmergencyContact(elder_id=elder.id, **contact.model_dump()))
    session.flush()
    return elder


@service
def get_elder(*, session: Session, elder_id: int) -> Elder:
    elder = session.get(Elder, elder_id)
    if elder is None:
        raise ElderNotFound(elder_id=elder_id)
    return elder


@service
def categories_on(*, session: Session, elder_id: int, on: date) -> set[Category]:
    """The categories an elder holds on a day (validity dates inclusive)."""
    rows = session.exec(
        select(ElderCategory.category).where(
            ElderCategory.elder_id == elder_id,
            ElderCategory.valid_from <= on,
            (ElderCategory.valid_to.is_(None)) | (ElderCategory.valid_to >= on),  # type: ignore[union-attr]
        )
    )
    return {Category(value) for value in rows}


@service
def pause_elder(
    *, session: Session, elder_id: int, start_date: date, end_date: date, reason: str | None = None
) -> ElderPause:
    """Stop all meals for an elder over a period (inclusive), e.g. a hospital stay."""
    get_elder(session=session, elder_id=elder_id)
    if end_date < start_date:
        raise InvalidPeriod()
    pause = ElderPause(elder_id=elder_id, start_date=start_date, end_date=end_date, reason=reason)
    session.add(pause)
    session.flush()
    return pause


@service
def chat_user_for(
    *, session: Session, telegram_user_id: int, name: str, language: str, clock: Clock
) -> ChatUser:
    """The chat user with this Telegram id, registered on first contact."""
    query = select(ChatUser).where(ChatUser.telegram_user_id == telegram_user_id)
    user = session.exec(query).first()
    if user is None:
        # Two first messages from one person can arrive together (a double tap on /start):
        # the database decides which one creates the chat user; the other reads it.
        insert = (
            postgresql.insert
            if session.connection().dialect.name == "postgresql"
            else sqlite.insert
        )
        session.execute(
            insert(ChatUser)
            .values(
                telegram_user_id=telegram_user_id,
                name=name,
                language=language,
                created_at=clock.now(),
            )
            .on_conflict_do_nothing()
        )
        user = session.exec(query).one()
    return user


@service
def link_elder(
    *,
    session: Session,
    chat_user_id: int,
    elder_id: int,
    relation: LinkRelation,
    verified_by: str,
    clock: Clock,
) -> ElderLink:
    """Record a verified link: the chat user may now order for this elder."""
    get_elder(session=session, elder_id=elder_id)
    if session.get(ChatUser, chat_user_id) is None:
        raise ChatUserNotFound(chat_user_id=chat_user_id)
    link = session.exec(
        select(ElderLink).where(
            ElderLink.chat_user_id == chat_user_id, ElderLink.elder_id == elder_id
        )
    ).first()
    if link is None:
        link = ElderLink(
            chat_user_id=chat_user_id,
            elder_id=elder_id,
            relation=relation,
            verified_at=clock.now(),
            verified_by=verified_by,
        )
        session.add(link)
    else:
        link.relation, link.verified_at, link.verified_by = relation, clock.now(), verified_by
        link.revoked_at = None
    session.flush()
    return link


def linked_elders(*, session: Session, chat_user_id: int) -> list[Elder]:
    return list(
        session.exec(
            select(Elder)
            .join(ElderLink, ElderLink.elder_id == Elder.id)
            .where(ElderLink.chat_user_id == chat_user_id, ElderLink.revoked_at.is_(None))  # type: ignore[union-attr]
            .order_by(Elder.name)
        )
    )


# -- finding an elder by the phone Telegram vouches for ------------------------------------------


def phone_forms(phone: str) -> set[str]:
    """The ways one mainland number may be written: 13912345678, +86 139 1234 5678, ..."""
    digits = re.sub(r"\D", "", phone)
    national = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
    return {phone.strip(), digits, national, f"+86{national}", f"86{national}"} - {""}


def elder_by_phone(*, session: Session, phone: str) -> Elder | None:
    """The registered elder with this phone number, however it is written."""
    return session.exec(select(Elder).where(col(Elder.phone).in_(phone_forms(phone)))).first()


# -- one-time family link codes ------------------------------------------------------------------

# No 0/O, 1/I/L: a family member reads the code off a paper slip or a phone call.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_HOURS = 72
WRONG_CODES_PER_HOUR = 5


def _code_hash(code: str) -> str:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, f"link-code:{code}".encode(), hashlib.sha256).hexdigest()


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


@service
def issue_link_code(
    *,
    session: Session,
    clock: Clock,
    elder_id: int,
    issued_by: str,
    relation: LinkRelation = LinkRelation.family,
    hours: int = CODE_HOURS,
) -> str:
    """A new single-use code (shown once, stored hashed) that links one chat to this elder."""
    get_elder(session=session, elder_id=elder_id)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = clock.now()
    session.add(
        FamilyLinkCode(
            elder_id=elder_id,
            code_hash=_code_hash(code),
            relation=relation,
            issued_by=issued_by,
            issued_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    return f"{code[:4]}-{code[4:]}"


@service
def redeem_link_code(
    *, session: Session, clock: Clock, chat_user_id: int, code: str
) -> Elder | None:
    """Link the chat user to the elder the code was issued for, once. None for a wrong, used or
    expired code alike; the failed attempt is recorded (the caller commits it) so that after
    too many in an hour nothing is even looked up (TooManyCodeAttempts)."""
    now = clock.now()
    recent_failures = session.execute(
        sa.select(sa.func.count()).where(
            LinkCodeAttempt.chat_user_id == chat_user_id,
            col(LinkCodeAttempt.succeeded).is_(False),
            LinkCodeAttempt.at > now - timedelta(hours=1),
        )
    ).scalar_one()
    if recent_failures >= WRONG_CODES_PER_HOUR:
        raise TooManyCodeAttempts(phone=get_settings().programme_phone)
    # Claim the code with one conditional update, so two chats racing with it cannot both win.
    claimed = session.execute(
        sa.update(FamilyLinkCode)
        .where(
            FamilyLinkCode.code_hash == _code_hash(_normalised(code)),
            col(FamilyLinkCode.used_at).is_(None),
            FamilyLinkCode.expires_at > now,
        )
        .values(used_at=now, used_by_chat_user_id=chat_user_id)
        .returning(FamilyLinkCode.elder_id, FamilyLinkCode.relation, FamilyLinkCode.issued_by)
    ).first()
    session.add(LinkCodeAttempt(chat_user_id=chat_user_id, at=now, succeeded=claimed is not None))
    session.flush()
    if claimed is None:
        return None
    elder_id, relation, issued_by = claimed
    link_elder(
        session=session,
        chat_user_id=chat_user_id,
        elder_id=elder_id,
        relation=LinkRelation(relation),
        verified_by=f"code:{issued_by}"[:64],
        clock=clock,
    )
    return get_elder(session=session, elder_id=elder_id)
