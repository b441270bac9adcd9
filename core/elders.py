"""Elders: registration, eligibility categories over time, pauses, and chat users linked to them."""

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

import sqlalchemy as sa
import sqlalchemy.orm
from pydantic import Field
from sqlmodel import Session, col, select

from core.clock import Clock, today
from core.db import upsert_insert
from core.errors import (
    AlreadyExists,
    ChatUserNotFound,
    CommunityNotFound,
    DomainError,
    ElderNotFound,
    InvalidPeriod,
    LinkNotFound,
    PauseInPast,
    PauseNotFound,
    PauseOver,
    PausesOverlap,
    PeriodReversed,
    SiteNotFound,
    TooManyCodeAttempts,
)
from core.id_numbers import read_id_number
from core.models import (
    ChatUser,
    Community,
    Elder,
    ElderCategory,
    ElderLink,
    ElderPause,
    EmergencyContact,
    FamilyLinkCode,
    LinkCodeAttempt,
    Site,
    saved,
)
from core.schemas import (
    CategoryGrant,
    ElderCreate,
    ElderUpdate,
    EmergencyContactCreate,
    PauseCreate,
)
from core.settings import get_settings
from core.sites import phone_to_call
from core.types import Category, ElderStatus, LinkRelation
from core.validation import LINE, invalid_text, plausible_birth_date, service, without_hidden

# Fields of the record kept in other tables, or not a column.
_NOT_COLUMNS = {"categories", "emergency_contacts", "consent", "id_number"}
# Left out of a change (None), these keep what the record holds.
_KEPT_WHEN_NONE = {"lat", "lon"}


def _check_references(
    session: Session, elder_in: ElderCreate, elder_id: int | None, on: date
) -> None:
    """A birth date someone can have (the one in her ID number), categories end after they
    start, the community and home site exist, and the phone and ID numbers are nobody
    else's; each refusal names the field it is about, so a form can show it there."""
    _check_many(session, [elder_in], elder_id, on)


def _check_many(
    session: Session, elders_in: Sequence[ElderCreate], elder_id: int | None, on: date
) -> None:
    """`_check_references` for many new elders at once (an import), with a query per kind
    of reference rather than per elder. A refusal carries `item`, the index of the elder
    it is about; the phone and ID numbers must differ between them too."""
    others = [col(Elder.id) != elder_id] if elder_id is not None else []
    community_ids = sorted({e.community_id for e in elders_in})
    communities = set(
        session.exec(select(Community.id).where(col(Community.id).in_(community_ids)))
    )
    site_ids = sorted({e.home_site_id for e in elders_in if e.home_site_id is not None})
    sites = set(
        session.exec(select(Site.id).where(col(Site.id).in_(site_ids), col(Site.active).is_(True)))
        if site_ids
        else []
    )
    numbers = [read_id_number(e.id_number) if e.id_number else None for e in elders_in]
    hashes = sorted({n.keyed_hash() for n in numbers if n is not None})
    phones = sorted({form for e in elders_in if e.phone for form in phone_forms(e.phone)})
    taken_hashes: set[str] = set()
    taken_phones: set[str] = set()
    for start in range(0, max(len(hashes), len(phones)), 500):
        if hashes[start : start + 500]:
            taken_hashes.update(
                h
                for h in session.exec(
                    select(Elder.id_number_hash).where(
                        col(Elder.id_number_hash).in_(hashes[start : start + 500]), *others
                    )
                )
                if h is not None
            )
        if phones[start : start + 500]:
            taken_phones.update(
                p
                for p in session.exec(
                    select(Elder.phone).where(
                        col(Elder.phone).in_(phones[start : start + 500]), *others
                    )
                )
                if p is not None
            )
    for index, (elder_in, number) in enumerate(zip(elders_in, numbers, strict=True)):
        try:
            if not plausible_birth_date(elder_in.birth_date, on):
                raise invalid_text("birth_date", "implausible_birth_date")
            if number is not None:
                if number.birth_date != elder_in.birth_date:
                    raise invalid_text("id_number", "id_number_birth_mismatch")
                if number.keyed_hash() in taken_hashes:
                    raise invalid_text("id_number", "id_number_taken")
                taken_hashes.add(number.keyed_hash())
            for row, grant in enumerate(elder_in.categories):
                if grant.valid_to is not None and grant.valid_to < grant.valid_from:
                    raise PeriodReversed(
                        field_path=f"categories.{row}.valid_to", field_code="valid_to"
                    )
            if elder_in.community_id not in communities:
                raise CommunityNotFound(
                    community_id=elder_in.community_id, field_code="community_id"
                )
            if elder_in.home_site_id is not None and elder_in.home_site_id not in sites:
                raise SiteNotFound(site_id=elder_in.home_site_id, field_code="home_site_id")
            if elder_in.phone:
                forms = phone_forms(elder_in.phone)
                if forms & taken_phones:
                    raise AlreadyExists(value=elder_in.phone, field_code="phone")
                taken_phones |= forms
        except DomainError as refusal:
            refusal.params.setdefault("item", index)
            raise


@service
def create_elder(
    *, session: Session, elder_in: ElderCreate, clock: Clock, approximate: bool = False
) -> Elder:
    """A new elder; `elder_in` has her location (usecases.elders places her when the form
    had none), `approximate` when it is her community's centre rather than her address."""
    if elder_in.lat is None or elder_in.lon is None:
        raise invalid_text("lat", "missing")
    _check_references(session, elder_in, None, today(clock))
    number = read_id_number(elder_in.id_number) if elder_in.id_number else None
    elder = Elder(
        **elder_in.model_dump(exclude=_NOT_COLUMNS),
        consent_at=clock.now() if elder_in.consent else None,
        created_at=clock.now(),
        id_number_hash=number.keyed_hash() if number else None,
        id_number_tail=number.tail if number else None,
        location_approximate=approximate,
    )
    session.add(elder)
    session.flush()
    for grant in elder_in.categories:
        session.add(ElderCategory(elder_id=saved(elder.id), **grant.model_dump()))
    for contact in elder_in.emergency_contacts:
        session.add(EmergencyContact(elder_id=saved(elder.id), **contact.model_dump()))
    session.flush()
    return elder


def create_elders(
    *, session: Session, clock: Clock, elders_in: Sequence[tuple[ElderCreate, bool]]
) -> list[int]:
    """Many new elders at once (an import), each with her location and whether it is
    approximate: the same checks as `create_elder` (a refusal carries `item`, the index of
    the elder it is about), written in a few statements. Their ids, in order."""
    if not elders_in:
        return []
    for index, (elder_in, _approximate) in enumerate(elders_in):
        if elder_in.lat is None or elder_in.lon is None:
            refusal = invalid_text("lat", "missing")
            refusal.params["item"] = index
            raise refusal
    _check_many(session, [elder_in for elder_in, _ in elders_in], None, today(clock))
    now = clock.now()
    rows = []
    for elder_in, approximate in elders_in:
        number = read_id_number(elder_in.id_number) if elder_in.id_number else None
        rows.append(
            {
                **elder_in.model_dump(exclude=_NOT_COLUMNS),
                "consent_at": now if elder_in.consent else None,
                "created_at": now,
                "id_number_hash": number.keyed_hash() if number else None,
                "id_number_tail": number.tail if number else None,
                "location_approximate": approximate,
                "card_number": 1,
            }
        )
    ids = list(
        session.execute(
            sa.insert(Elder).returning(col(Elder.id), sort_by_parameter_order=True), rows
        ).scalars()
    )
    grants = [
        {"elder_id": elder_id, **grant.model_dump()}
        for elder_id, (elder_in, _) in zip(ids, elders_in, strict=True)
        for grant in elder_in.categories
    ]
    contacts = [
        {"elder_id": elder_id, **contact.model_dump()}
        for elder_id, (elder_in, _) in zip(ids, elders_in, strict=True)
        for contact in elder_in.emergency_contacts
    ]
    if grants:
        session.execute(sa.insert(ElderCategory), grants)
    if contacts:
        session.execute(sa.insert(EmergencyContact), contacts)
    return ids


@service
def get_elder(*, session: Session, elder_id: int) -> Elder:
    elder = session.get(Elder, elder_id)
    if elder is None:
        raise ElderNotFound(elder_id=elder_id)
    return elder


@service
def categories_on(*, session: Session, elder_id: int, on: date) -> set[Category]:
    """The categories an elder holds on a day (validity dates inclusive)."""
    return categories_of(session=session, elder_ids={elder_id}, on=on).get(elder_id, set())


def categories_of(*, session: Session, elder_ids: set[int], on: date) -> dict[int, set[Category]]:
    """The categories each of these elders holds on a day, in one statement (an elder with
    none is left out)."""
    held: dict[int, set[Category]] = {}
    for elder_id, value in session.exec(
        select(ElderCategory.elder_id, ElderCategory.category).where(
            col(ElderCategory.elder_id).in_(elder_ids),
            ElderCategory.valid_from <= on,
            (col(ElderCategory.valid_to).is_(None)) | (col(ElderCategory.valid_to) >= on),
        )
    ):
        held.setdefault(elder_id, set()).add(Category(value))
    return held


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
        session.execute(
            upsert_insert(session)(ChatUser)
            .values(
                telegram_user_id=telegram_user_id,
                # The name as Telegram gives it, which may hide or turn text on staff pages.
                name=without_hidden(name),
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
            .join(ElderLink, col(ElderLink.elder_id) == Elder.id)
            .where(ElderLink.chat_user_id == chat_user_id, col(ElderLink.revoked_at).is_(None))
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
    # As typed or pasted: full-width letters and digits from a Chinese keyboard are the same
    # code, and spaces, dashes and invisible characters picked up on the way are not part of it.
    return re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", code).upper())


def code_hash(code: str) -> str:
    """A one-time code as stored: keyed, so a database leak hands out no codes."""
    return _code_hash(_normalised(code))


def new_code() -> tuple[str, str]:
    """A fresh one-time code: (as shown, e.g. 4KX7-M2QP; as stored, its keyed hash)."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{code[:4]}-{code[4:]}", _code_hash(code)


def check_code_attempts(
    *, session: Session, clock: Clock, chat_user_id: int, programme_phone: str
) -> None:
    """TooManyCodeAttempts once this chat has typed too many wrong codes (of any kind) in the
    last hour: after that nothing is even looked up. The refusal names `programme_phone`."""
    recent_failures = session.execute(
        sa.select(sa.func.count()).where(
            col(LinkCodeAttempt.chat_user_id) == chat_user_id,
            col(LinkCodeAttempt.succeeded).is_(False),
            col(LinkCodeAttempt.at) > clock.now() - timedelta(hours=1),
        )
    ).scalar_one()
    if recent_failures >= WRONG_CODES_PER_HOUR:
        # Someone not yet linked to the elder whose code they type: no canteen to name.
        raise TooManyCodeAttempts(phone=phone_to_call(programme_phone=programme_phone))


@service
def issue_link_code(
    *,
    session: Session,
    clock: Clock,
    elder_id: int,
    issued_by: Annotated[str, Field(min_length=1, max_length=64), LINE],
    relation: LinkRelation = LinkRelation.family,
    hours: int = CODE_HOURS,
) -> str:
    """A new single-use code (shown once, stored hashed) that links one chat to this elder."""
    get_elder(session=session, elder_id=elder_id)
    shown, stored = new_code()
    now = clock.now()
    session.add(
        FamilyLinkCode(
            elder_id=elder_id,
            code_hash=stored,
            relation=relation,
            issued_by=issued_by,
            issued_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    return shown


@service
def redeem_link_code(
    *, session: Session, clock: Clock, chat_user_id: int, code: str, programme_phone: str
) -> Elder | None:
    """Link the chat user to the elder the code was issued for, once. None for a wrong, used or
    expired code alike; the failed attempt is recorded (the caller commits it) so that after
    too many in an hour nothing is even looked up (TooManyCodeAttempts, naming
    `programme_phone`)."""
    now = clock.now()
    check_code_attempts(
        session=session, clock=clock, chat_user_id=chat_user_id, programme_phone=programme_phone
    )
    # Claim the code with one conditional update, so two chats racing with it cannot both win.
    claimed = session.execute(
        sa.update(FamilyLinkCode)
        .where(
            col(FamilyLinkCode.code_hash) == code_hash(code),
            col(FamilyLinkCode.used_at).is_(None),
            col(FamilyLinkCode.expires_at) > now,
        )
        .values(used_at=now, used_by_chat_user_id=chat_user_id)
        .returning(
            col(FamilyLinkCode.elder_id),
            col(FamilyLinkCode.relation),
            col(FamilyLinkCode.issued_by),
        )
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


# -- the registry: search, the whole record, changes ---------------------------------------------


def mask_phone(phone: str | None) -> str:
    """A phone number as lists show it: 139****5678 (the first three and last four digits)."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_address(address: str | None) -> str:
    """An address as lists show it: the street kept, the house and flat hidden (everything from
    the first digit on, and never more than half of it)."""
    if not address:
        return ""
    first_digit = re.search(r"\d", address)
    kept = min(first_digit.start() if first_digit else len(address), len(address) // 2, 12)
    return address[:kept] + "****"


@dataclass(frozen=True)
class ElderRow:
    """One elder in the registry's list: nothing here identifies where they live or how to
    call them (the phone and address are masked)."""

    id: int
    name: str
    phone_masked: str
    address_masked: str
    community_id: int
    community: str
    categories: tuple[Category, ...]
    status: ElderStatus
    consent: bool
    # Told apart from another of her name: her age and her ID card number's last four.
    age: int = 0
    id_tail: str | None = None


@dataclass(frozen=True)
class ElderPage:
    rows: list[ElderRow]
    total: int
    offset: int
    limit: int


def age_on(born: date, on: date) -> int:
    """Her age in whole years on a day."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def id_tail_of(query: str) -> str | None:
    """The last four characters of an ID card number, if that is what a query is (1234, 002X,
    002x, full-width digits); else None."""
    text = unicodedata.normalize("NFKC", query).strip().upper()
    return text if re.fullmatch(r"\d{3}[\dX]", text) else None


def _phone_digits(query: str) -> str | None:
    """The digits of a query that is a (part of a) phone number, else None."""
    if re.fullmatch(r"[+\d\s-]{3,}", query) and len(re.sub(r"\D", "", query)) >= 3:
        return re.sub(r"\D", "", query)
    return None


def _held_on(on: date) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    return (
        col(ElderCategory.valid_from) <= on,
        col(ElderCategory.valid_to).is_(None) | (col(ElderCategory.valid_to) >= on),
    )


def search_elders(
    *,
    session: Session,
    on: date,
    community_ids: Collection[int] | None,
    query: str | None = None,
    community_id: int | None = None,
    category: Category | None = None,
    status: ElderStatus | None = None,
    offset: int = 0,
    limit: int = 50,
) -> ElderPage:
    """Elders matching a search, by name: by name (part), phone (digits), the last four
    characters of her ID card number, or community name, and filters. `community_ids` limits
    the search to these communities (None: every one)."""
    conditions: list[sa.ColumnElement[bool]] = []
    if community_ids is not None:
        conditions.append(col(Elder.community_id).in_(list(community_ids) or [-1]))
    if community_id is not None:
        conditions.append(col(Elder.community_id) == community_id)
    if status is not None:
        conditions.append(col(Elder.status) == status)
    if category is not None:
        conditions.append(
            sa.exists().where(
                col(ElderCategory.elder_id) == Elder.id,
                col(ElderCategory.category) == category,
                *_held_on(on),
            )
        )
    text = re.sub(r"[\x00-\x1f]", "", query or "").strip()[:64]
    if text:
        digits = _phone_digits(text)
        tail = id_tail_of(text)
        if digits:
            # Phones are stored as typed ("139 1234 5678"): compare digits only.
            stored = sa.func.replace(sa.func.replace(col(Elder.phone), " ", ""), "-", "")
            found_by = stored.contains(digits, autoescape=True)
            if tail:
                found_by = found_by | (col(Elder.id_number_tail) == tail)
            conditions.append(found_by)
        elif tail:
            conditions.append(col(Elder.id_number_tail) == tail)
        else:
            conditions.append(
                col(Elder.name).icontains(text, autoescape=True)
                | col(Community.name).icontains(text, autoescape=True)
            )
    base = (
        sa.select(col(Elder.id))
        .join(Community, col(Community.id) == Elder.community_id)
        .where(*conditions)
    )
    total = session.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
    found = session.execute(
        sa.select(Elder, col(Community.name))
        .join(Community, col(Community.id) == Elder.community_id)
        .where(*conditions)
        .order_by(col(Elder.name), col(Elder.id))
        .offset(offset)
        .limit(limit)
    ).all()
    held: dict[int, list[Category]] = {}
    if found:
        for elder_id, value in session.execute(
            sa.select(col(ElderCategory.elder_id), col(ElderCategory.category))
            .where(col(ElderCategory.elder_id).in_([e.id for e, _ in found]), *_held_on(on))
            .order_by(col(ElderCategory.elder_id), col(ElderCategory.category))
        ):
            held.setdefault(elder_id, []).append(Category(value))
    rows = [
        ElderRow(
            id=elder.id,
            name=elder.name,
            phone_masked=mask_phone(elder.phone),
            address_masked=mask_address(elder.address),
            community_id=elder.community_id,
            community=community,
            categories=tuple(held.get(elder.id, ())),
            status=ElderStatus(elder.status),
            consent=elder.consent_at is not None,
            age=age_on(elder.birth_date, on),
            id_tail=elder.id_number_tail,
        )
        for elder, community in found
    ]
    return ElderPage(rows=rows, total=total, offset=offset, limit=limit)


@dataclass(frozen=True)
class LinkRow:
    id: int
    chat_user_id: int
    name: str
    relation: LinkRelation
    verified_at: datetime
    verified_by: str
    revoked_at: datetime | None


@dataclass(frozen=True)
class CodeRow:
    issued_at: datetime
    issued_by: str
    expires_at: datetime
    used_at: datetime | None
    used_by: str | None


@dataclass(frozen=True)
class ElderRecord:
    """An elder's whole record, for the roles that may see it: with the full phone number and
    address, the categories over time, emergency contacts, family links and pauses."""

    elder: Elder
    community: Community
    home_site: Site | None
    categories: list[ElderCategory]
    contacts: list[EmergencyContact]
    links: list[LinkRow]
    codes: list[CodeRow]
    pauses: list[ElderPause]


def elder_record(*, session: Session, elder_id: int) -> ElderRecord:
    elder = get_elder(session=session, elder_id=elder_id)
    links = [
        LinkRow(
            link.id,
            link.chat_user_id,
            name,
            LinkRelation(link.relation),
            link.verified_at,
            link.verified_by,
            link.revoked_at,
        )
        for link, name in session.execute(
            sa.select(ElderLink, col(ChatUser.name))
            .join(ChatUser, col(ChatUser.id) == ElderLink.chat_user_id)
            .where(col(ElderLink.elder_id) == elder_id)
            .order_by(col(ElderLink.id))
        ).all()
    ]
    used_by = sa.orm.aliased(ChatUser)
    codes = [
        CodeRow(code.issued_at, code.issued_by, code.expires_at, code.used_at, name)
        for code, name in session.execute(
            sa.select(FamilyLinkCode, col(used_by.name))
            .outerjoin(used_by, col(used_by.id) == FamilyLinkCode.used_by_chat_user_id)
            .where(col(FamilyLinkCode.elder_id) == elder_id)
            .order_by(col(FamilyLinkCode.issued_at).desc(), col(FamilyLinkCode.id).desc())
            .limit(10)
        ).all()
    ]
    return ElderRecord(
        elder=elder,
        community=session.get_one(Community, elder.community_id),
        home_site=session.get(Site, elder.home_site_id) if elder.home_site_id else None,
        categories=list(
            session.exec(
                select(ElderCategory)
                .where(ElderCategory.elder_id == elder_id)
                .order_by(col(ElderCategory.valid_from), col(ElderCategory.id))
            )
        ),
        contacts=list(
            session.exec(
                select(EmergencyContact)
                .where(EmergencyContact.elder_id == elder_id)
                .order_by(col(EmergencyContact.priority), col(EmergencyContact.id))
            )
        ),
        links=links,
        codes=codes,
        pauses=list(
            session.exec(
                select(ElderPause)
                .where(ElderPause.elder_id == elder_id)
                .order_by(col(ElderPause.start_date).desc(), col(ElderPause.id).desc())
            )
        ),
    )


def elder_input(record: ElderRecord) -> ElderUpdate:
    """The record as the edit form starts from it."""
    elder = record.elder
    return ElderUpdate.model_construct(
        **{
            name: getattr(elder, name)
            for name in ElderUpdate.model_fields
            if name not in _NOT_COLUMNS
        },
        categories=[
            CategoryGrant.model_construct(
                category=Category(c.category), valid_from=c.valid_from, valid_to=c.valid_to
            )
            for c in record.categories
        ],
        emergency_contacts=[
            EmergencyContactCreate.model_construct(
                name=c.name, relation=c.relation, phone=c.phone, priority=c.priority
            )
            for c in record.contacts
        ],
        consent=elder.consent_at is not None,
    )


@service
def update_elder(
    *,
    session: Session,
    clock: Clock,
    elder_id: int,
    elder_in: ElderUpdate,
    approximate: bool | None = None,
) -> list[str]:
    """Change an elder's record to what the form says; returns the names of the fields that
    changed (for the audit log: names only, never the values). A location typed in corrects
    an approximate one; `approximate` says what a location placed by the caller is."""
    elder = get_elder(session=session, elder_id=elder_id)
    _check_references(session, elder_in, elder_id, today(clock))
    changed = []
    for name, value in elder_in.model_dump(exclude=_NOT_COLUMNS).items():
        if value is None and name in _KEPT_WHEN_NONE:
            continue
        if getattr(elder, name) != value:
            setattr(elder, name, value)
            changed.append(name)
    if approximate is None:
        approximate = elder.location_approximate and not {"lat", "lon"} & set(changed)
    if approximate != elder.location_approximate:
        elder.location_approximate = approximate
        changed.append("location_approximate")
    if elder_in.id_number is not None:
        number = read_id_number(elder_in.id_number)
        if elder.id_number_hash != number.keyed_hash():
            elder.id_number_hash, elder.id_number_tail = number.keyed_hash(), number.tail
            changed.append("id_number")
    if elder_in.consent != (elder.consent_at is not None):
        elder.consent_at = clock.now() if elder_in.consent else None
        changed.append("consent")
    session.add(elder)
    grants = session.exec(
        select(ElderCategory)
        .where(ElderCategory.elder_id == elder_id)
        .order_by(col(ElderCategory.valid_from), col(ElderCategory.id))
    ).all()
    wanted = sorted((g.category.value, g.valid_from, g.valid_to) for g in elder_in.categories)
    if sorted((g.category, g.valid_from, g.valid_to) for g in grants) != wanted:
        for grant in grants:
            session.delete(grant)
        for category, valid_from, valid_to in wanted:
            session.add(
                ElderCategory(
                    elder_id=elder_id, category=category, valid_from=valid_from, valid_to=valid_to
                )
            )
        changed.append("categories")
    contacts = session.exec(
        select(EmergencyContact).where(EmergencyContact.elder_id == elder_id)
    ).all()
    old = sorted((c.name, c.relation, c.phone, c.priority) for c in contacts)
    new = sorted((c.name, c.relation, c.phone, c.priority) for c in elder_in.emergency_contacts)
    if old != new:
        for contact in contacts:
            session.delete(contact)
        for name, relation, phone, priority in new:
            session.add(
                EmergencyContact(
                    elder_id=elder_id, name=name, relation=relation, phone=phone, priority=priority
                )
            )
        changed.append("emergency_contacts")
    session.flush()
    return changed


# -- family links, as staff see and manage them -------------------------------------------------


def _link_of(session: Session, elder_id: int, link_id: int) -> ElderLink:
    link = session.get(ElderLink, link_id)
    if link is None or link.elder_id != elder_id:
        raise LinkNotFound(link_id=link_id)
    return link


def revoke_link(*, session: Session, clock: Clock, elder_id: int, link_id: int) -> ElderLink:
    """This chat may no longer order for the elder nor receive alerts about them (again)."""
    link = _link_of(session, elder_id, link_id)
    if link.revoked_at is None:
        link.revoked_at = clock.now()
        session.add(link)
        session.flush()
    return link


def approve_link(
    *, session: Session, clock: Clock, elder_id: int, link_id: int, by: str
) -> ElderLink:
    """A member of staff confirms this chat belongs to family of the elder (a revoked link
    works again); the approval is recorded as the link's verification."""
    link = _link_of(session, elder_id, link_id)
    return link_elder(
        session=session,
        chat_user_id=link.chat_user_id,
        elder_id=elder_id,
        relation=LinkRelation(link.relation),
        verified_by=by[:64],
        clock=clock,
    )


# -- pausing meals from the registry -------------------------------------------------------------


@service
def pause_meals(
    *, session: Session, clock: Clock, elder_id: int, pause_in: PauseCreate
) -> ElderPause:
    """Pause an elder's meals from today or later (a hospital stay, a visit to family). Pauses
    of one elder do not overlap: a longer stay changes the pause there is."""
    get_elder(session=session, elder_id=elder_id)
    today = clock.now().date()
    if pause_in.end_date < pause_in.start_date:
        raise PeriodReversed(field_code="end_date")
    if pause_in.start_date < today:
        raise PauseInPast(date=pause_in.start_date, field_code="start_date")
    overlapping = session.exec(
        select(ElderPause).where(
            ElderPause.elder_id == elder_id,
            ElderPause.start_date <= pause_in.end_date,
            ElderPause.end_date >= pause_in.start_date,
        )
    ).first()
    if overlapping is not None:
        raise PausesOverlap(
            start=overlapping.start_date, end=overlapping.end_date, field_code="start_date"
        )
    return pause_elder(
        session=session,
        elder_id=elder_id,
        start_date=pause_in.start_date,
        end_date=pause_in.end_date,
        reason=pause_in.reason or None,
    )


def end_pause(*, session: Session, clock: Clock, elder_id: int, pause_id: int) -> str:
    """Meals resume today: a pause under way ends yesterday; one not begun yet is dropped.
    Returns "ended" or "cancelled"."""
    pause = session.get(ElderPause, pause_id)
    if pause is None or pause.elder_id != elder_id:
        raise PauseNotFound(pause_id=pause_id)
    today = clock.now().date()
    if pause.end_date < today:
        raise PauseOver(date=pause.end_date)
    if pause.start_date >= today:
        session.delete(pause)
        session.flush()
        return "cancelled"
    pause.end_date = today - timedelta(days=1)
    session.add(pause)
    session.flush()
    return "ended"
