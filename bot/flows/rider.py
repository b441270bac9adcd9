"""The rider's route in the chat: today's stops in order, the next stop's buttons
(delivered, nobody at the door, navigate)."""

from sqlmodel import col, select

from bot import callbacks as cb
from bot import texts
from bot.turn import Buttons, Link, NotYours, Say, Turn
from core import i18n
from core.errors import DomainError
from core.models import (
    Rider,
    saved,
)
from core.types import OrderStatus, Slot, code_name
from kitchen.exports import variant_name
from routing.records import DeliveryRoute
from routing.service import route_of_order, route_view
from usecases import routing as routing_runs
from usecases.ordering import undo_deadline


def _rider(turn: Turn) -> Rider:
    rider = turn.session.exec(select(Rider).where(Rider.chat_user_id == turn.user.id)).first()
    if rider is None:
        raise NotARider()
    return rider


class NotARider(DomainError):
    code = "not_a_rider"
    message = texts.NOT_A_RIDER


def rider_route(turn: Turn, edit: bool = False) -> list[Say]:
    """Today's route in stop order; buttons for the next stop still to do."""
    rider = _rider(turn)
    today = turn.clock.now().date()
    routes = turn.session.exec(
        select(DeliveryRoute)
        .where(DeliveryRoute.rider_id == rider.id, DeliveryRoute.service_date == today)
        .order_by(col(DeliveryRoute.departure_at))
    ).all()
    views = [route_view(session=turn.session, route_id=saved(route.id)) for route in routes]
    pending = [v for v in views if any(s.status == OrderStatus.locked for s in v.stops)]
    if not views:
        return [Say(turn.t(texts.RIDER_NO_ROUTE))]
    view = pending[0] if pending else views[-1]
    route = next(r for r in routes if r.id == view.id)
    lines = [
        turn.t(
            texts.RIDER_ROUTE,
            number=view.number,
            slot=Slot(route.slot),
            stops=len(view.stops),
            departure=view.departure_at.astimezone(turn.clock.tz).time(),
        )
    ]
    marks = {OrderStatus.delivered: "✅", OrderStatus.no_answer: "🚪"}
    for stop in view.stops:
        line = (
            marks.get(stop.status, "▫️")
            + " "
            + turn.t(
                texts.RIDER_STOP,
                position=stop.position,
                eta=stop.eta.astimezone(turn.clock.tz).time(),
                name=stop.elder,
                address=stop.address,
                phone=stop.phone or stop.contact_phone or "-",
                dish=i18n.Bilingual(stop.dish_zh, stop.dish_en),
                variant=variant_name(stop.variant, turn.locale),
                quantity=stop.portions,
            )
        )
        warnings = [code_name(code, turn.locale) for code in stop.warnings]
        if warnings:
            line += "\n   " + turn.t(texts.RIDER_WARN, warnings=turn.join(warnings))
        lines.append(line)
    following = next((s for s in view.stops if s.status == OrderStatus.locked), None)
    # The mark just made can be taken back for a few minutes (a slip of the thumb, or the
    # door opened a moment after "No answer").
    now = turn.clock.now()
    marked = [
        s
        for s in view.stops
        if s.outcome_at is not None
        and s.status != OrderStatus.locked
        and undo_deadline(s.outcome_at, undo_minutes=turn.settings.undo_minutes) >= now
        and route.service_date == now.date()
    ]
    undo: Buttons = []
    if marked:
        last = max(marked, key=lambda s: (s.outcome_at or now, s.position))
        undo = [
            [
                (
                    turn.t(texts.RIDER_UNDO, position=last.position, name=last.elder),
                    cb.RiderOutcome(view.id, last.order_id, "u"),
                )
            ]
        ]
    if following is None:
        lines.append(turn.t(texts.RIDER_ALL_DONE))
        return [Say("\n".join(lines), undo or None, edit=edit)]
    lines.append(turn.t(texts.RIDER_NEXT, position=following.position, name=following.elder))
    navigate = turn.settings.navigation_url.format(lat=following.lat, lon=following.lon)
    rows: Buttons = [
        [
            (turn.t(texts.RIDER_DELIVERED), cb.RiderOutcome(view.id, following.order_id, "d")),
            (turn.t(texts.RIDER_NO_ANSWER), cb.RiderOutcome(view.id, following.order_id, "n")),
        ],
        [(turn.t(texts.RIDER_NAVIGATE), Link(navigate))],
        *undo,
    ]
    return [Say("\n".join(lines), rows, edit=edit)]


def rider_outcome(turn: Turn, route_id: int, order_id: int, letter: str) -> list[Say]:
    """Delivered at once; "no answer" raises a welfare alert to the family, so it asks again
    first (a slip of the thumb must not frighten a daughter); "back" records nothing."""
    rider = _rider(turn)
    route = turn.session.get(DeliveryRoute, route_id)
    on_route = route_of_order(session=turn.session, order_id=order_id)
    if route is None or route.rider_id != rider.id or on_route is None or on_route[0] != route_id:
        raise NotYours()
    if letter == "b":
        return rider_route(turn, edit=True)
    if letter == "u":
        position = routing_runs.undo_stop(
            session=turn.session,
            clock=turn.clock,
            settings=turn.settings,
            route_id=route_id,
            order_id=order_id,
            actor=f"chat:{turn.user.id}",
        )
        stops = route_view(session=turn.session, route_id=route_id).stops
        name = next(s.elder for s in stops if s.position == position)
        return [
            *rider_route(turn, edit=True),
            Say(turn.t(texts.RIDER_UNDONE, position=position, name=name)),
        ]
    if letter == "n":
        stop = next(
            s
            for s in route_view(session=turn.session, route_id=route_id).stops
            if s.order_id == order_id
        )
        rows: Buttons = [
            [
                (turn.t(texts.RIDER_CONFIRM_NO_ANSWER), cb.RiderOutcome(route_id, order_id, "c")),
                (turn.t(texts.BACK), cb.RiderOutcome(route_id, order_id, "b")),
            ]
        ]
        text = turn.t(texts.RIDER_SURE_NO_ANSWER, name=stop.elder, address=stop.address)
        return [Say(text, rows, edit=True)]
    outcome = {"d": OrderStatus.delivered, "c": OrderStatus.no_answer}[letter]
    routing_runs.record_stop(
        session=turn.session,
        clock=turn.clock,
        settings=turn.settings,
        route_id=route_id,
        order_id=order_id,
        outcome=outcome,
    )
    return rider_route(turn, edit=True)
