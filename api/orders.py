"""The orders board: a day's orders per site and meal with their status, for the admin,
kitchen staff (their kitchen's sites) and community workers (their communities' elders), with
the standing orders the cutoff refused (most of those elders have no chat to be told); and
phone-in orders and cancels entered by staff for elders who do not use the chat, through the
same order services as the chat (usecases.ordering), with the same rules."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.accounts.access import Staff, may_see_elder
from api.accounts.models import Role
from api.audit_log import phone_search, record_view
from api.deps import (
    BoardStaff,
    ClockDep,
    LocaleDep,
    PhoneInStaff,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
)
from api.errors import STAFF_RESPONSES
from api.forms import BlankIsNone, field_errors, refusal_of
from api.templating import page
from billing.split import Split
from core import audit
from core.clock import Clock, today
from core.errors import DomainError, DuplicateRequest, ElderNotFound, InvalidInput, OrderNotFound
from core.models import Order, saved
from core.settings import Settings
from core.types import MAX_ID, OrderSource, OrderStatus, RowId, ServiceMode, Slot
from core.validation import LINE, PROBLEMS, UNCHOSEN, FieldName, unchosen
from usecases import ordering
from usecases.elders import get_elder
from usecases.menus import menu_item
from usecases.ordering import (
    BoardOrder,
    OrderableElder,
    day_menu_items,
    kitchen_site_ids,
    orderable_elders,
    orders_board,
    refused_standing_orders,
)
from usecases.phone_search import MIN_DIGITS, phone_digits

router = APIRouter(tags=["orders"], responses=STAFF_RESPONSES)


class BoardOrderPublic(BaseModel):
    """An order on the board: no phone number or address."""

    order_id: RowId
    elder_id: RowId
    elder: str
    site_id: RowId
    site: str
    slot: Slot
    dish_zh: str
    dish_en: str
    variant: str
    quantity: int
    mode: ServiceMode
    status: OrderStatus
    source: OrderSource
    total_fen: int
    diet_tags: list[str]
    allergens: list[str]


class BoardSlotPublic(BaseModel):
    """A site's meal: its orders counted by status (the whole day's, or the filter's) and
    those of its orders that fall on this page."""

    site_id: RowId
    site: str
    slot: Slot
    count: int
    by_status: dict[str, int]
    orders: list[BoardOrderPublic]


class OrdersBoardPublic(BaseModel):
    service_date: date
    total: int
    limit: int
    offset: int
    slots: list[BoardSlotPublic]


BOARD_PAGE = 100


class BoardQuery(BaseModel):
    """Which of a day's orders to show (default: today's, every site and meal), a page at a
    time in a stable order: site, meal, elder."""

    service_date: date | None = Field(None, alias="date")
    site_id: Annotated[RowId | None, BlankIsNone] = None
    slot: Annotated[Slot | None, BlankIsNone] = None
    status: Annotated[OrderStatus | None, BlankIsNone] = None
    limit: Annotated[int, Field(ge=1, le=500)] = BOARD_PAGE
    offset: Annotated[int, Field(ge=0, le=MAX_ID)] = 0


BoardQueryDep = Annotated[BoardQuery, Query()]


class RefusedStandingOrderPublic(BaseModel):
    """A standing order the cutoff refused: whose usual meal, where, why (in the reader's
    language), and the order placed for that elder and meal since, if one was (then it is
    handled). No phone number or address."""

    standing_order_id: RowId
    elder_id: RowId
    elder: str
    site_id: RowId
    site: str
    slot: Slot
    code: str
    reason: str
    refused_at: datetime
    handled: bool
    order_id: RowId | None


class StandingRefusalsPublic(BaseModel):
    service_date: date
    refusals: list[RefusedStandingOrderPublic]


class RefusalsQuery(BaseModel):
    """Which day's refused standing orders to show (default: today's), optionally one site
    or one meal."""

    service_date: date | None = Field(None, alias="date")
    site_id: Annotated[RowId | None, BlankIsNone] = None
    slot: Annotated[Slot | None, BlankIsNone] = None


class PhoneInOrder(BaseModel):
    """An order taken on the phone: the elder, the menu item (site, day, meal, dish and variant
    in one), portions, how it is served (default: the elder's usual) and a key that makes a
    repeated request (a double submit, a retry) place one order."""

    elder_id: RowId
    item_id: RowId
    quantity: Annotated[int, Field(ge=1, le=99)] = 1
    mode: ServiceMode | None = None
    idempotency_key: Annotated[str, Field(min_length=8, max_length=100), LINE]


class PlacedPublic(BaseModel):
    order_id: RowId
    total_fen: int
    elder_fen: int
    duplicate: bool


class CancelledPublic(BaseModel):
    order_id: RowId
    status: OrderStatus


def _scope(session: Session, staff: Staff) -> dict[str, set[int]]:
    """Which orders this member of staff sees on the board."""
    if staff.role == Role.kitchen:
        return {"site_ids": kitchen_site_ids(session=session, kitchen_id=staff.kitchen_id or -1)}
    if staff.role == Role.community_worker:
        return {"community_ids": set(staff.community_ids)}
    return {}


def _board(session: Session, staff: Staff, day: date, wanted: BoardQuery) -> OrdersBoardPublic:
    board = orders_board(
        session=session,
        service_date=day,
        site_id=wanted.site_id,
        slot=wanted.slot,
        status=wanted.status,
        limit=wanted.limit,
        offset=wanted.offset,
        **_scope(session, staff),
    )
    slots = {
        (meal.site_id, meal.slot): BoardSlotPublic(
            site_id=meal.site_id,
            site=meal.site,
            slot=meal.slot,
            count=meal.count,
            by_status=meal.by_status,
            orders=[],
        )
        for meal in board.meals
    }
    for row in board.orders:
        slots[(row.site_id, row.slot)].orders.append(_public(row))
    return OrdersBoardPublic(
        service_date=day,
        total=board.total,
        limit=wanted.limit,
        offset=wanted.offset,
        slots=list(slots.values()),
    )


def _refusals(
    session: Session,
    staff: Staff,
    day: date,
    site_id: RowId | None,
    slot: Slot | None,
    locale: str,
) -> list[RefusedStandingOrderPublic]:
    """The day's standing orders the cutoff refused, of the part of the day this member of
    staff sees on the board."""
    return [
        RefusedStandingOrderPublic(
            standing_order_id=refused.standing_order_id,
            elder_id=refused.elder_id,
            elder=refused.elder,
            site_id=refused.site_id,
            site=refused.site,
            slot=refused.slot,
            code=refused.code,
            reason=refused.reason(locale),
            refused_at=refused.refused_at,
            handled=refused.order_id is not None,
            order_id=refused.order_id,
        )
        for refused in refused_standing_orders(
            session=session,
            service_date=day,
            site_id=site_id,
            slot=slot,
            **_scope(session, staff),
        )
    ]


def _public(row: BoardOrder) -> BoardOrderPublic:
    values = vars(row).copy()
    values.pop("community_id")
    # Made from what core.orders.orders_board has typed already (enumeration members, ints,
    # lists of codes), so not checked again field by field: a hundred rows a page.
    return BoardOrderPublic.model_construct(**values)


def _record_board(request: Request, staff: Staff, service_date: date) -> None:
    record_view(
        request,
        actor=staff.actor,
        action="view_orders_board",
        subject="orders",
        detail=service_date.isoformat(),
    )


@router.get("/api/v1/orders/board", response_model=OrdersBoardPublic)
async def board_json(
    request: Request,
    staff: BoardStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    wanted: BoardQueryDep,
) -> OrdersBoardPublic:
    """A day's orders (default: today) per site and meal with their status, a page at a time
    (`limit`, `offset`; `total` counts them all), optionally one site, meal or status: kitchen
    staff see their kitchen's sites, community workers the elders of their communities."""
    # async, its database work in one trip to a worker thread: FastAPI would check a plain
    # `def` route's answer against its model in a second trip.
    day = wanted.service_date or today(clock)
    _record_board(request, staff, day)
    return await run_in_threadpool(_board, session, staff, day, wanted)


@router.get("/api/v1/standing-orders/refusals", response_model=StandingRefusalsPublic)
def refusals_json(
    request: Request,
    staff: BoardStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    wanted: Annotated[RefusalsQuery, Query()],
) -> StandingRefusalsPublic:
    """A day's standing orders (default: today) that the cutoff refused and so made no order
    (no menu, nothing the elder may eat, a limit lowered since), with the reason in the
    reader's language; `handled` once an order for that elder and meal has been placed since
    (by phone, at the counter). Optionally one site or meal; kitchen staff see their kitchen's
    sites, community workers the elders of their communities. Paused meals are not here."""
    day = wanted.service_date or today(clock)
    _record_board(request, staff, day)
    return StandingRefusalsPublic(
        service_date=day,
        refusals=_refusals(session, staff, day, wanted.site_id, wanted.slot, locale),
    )


def _board_page(
    request: Request,
    session: Session,
    clock: Clock,
    staff: Staff,
    wanted: BoardQuery,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    placed: int | None = None,
) -> HTMLResponse:
    day = wanted.service_date or today(clock)
    # Every answer with the board records the view: the page, and a refusal shown on it.
    _record_board(request, staff, day)
    board = _board(session, staff, day, wanted)
    context: dict[str, Any] = {
        "board": board,
        "wanted": wanted,
        "pages": _pages(wanted, board),
        "slots": list(Slot),
        "statuses": list(OrderStatus),
        "errors": errors or {},
        "placed": placed,
        "refused": _refusals(
            session, staff, day, wanted.site_id, wanted.slot, request.state.locale
        ),
    }
    if staff.role in (Role.admin, Role.community_worker):
        elder_query = request.query_params.get("elder_q", "")[:64]
        context["elder_query"] = elder_query
        # A form sent back keeps its elder; a link from a refused standing order names one.
        chosen = (form or {}).get("elder_id") or request.query_params.get("elder_id", "")
        try:
            context["elders"] = _elders_to_choose(
                request, session, clock, staff, elder_query, chosen
            )
        except DomainError as error:  # too many searches by phone digits: said on the form
            context["elders"] = []
            context["errors"] = {**context["errors"], "elder_q": error.render(request.state.locale)}
            status = error.status
        context["elders_shown"] = ELDERS_SHOWN
        context["items"] = day_menu_items(session=session, service_date=day)
        context["form"] = {"idempotency_key": uuid.uuid4().hex, "quantity": "1", **(form or {})}
        context["modes"] = list(ServiceMode)
    return page(request, "orders.html", context, status)


# Elders a search on the phone-in form lists, at most: the caller names one person.
ELDERS_SHOWN = 30


def _elders_to_choose(
    request: Request, session: Session, clock: Clock, staff: Staff, query: str, chosen: str
) -> list[OrderableElder]:
    """Search first: the phone-in form lists no elder until staff search (name, phone
    digits, ID tail or elder no.), then only the matches. A form sent back with a refusal
    lists the elder it chose, not the search again (a search by phone digits spends the
    person's budget: usecases.phone_search)."""
    scope = _scope(session, staff).get("community_ids")
    if chosen.isdigit() and int(chosen) <= MAX_ID:
        return orderable_elders(
            session=session, community_ids=scope, on=today(clock), elder_id=int(chosen)
        )
    if not query.strip():
        return []
    digits = phone_digits(query)
    # Fewer digits than a phone search needs are an elder number.
    by_phone = digits is not None and len(digits) >= MIN_DIGITS
    search = phone_search(
        request, session, clock, staff.actor, query if by_phone else None, where="phone_in"
    )
    found = orderable_elders(
        session=session, community_ids=scope, on=today(clock), query=query, limit=ELDERS_SHOWN
    )
    search.record(total=len(found), elder_ids=[e.id for e in found])
    return found


def _pages(wanted: BoardQuery, board: OrdersBoardPublic) -> dict[str, Any]:
    """Where the board's page sits in the whole, and the links to the pages either side."""

    def link(offset: int) -> str:
        kept = wanted.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
        kept["date"] = board.service_date.isoformat()
        return "/orders?" + urlencode({**kept, "offset": offset})

    end = min(wanted.offset + wanted.limit, board.total)
    return {
        "first": wanted.offset + 1 if board.total else 0,
        "last": end,
        "total": board.total,
        "previous": link(max(wanted.offset - wanted.limit, 0)) if wanted.offset else None,
        "next": link(end) if end < board.total else None,
    }


@router.get("/orders", response_class=HTMLResponse, include_in_schema=False)
def board_page(
    request: Request,
    staff: BoardStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    wanted: BoardQueryDep,
    placed: int | None = None,
) -> HTMLResponse:
    return _board_page(request, session, clock, staff, wanted, placed=placed)


def _place(
    session: Session, clock: Clock, settings: Settings, staff: Staff, order_in: PhoneInOrder
) -> tuple[Order, Split | None]:
    """Place a phone-in order through the same services as the chat; a repeat of the same
    request (same key) answers with the order it already made."""
    elder = get_elder(session=session, elder_id=order_in.elder_id)
    if not may_see_elder(staff, elder.community_id):
        # As an elder that does not exist: no telling which ids are elders elsewhere.
        raise ElderNotFound(elder_id=elder.id)
    item = menu_item(session=session, item_id=order_in.item_id)
    try:
        with session.begin_nested():
            billed = ordering.place_order(
                session=session,
                clock=clock,
                settings=settings,
                elder_id=elder.id,
                site_id=item.site_id,
                service_date=item.service_date,
                slot=item.slot,
                dish_id=item.choice.dish_id,
                variant=item.choice.variant,
                quantity=order_in.quantity,
                mode=order_in.mode,
                idempotency_key=f"staff:{order_in.idempotency_key}",
                source=OrderSource.staff,
            )
    except DuplicateRequest as duplicate:
        order = session.get(Order, duplicate.params["order_id"])
        if order is None or order.elder_id != elder.id:
            raise
        return order, None
    audit.record(
        session=session,
        clock=clock,
        actor=staff.actor,
        action="phone_in_order",
        subject=f"elder:{elder.id}",
        detail=f"order:{billed.order.id}",
    )
    return billed.order, billed.split


@router.post("/api/v1/orders", response_model=PlacedPublic, status_code=201)
async def phone_in_json(
    order_in: PhoneInOrder,
    staff: PhoneInStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> PlacedPublic:
    """A phone-in order for an elder who does not use the chat: every ordering rule applies
    (cutoff, diet, pauses, one order per meal); a refusal writes nothing. Repeating the same
    idempotency key returns the order already made."""
    # async, its database work in one trip to a worker thread (as board_json).
    return await run_in_threadpool(_phone_in, session, clock, settings, staff, order_in)


def _phone_in(
    session: Session, clock: Clock, settings: Settings, staff: Staff, order_in: PhoneInOrder
) -> PlacedPublic:
    order, split = _place(session, clock, settings, staff, order_in)
    order_id = saved(order.id)
    return PlacedPublic(
        order_id=order_id,
        total_fen=order.total_fen,
        elder_fen=split.elder_fen if split is not None else _elder_share(session, order_id),
        duplicate=split is None,
    )


def _elder_share(session: Session, order_id: RowId) -> int:
    from billing.models import Charge

    charge = session.get(Charge, order_id)
    return charge.elder_fen if charge is not None else 0


def _int_field(value: str, field: str, label: str) -> int:
    if not value and field in UNCHOSEN:
        raise unchosen(field)
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(
            field=FieldName(label), problem=FieldName(PROBLEMS["int_parsing"]), field_code=field
        ) from None


@router.post("/orders/phone-in", response_class=HTMLResponse, include_in_schema=False)
def phone_in(
    request: Request,
    staff: PhoneInStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    service_date: Annotated[date | None, Form(alias="date")] = None,
    elder_id: Annotated[str, Form(max_length=20)] = "",
    item_id: Annotated[str, Form(max_length=20)] = "",
    quantity: Annotated[str, Form(max_length=10)] = "1",
    mode: Annotated[str, Form(max_length=20)] = "",
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    form = dict(
        elder_id=elder_id,
        item_id=item_id,
        quantity=quantity,
        mode=mode,
        idempotency_key=idempotency_key,
    )
    try:
        order_in = PhoneInOrder(
            elder_id=_int_field(elder_id, "elder_id", "elder"),
            item_id=_int_field(item_id, "item_id", "meal"),
            quantity=_int_field(quantity, "quantity", "number of portions"),
            mode=ServiceMode(mode) if mode in ServiceMode.__members__.values() else None,
            # The page always sends one; without it the form is refused (too short), never
            # given a made-up key that other key-less forms would share.
            idempotency_key=idempotency_key,
        )
        order, _ = _place(session, clock, request.app.state.settings, staff, order_in)
    except (DomainError, ValidationError) as error:
        # Shown on the form, next to its field; the savepoint undid anything written.
        refusal = refusal_of(error) if isinstance(error, ValidationError) else error
        return _board_page(
            request,
            session,
            clock,
            staff,
            BoardQuery(date=service_date),
            form=form,
            errors=field_errors(refusal, locale),
            status=refusal.status,
        )
    query = urlencode({"date": order.service_date.isoformat(), "placed": order.id})
    return RedirectResponse(f"/orders?{query}#order-{order.id}", status_code=303)


def _cancel(
    session: Session, clock: Clock, settings: Settings, staff: Staff, order_id: RowId
) -> Order:
    order = session.get(Order, order_id)
    elder = get_elder(session=session, elder_id=order.elder_id) if order is not None else None
    if elder is None or not may_see_elder(staff, elder.community_id):
        # Another community's order is answered as one that does not exist.
        raise OrderNotFound(order_id=order_id)
    with session.begin_nested():
        cancelled = ordering.cancel_order(
            session=session, clock=clock, settings=settings, order_id=order_id
        )
    audit.record(
        session=session,
        clock=clock,
        actor=staff.actor,
        action="cancel_order",
        subject=f"elder:{elder.id}",
        detail=f"order:{order_id}",
    )
    return cancelled


@router.post("/api/v1/orders/{order_id}/cancel", response_model=CancelledPublic)
def cancel_json(
    order_id: RowId,
    staff: PhoneInStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> CancelledPublic:
    """Cancel an order before its cutoff (the budget it reserved is released)."""
    order = _cancel(session, clock, settings, staff, order_id)
    return CancelledPublic(order_id=saved(order.id), status=OrderStatus(order.status))


@router.post("/orders/{order_id}/cancel", response_class=HTMLResponse, include_in_schema=False)
def cancel_page(
    request: Request,
    order_id: RowId,
    staff: PhoneInStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
) -> Response:
    try:
        order = _cancel(session, clock, request.app.state.settings, staff, order_id)
    except DomainError as refusal:
        existing = session.get(Order, order_id)
        return _board_page(
            request,
            session,
            clock,
            staff,
            BoardQuery(date=existing.service_date if existing else None),
            errors={f"order_{order_id}": refusal.render(locale)},
            status=refusal.status,
        )
    return RedirectResponse(
        f"/orders?date={order.service_date.isoformat()}#order-{order.id}", status_code=303
    )
