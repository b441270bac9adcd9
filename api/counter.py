"""The canteen counter, a phone- or tablet-sized page for canteen staff: today's dine-in and
pick-up meals at their site, found by name or phone digits, one tap to mark a meal served, and
"not collected" for the rest when the meal is over; with its JSON twin. An elder's meal card is
read from a photo taken on the page (a file input that opens the phone's camera; the code is
decoded here, on the server, so the page runs no script and nothing is installed). Canteen staff
keep only their own sites' counters (the admin any). Each mark goes through usecases.counter."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.accounts.access import Staff, counter_sites
from api.accounts.errors import AccessDenied
from api.accounts.models import Role
from api.audit_log import phone_search, record_view
from api.deps import ClockDep, CounterStaff, LocaleDep, ReadSessionDep, SessionDep, SettingsDep
from api.errors import STAFF_RESPONSES, ErrorPublic
from api.forms import BlankIsNone
from api.marks import KeyHeader, MarkKey
from api.templating import page
from core.clock import Clock, today
from core.errors import AlreadyOrdered, DomainError, DuplicateRequest
from core.i18n import N_
from core.models import Order, Site
from core.settings import Settings
from core.sites import list_sites
from core.types import OrderStatus, RowId, ServiceMode, Slot
from core.validation import LINE
from usecases import counter, meal_cards
from usecases.counter import SHOWN_DIGITS, CounterMeal
from usecases.phone_search import (
    PhoneDigitsTooFew,
    TooManyPhoneSearches,
)

router = APIRouter(tags=["counter"], responses=STAFF_RESPONSES)


class CounterMealPublic(BaseModel):
    order_id: RowId
    elder_id: RowId
    elder: str
    phone_tail: str
    site_id: RowId
    site: str
    slot: Slot
    dish_zh: str
    dish_en: str
    variant: str
    quantity: int
    mode: ServiceMode
    status: OrderStatus
    allergens: list[str]
    # Until when the one asking may take back this meal's mark (their own mark, or any for
    # the admin); None when there is none to take back.
    undo_until: datetime | None = None


def _public(meal: CounterMeal, staff: Staff, settings: Settings) -> CounterMealPublic:
    shown = {k: v for k, v in vars(meal).items() if k not in ("outcome_at", "outcome_by")}
    return CounterMealPublic(**shown, undo_until=_undo_until(meal, staff, settings))


def _undo_until(meal: CounterMeal, staff: Staff, settings: Settings) -> datetime | None:
    return meal.undo_until(actor=staff.actor, settings=settings, admin=staff.role == Role.admin)


class CounterPublic(BaseModel):
    service_date: date
    meals: list[CounterMealPublic]


class ServedPublic(BaseModel):
    order_id: RowId
    status: OrderStatus
    already_served: bool = False  # it had been served before: this mark changed nothing


class UndonePublic(BaseModel):
    order_id: RowId
    status: OrderStatus  # waiting again
    was: OrderStatus  # the mark taken back


class ScannedPublic(BaseModel):
    """The elder whose meal card was read, and her meals today at this person's sites."""

    elder_id: RowId
    elder: str
    meals: list[CounterMealPublic]
    all_served: bool  # every one of them is served already (the same card again)


class WalkIn(BaseModel):
    """A registered elder served here without an order: the dish she chose from today's menu."""

    site_id: RowId
    elder_id: RowId
    dish_id: RowId
    variant: Annotated[str, Field(min_length=1, max_length=24)]
    slot: Slot
    mode: Literal[ServiceMode.dine_in, ServiceMode.pickup] = ServiceMode.dine_in


class NotCollected(BaseModel):
    site_id: RowId
    slot: Slot


class NotCollectedPublic(BaseModel):
    marked: int


class CounterQuery(BaseModel):
    site_id: Annotated[RowId | None, BlankIsNone] = None
    slot: Annotated[Slot | None, BlankIsNone] = None
    q: Annotated[str, Field(max_length=40), LINE] = ""
    # One elder's meals: where a scanned card leads (only meals at this person's sites show).
    elder_id: Annotated[RowId | None, BlankIsNone] = None


CounterQueryDep = Annotated[CounterQuery, Query()]


def _sites(staff: Staff, site_id: int | None) -> frozenset[int] | None:
    """The sites to show: one asked for (if it is this person's), else all of theirs."""
    mine = counter_sites(staff)
    if site_id is None:
        return mine
    if mine is not None and site_id not in mine:
        raise AccessDenied()
    return frozenset({site_id})


def _site_list(session: Session, staff: Staff) -> list[Site]:
    """This person's sites, for the pages' choice of site."""
    mine = counter_sites(staff)
    return [s for s in list_sites(session=session) if mine is None or s.id in mine]


def _check_order(session: Session, staff: Staff, order_id: int) -> None:
    mine = counter_sites(staff)
    if mine is not None and counter.counter_site_of(session=session, order_id=order_id) not in mine:
        raise AccessDenied()


def _meals(
    request: Request, session: Session, clock: Clock, staff: Staff, wanted: CounterQuery
) -> list[CounterMeal]:
    """The meals asked for; a search by phone digits is checked against this person's budget
    first and recorded with the answer (usecases.phone_search)."""
    search = phone_search(
        request, session, clock, staff.actor, wanted.q, where="counter", shown=SHOWN_DIGITS
    )
    meals = counter.counter_meals(
        session=session,
        service_date=today(clock),
        site_ids=_sites(staff, wanted.site_id),
        slot=wanted.slot,
        query=wanted.q,
        elder_id=wanted.elder_id,
    )
    search.record(total=len({m.elder_id for m in meals}), elder_ids=[m.elder_id for m in meals])
    return meals


def _record(request: Request, staff: Staff, meals: list[CounterMeal]) -> None:
    sites = ",".join(sorted({str(m.site_id) for m in meals}))
    record_view(request, actor=staff.actor, action="view_counter", subject="counter", detail=sites)


@router.get(
    "/api/v1/counter",
    response_model=CounterPublic,
    responses={429: {"model": ErrorPublic, "description": "Too many searches by phone digits"}},
)
def counter_json(
    request: Request,
    staff: CounterStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    wanted: CounterQueryDep,
) -> CounterPublic:
    """Today's dine-in and pick-up meals at this person's sites (or one of them, one meal),
    found by name or phone digits (`q`)."""
    meals = _meals(request, session, clock, staff, wanted)
    _record(request, staff, meals)
    settings = request.app.state.settings
    return CounterPublic(
        service_date=today(clock), meals=[_public(m, staff, settings) for m in meals]
    )


@router.post("/api/v1/counter/orders/{order_id}/serve", response_model=ServedPublic)
def serve_json(
    order_id: RowId,
    staff: CounterStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    key: KeyHeader = None,
) -> ServedPublic:
    """The elder ate here or collected her meal. Sent twice, it counts once (with the same
    `Idempotency-Key`, even after the mark was taken back)."""
    _check_order(session, staff, order_id)
    served = counter.serve(
        session=session,
        clock=clock,
        settings=settings,
        actor=staff.actor,
        order_id=order_id,
        key=key,
    )
    return ServedPublic(order_id=order_id, status=served.status, already_served=served.already)


@router.post(
    "/api/v1/counter/orders/{order_id}/undo",
    response_model=UndonePublic,
    responses={
        409: {"model": ErrorPublic, "description": "No mark to undo, or its minutes are over"}
    },
)
def undo_json(
    order_id: RowId,
    staff: CounterStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    key: KeyHeader = None,
) -> UndonePublic:
    """Take back a mark (served, collected, not collected) within `MEALAID_UNDO_MINUTES` of
    it: the one who made it, or the admin. The meal waits again; the ledger is reversed."""
    _check_order(session, staff, order_id)
    undone = _undo(session, clock, settings, staff, order_id, key)
    return UndonePublic(order_id=order_id, status=undone.status, was=undone.was)


def _undo(
    session: Session,
    clock: Clock,
    settings: Settings,
    staff: Staff,
    order_id: int,
    key: str | None,
) -> counter.Undone:
    return counter.undo(
        session=session,
        clock=clock,
        settings=settings,
        actor=staff.actor,
        order_id=order_id,
        admin=staff.role == Role.admin,
        key=key,
    )


@router.post(
    "/api/v1/counter/walk-in",
    response_model=ServedPublic,
    responses={
        409: {"model": ErrorPublic, "description": "She has this meal already, or it is over"}
    },
)
def walk_in_json(
    body: WalkIn, staff: CounterStaff, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> ServedPublic:
    """A registered elder who turned up without an order is served now: the order is placed
    (the menu, her diet, one order per meal, paused days, the budget) and marked served. The
    cutoff does not apply; the meal must still be being served (until its window ends)."""
    _sites(staff, body.site_id)
    served = _walk_in(session, clock, settings, staff, body)
    return ServedPublic(order_id=served.order_id, status=served.status)


def _walk_in(
    session: Session, clock: Clock, settings: Settings, staff: Staff, body: WalkIn
) -> counter.Served:
    return counter.serve_walk_in(
        session=session,
        clock=clock,
        settings=settings,
        actor=staff.actor,
        site_id=body.site_id,
        elder_id=body.elder_id,
        dish_id=body.dish_id,
        variant=body.variant,
        slot=body.slot,
        mode=body.mode,
    )


# A phone's photo is a few megabytes; more than this is not a photo of a card.
MAX_PHOTO_BYTES = 20 * 1024 * 1024


class PhotoTooLarge(DomainError):
    code = "photo_too_large"
    message = N_("This photo is too large. Please take a photo of the card alone.")
    status = 413


def _scan(session: Session, clock: Clock, staff: Staff, photo: UploadFile) -> counter.ScannedCard:
    """The card in the photo, read, and its elder's meals today at this person's sites."""
    data = photo.file.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLarge()
    return counter.scan_card(
        session=session,
        clock=clock,
        actor=staff.actor,
        code=meal_cards.code_in_image(data),
        service_date=today(clock),
        site_ids=counter_sites(staff),
    )


@router.post(
    "/api/v1/counter/scan",
    response_model=ScannedPublic,
    responses={
        409: {"model": ErrorPublic, "description": "The card was replaced by a new one"},
        413: {"model": ErrorPublic, "description": "The photo is too large"},
        422: {"model": ErrorPublic, "description": "No meal card could be read in the photo"},
    },
)
def scan_json(
    photo: Annotated[UploadFile, File(description="A photo of the elder's meal card")],
    staff: CounterStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> ScannedPublic:
    """Read an elder's meal card from a photo of it: her meals today at this person's sites,
    to serve with `orders/{id}/serve`. A card of no elder (404), a replaced card (409), or an
    elder with no meal here today (404) is refused and nothing is recorded."""
    scanned = _scan(session, clock, staff, photo)
    return ScannedPublic(
        elder_id=scanned.elder_id,
        elder=scanned.elder,
        meals=[_public(m, staff, settings) for m in scanned.meals],
        all_served=all(m.status != OrderStatus.locked for m in scanned.meals),
    )


@router.post("/api/v1/counter/not-collected", response_model=NotCollectedPublic)
def not_collected_json(
    body: NotCollected,
    staff: CounterStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    key: KeyHeader = None,
) -> NotCollectedPublic:
    """The meal is over: the site's meals still waiting are marked not collected."""
    _sites(staff, body.site_id)
    marked = counter.not_collected(
        session=session,
        clock=clock,
        settings=settings,
        actor=staff.actor,
        site_id=body.site_id,
        service_date=today(clock),
        slot=body.slot,
        key=key,
    )
    return NotCollectedPublic(marked=marked)


@router.get("/counter", response_class=HTMLResponse, include_in_schema=False)
def counter_page(
    request: Request,
    staff: CounterStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    wanted: CounterQueryDep,
    served: int | None = None,
    already: int | None = None,
    marked: int | None = None,
    undone: int | None = None,
    scanned: bool = False,
    locale: LocaleDep = "zh_CN",
) -> HTMLResponse:
    error, status_code = None, 200
    try:
        meals = _meals(request, session, clock, staff, wanted)
    except (PhoneDigitsTooFew, TooManyPhoneSearches) as refused:
        # Said above the list, the search box keeping what was typed; nothing is listed.
        meals, error, status_code = [], refused.render(locale), refused.status
    else:
        _record(request, staff, meals)
    return _counter_page(
        request,
        session,
        clock,
        staff,
        wanted,
        meals,
        served=served,
        already=already,
        marked=marked,
        undone=undone,
        # A card read again after its meal was served says so (the meal counts once).
        card_served=scanned and bool(meals) and all(m.status != OrderStatus.locked for m in meals),
        error=error,
        status_code=status_code,
    )


def _counter_page(
    request: Request,
    session: Session,
    clock: Clock,
    staff: Staff,
    wanted: CounterQuery,
    meals: list[CounterMeal],
    *,
    served: int | None = None,
    already: int | None = None,
    marked: int | None = None,
    undone: int | None = None,
    card_served: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    sites = _site_list(session, staff)
    waiting = [m for m in meals if m.status == OrderStatus.locked]
    now = clock.now()
    undo_until = {
        m.order_id: until
        for m in meals
        if (until := _undo_until(m, staff, request.app.state.settings)) is not None and until >= now
    }
    return page(
        request,
        "counter.html",
        {
            "service_date": today(clock),
            "meals": meals,
            "waiting": len(waiting),
            "sites": sites,
            "wanted": wanted,
            "slots": list(Slot),
            "served": served,
            "already": already,
            "card_served": card_served,
            "marked": marked,
            "undone": undone,
            # A walk-in taken back is withdrawn, not waiting (core.orders.undo_outcome).
            "undone_withdrawn": undone is not None
            and (taken := session.get(Order, undone)) is not None
            and taken.status == OrderStatus.cancelled,
            "undo_until": undo_until,
            "tz": clock.tz,
            # Each mark's form carries a key of its own (the page's script sends a mark again
            # under it after the connection dropped; a form sent twice counts once too).
            "mark_key": lambda: uuid.uuid4().hex,
            "back": _back(wanted),
            "error": error,
        },
        status_code,
    )


def _back(wanted: CounterQuery) -> str:
    """This page again, as it was asked for."""
    kept = wanted.model_dump(exclude_none=True, exclude_defaults=True)
    return "/counter" + (f"?{urlencode(kept)}" if kept else "")


@router.post("/counter/orders/{order_id}/serve", include_in_schema=False)
def serve_page(
    order_id: RowId,
    staff: CounterStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    back: Annotated[str, Form(max_length=200)] = "/counter",
    mark_key: Annotated[MarkKey | None, Form()] = None,
) -> RedirectResponse:
    _check_order(session, staff, order_id)
    done = counter.serve(
        session=session,
        clock=clock,
        settings=settings,
        actor=staff.actor,
        order_id=order_id,
        key=mark_key,
    )
    shown = {"already": order_id} if done.already else {"served": order_id}
    return RedirectResponse(_same_page(back, **shown), status_code=303)


@router.post("/counter/orders/{order_id}/undo", include_in_schema=False)
def undo_page(
    request: Request,
    order_id: RowId,
    staff: CounterStaff,
    session: SessionDep,
    clock: ClockDep,
    back: Annotated[str, Form(max_length=200)] = "/counter",
    mark_key: Annotated[MarkKey | None, Form()] = None,
    locale: LocaleDep = "zh_CN",
) -> Response:
    """Take back a mark; too late (or not this person's) is said above the counter's list."""
    _check_order(session, staff, order_id)
    try:
        with session.begin_nested():  # a refusal leaves nothing behind, not even the key
            _undo(session, clock, request.app.state.settings, staff, order_id, mark_key)
    except DomainError as refused:
        # The counter as it was, with the reason.
        wanted = _wanted_from(back)
        meals = _meals(request, session, clock, staff, wanted)
        _record(request, staff, meals)
        return _counter_page(
            request,
            session,
            clock,
            staff,
            wanted,
            meals,
            error=refused.render(locale),
            status_code=refused.status,
        )
    return RedirectResponse(_same_page(back, undone=order_id), status_code=303)


def _wanted_from(back: str) -> CounterQuery:
    """The counter's list as the page that sent a form showed it (its `back` address)."""
    query = dict(parse_qsl(urlsplit(back).query))
    try:
        return CounterQuery.model_validate(query)
    except ValueError:
        return CounterQuery()


@router.post("/counter/scan", include_in_schema=False)
def scan_page(
    request: Request,
    staff: CounterStaff,
    session: SessionDep,
    clock: ClockDep,
    photo: Annotated[UploadFile, File()],
    locale: LocaleDep = "zh_CN",
) -> Response:
    """The card read: on to her meals. A card that will not do is said above the counter's
    list, and nothing is recorded."""
    try:
        scanned = _scan(session, clock, staff, photo)
    except DomainError as refused:
        # Refused before anything was written; the page shows the whole counter again.
        wanted = CounterQuery()
        meals = counter.counter_meals(
            session=session, service_date=today(clock), site_ids=counter_sites(staff)
        )
        _record(request, staff, meals)
        return _counter_page(
            request,
            session,
            clock,
            staff,
            wanted,
            meals,
            error=refused.render(locale),
            status_code=refused.status,
        )
    kept = urlencode({"elder_id": scanned.elder_id, "scanned": 1})
    return RedirectResponse(f"/counter?{kept}", status_code=303)


class WalkInQuery(BaseModel):
    site_id: Annotated[RowId | None, BlankIsNone] = None
    q: Annotated[str, Field(max_length=40), LINE] = ""
    elder_id: Annotated[RowId | None, BlankIsNone] = None


@router.get("/counter/walk-in", response_class=HTMLResponse, include_in_schema=False)
def walk_in_page(
    request: Request,
    staff: CounterStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    wanted: Annotated[WalkInQuery, Query()],
    locale: LocaleDep = "zh_CN",
) -> HTMLResponse:
    """Serve a walk-in: find the elder (by name or phone digits), then today's dishes at this
    site, those she can eat, her own style first; one tap places and serves it."""
    return _walk_in_page(request, session, clock, staff, wanted, locale)


def _walk_in_page(
    request: Request,
    session: Session,
    clock: Clock,
    staff: Staff,
    wanted: WalkInQuery,
    locale: str,
    *,
    error: str | None = None,
    has_order: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    sites = _site_list(session, staff)
    site_id = wanted.site_id or (sites[0].id if sites else None)
    if site_id is not None:
        _sites(staff, site_id)
    found: list[counter.WalkInElder] = []
    elder = None
    choices: list[counter.WalkInChoice] = []
    if wanted.elder_id is not None:
        elder = counter.walk_in_elder(session=session, elder_id=wanted.elder_id, on=today(clock))
        if site_id is not None:
            choices = counter.walk_in_choices(
                session=session, clock=clock, site_id=site_id, elder_id=elder.elder_id
            )
    elif wanted.q:
        try:
            search = phone_search(
                request, session, clock, staff.actor, wanted.q, where="counter", shown=SHOWN_DIGITS
            )
        except (PhoneDigitsTooFew, TooManyPhoneSearches) as refused:
            error, status_code = refused.render(locale), refused.status
        else:
            found = counter.walk_in_elders(session=session, query=wanted.q, on=today(clock))
            search.record(total=len(found), elder_ids=[e.elder_id for e in found])
    return page(
        request,
        "counter_walk_in.html",
        {
            "service_date": today(clock),
            "sites": sites,
            "site_id": site_id,
            "wanted": wanted,
            "found": found,
            "elder": elder,
            "choices": choices,
            "error": error,
            "has_order": has_order,
        },
        status_code,
    )


@router.post("/counter/walk-in", include_in_schema=False)
def walk_in_serve_page(
    request: Request,
    staff: CounterStaff,
    session: SessionDep,
    clock: ClockDep,
    site_id: Annotated[RowId, Form()],
    elder_id: Annotated[RowId, Form()],
    dish_id: Annotated[RowId, Form()],
    variant: Annotated[str, Form(min_length=1, max_length=24)],
    slot: Annotated[Slot, Form()],
    mode: Annotated[Literal[ServiceMode.dine_in, ServiceMode.pickup], Form()] = ServiceMode.dine_in,
    locale: LocaleDep = "zh_CN",
) -> Response:
    """Placed and served; a refusal is said on the same page, and nothing is written."""
    _sites(staff, site_id)
    body = WalkIn(
        site_id=site_id, elder_id=elder_id, dish_id=dish_id, variant=variant, slot=slot, mode=mode
    )
    try:
        served = _walk_in(session, clock, request.app.state.settings, staff, body)
    except DomainError as refused:
        # Refused before anything was written.
        return _walk_in_page(
            request,
            session,
            clock,
            staff,
            WalkInQuery(site_id=site_id, elder_id=elder_id),
            locale,
            error=refused.render(locale),
            # She has this meal already: the page offers to serve that one.
            has_order=isinstance(refused, (AlreadyOrdered, DuplicateRequest)),
            status_code=refused.status,
        )
    kept = urlencode({"elder_id": elder_id, "served": served.order_id})
    return RedirectResponse(f"/counter?{kept}", status_code=303)


@router.post("/counter/not-collected", include_in_schema=False)
def not_collected_page(
    staff: CounterStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    site_id: Annotated[RowId, Form()],
    slot: Annotated[Slot, Form()],
    back: Annotated[str, Form(max_length=200)] = "/counter",
    mark_key: Annotated[MarkKey | None, Form()] = None,
) -> RedirectResponse:
    _sites(staff, site_id)
    marked = counter.not_collected(
        session=session,
        clock=clock,
        settings=settings,
        actor=staff.actor,
        site_id=site_id,
        service_date=today(clock),
        slot=slot,
        key=mark_key,
    )
    return RedirectResponse(_same_page(back, marked=marked), status_code=303)


def _same_page(back: str, **shown: int) -> str:
    """Back to the counter as it was (only ever this page: no redirect elsewhere)."""
    path = back if back.startswith("/counter") and "//" not in back else "/counter"
    return path + ("&" if "?" in path else "?") + urlencode(shown)
