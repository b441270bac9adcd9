"""Elders: registration, eligibility categories over time, pauses, and chat users linked to them."""

from datetime import date

from sqlmodel import Session, select

from core.clock import Clock
from core.errors import AlreadyExists, ChatUserNotFound, ElderNotFound, InvalidPeriod
from core.models import ChatUser, Elder, ElderCategory, ElderLink, ElderPause, EmergencyContact
from core.schemas import ElderCreate
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
    user = session.exec(
        select(ChatUser).where(ChatUser.telegram_user_id == telegram_user_id)
    ).first()
    if user is None:
        user = ChatUser(
            telegram_user_id=telegram_user_id, name=name, language=language, created_at=clock.now()
        )
        session.add(user)
        session.flush()
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
