"""The elders registry and the links between elders and chats, as people change them: each
change and its audit entry together (names of fields, never their values), whether it comes from
the pages, the JSON API, the CLI or the chat. Who may change which elder (a community worker:
only their communities') is the surface's rule; what a change does and what it leaves in the log
is this module's. The surfaces may not import `core.elders` (an import contract says so): the
reads they need are re-exported here."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from core import audit, elders
from core import errors as elders_errors
from core.clock import Clock
from core.elders import (
    CODE_HOURS,
    ElderPage,
    ElderRecord,
    categories_on,
    chat_user_for,
    elder_by_phone,
    elder_input,
    elder_record,
    get_elder,
    linked_elders,
    mask_address,
    mask_phone,
    search_elders,
)
from core.geocoding import Locator, Placed, locator_from
from core.models import Community, Elder, ElderLink, saved
from core.schemas import ElderCreate, ElderUpdate, PauseCreate
from core.settings import Settings
from core.types import LinkRelation
from usecases import ordering

__all__ = [
    "CODE_HOURS",
    "ElderPage",
    "ElderRecord",
    "Locator",
    "approve_link",
    "categories_on",
    "change_elder",
    "chat_user_for",
    "elder_by_phone",
    "elder_input",
    "elder_record",
    "end_pause",
    "get_elder",
    "issue_link_code",
    "link_chat",
    "link_own_chat",
    "linked_elders",
    "locator_from",
    "mask_address",
    "mask_phone",
    "pause_meals",
    "redeem_link_code",
    "register_elder",
    "register_elders",
    "revoke_link",
    "search_elders",
]


def register_elder(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    elder_in: ElderCreate,
    locator: Locator | None = None,
) -> Elder:
    """A new elder. Without a latitude and longitude she is placed at her address by the
    geocoder, else at her community's centre, marked approximate until someone corrects it."""
    approximate = False
    if elder_in.lat is None or elder_in.lon is None:
        placed = _place(session, clock, elder_in, locator)
        elder_in = elder_in.model_copy(update={"lat": placed.lat, "lon": placed.lon})
        approximate = placed.approximate
    elder = elders.create_elder(
        session=session, clock=clock, elder_in=elder_in, approximate=approximate
    )
    _record(session, clock, actor, "create_elder", saved(elder.id))
    return elder


def register_elders(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    elders_in: Sequence[ElderCreate],
    locator: Locator | None = None,
) -> list[int]:
    """Many new elders at once (an import): each placed and checked as `register_elder`
    does, written together, each with her own audit entry. A refusal carries `item`, the
    index of the elder it is about. Their ids, in order."""
    placed: list[tuple[ElderCreate, bool]] = []
    for elder_in in elders_in:
        if elder_in.lat is None or elder_in.lon is None:
            where = _place(session, clock, elder_in, locator)
            elder_in = elder_in.model_copy(update={"lat": where.lat, "lon": where.lon})
            placed.append((elder_in, where.approximate))
        else:
            placed.append((elder_in, False))
    ids = elders.create_elders(session=session, clock=clock, elders_in=placed)
    for elder_id in ids:
        _record(session, clock, actor, "create_elder", elder_id)
    return ids


def change_elder(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    elder_id: int,
    elder_in: ElderUpdate,
    locator: Locator | None = None,
) -> list[str]:
    """The names of the fields that changed (none: nothing is logged). Without a latitude and
    longitude she keeps her location, unless her address changed or her location is only
    approximate: then she is placed anew."""
    approximate = None
    if elder_in.lat is None or elder_in.lon is None:
        before = elders.get_elder(session=session, elder_id=elder_id)
        moved = before.address != elder_in.address or before.community_id != elder_in.community_id
        if moved or before.location_approximate:
            placed = _place(session, clock, elder_in, locator)
            elder_in = elder_in.model_copy(update={"lat": placed.lat, "lon": placed.lon})
            approximate = placed.approximate
    changed = elders.update_elder(
        session=session, clock=clock, elder_id=elder_id, elder_in=elder_in, approximate=approximate
    )
    if changed:
        _record(session, clock, actor, "update_elder", elder_id, ",".join(changed))
    return changed


def issue_link_code(
    *, session: Session, clock: Clock, actor: str, elder_id: int
) -> tuple[str, datetime]:
    """A one-time code a family member types in the chat, and when it stops working."""
    code = elders.issue_link_code(
        session=session, clock=clock, elder_id=elder_id, issued_by=actor[:64]
    )
    _record(session, clock, actor, "issue_link_code", elder_id)
    return code, clock.now() + timedelta(hours=CODE_HOURS)


def revoke_link(
    *, session: Session, clock: Clock, actor: str, elder_id: int, link_id: int
) -> ElderLink:
    link = elders.revoke_link(session=session, clock=clock, elder_id=elder_id, link_id=link_id)
    _record(session, clock, actor, "revoke_link", elder_id, f"link:{link_id}")
    return link


def approve_link(
    *, session: Session, clock: Clock, actor: str, elder_id: int, link_id: int
) -> ElderLink:
    link = elders.approve_link(
        session=session, clock=clock, elder_id=elder_id, link_id=link_id, by=actor
    )
    _record(session, clock, actor, "approve_link", elder_id, f"link:{link_id}")
    return link


def pause_meals(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    actor: str,
    elder_id: int,
    pause_in: PauseCreate,
) -> ordering.PausedMeals:
    made = ordering.pause_meals(
        session=session, clock=clock, settings=settings, elder_id=elder_id, pause_in=pause_in
    )
    # The reason may be about health: dates only in the log.
    detail = (
        f"pause:{made.pause.id} {made.pause.start_date}..{made.pause.end_date}"
        f" cancelled:{len(made.cancelled)} kept:{len(made.kept)}"
    )
    _record(session, clock, actor, "pause_meals", elder_id, detail)
    return made


def end_pause(*, session: Session, clock: Clock, actor: str, elder_id: int, pause_id: int) -> str:
    how = elders.end_pause(session=session, clock=clock, elder_id=elder_id, pause_id=pause_id)
    _record(session, clock, actor, "end_pause", elder_id, f"pause:{pause_id} {how}")
    return how


def link_chat(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    chat_user_id: int,
    elder_id: int,
    relation: LinkRelation,
) -> ElderLink:
    """Staff link a chat to an elder after checking who is behind it (in person, on the
    phone): the chat may then order for the elder and hears her welfare alerts."""
    link = elders.link_elder(
        session=session,
        chat_user_id=chat_user_id,
        elder_id=elder_id,
        relation=relation,
        verified_by=actor[:64],
        clock=clock,
    )
    _record(session, clock, actor, "link_chat", elder_id, f"chat:{chat_user_id} {relation.value}")
    return link


def link_own_chat(*, session: Session, clock: Clock, chat_user_id: int, phone: str) -> Elder | None:
    """An elder shares her own phone contact in the chat (Telegram vouches for the number):
    her chat is linked to her record, if one has that number."""
    elder = elders.elder_by_phone(session=session, phone=phone)
    if elder is None:
        return None
    elders.link_elder(
        session=session,
        chat_user_id=chat_user_id,
        elder_id=saved(elder.id),
        relation=LinkRelation.self_,
        verified_by="telegram-contact",
        clock=clock,
    )
    _record(session, clock, f"chat:{chat_user_id}", "link_chat", saved(elder.id), "contact")
    return elder


def redeem_link_code(
    *, session: Session, clock: Clock, settings: Settings, chat_user_id: int, code: str
) -> Elder | None:
    """A family member's chat is linked by the code staff gave them (None: a wrong, used or
    expired code; the attempt counts towards the hourly limit all the same, whose refusal
    names the settings' programme phone)."""
    elder = elders.redeem_link_code(
        session=session,
        clock=clock,
        chat_user_id=chat_user_id,
        code=code,
        programme_phone=settings.programme_phone,
    )
    if elder is not None:
        _record(session, clock, f"chat:{chat_user_id}", "link_chat", saved(elder.id), "code")
    return elder


def _place(
    session: Session, clock: Clock, elder_in: ElderCreate, locator: Locator | None
) -> Placed:
    community = session.get(Community, elder_in.community_id)
    if community is None:
        # The same refusal as registering her with a location would give.
        raise elders_errors.CommunityNotFound(
            community_id=elder_in.community_id, field_code="community_id"
        )
    # No locator given: no geocoder to ask (the surfaces pass one from their settings).
    return (locator or Locator(None)).place(
        session=session, clock=clock, address=elder_in.address, community=community
    )


def _record(
    session: Session, clock: Clock, actor: str, action: str, elder_id: int, detail: str = ""
) -> None:
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action=action,
        subject=f"elder:{elder_id}",
        detail=detail,
    )
