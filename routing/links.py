"""Signed links that open a rider's route, or one stop of it, without a login: the QR codes on
the route sheet, the code on each box's label, a link sent to the rider's chat.

A link is a capability, so it is kept as narrow as its use:
- a **route** link opens that route's page (every stop, for the rider who carries the sheet);
  a **stop** link (a box's label) opens that one delivery and nothing more, so whoever handles
  the box in the kitchen or finds it later learns one address, not ten;
- it works through its service day and `link_margin_hours` (a setting, passed in by the
  surface that checks the link) after that day's midnight;
- it names the route's link generation: raising the generation (a rider drops out, a sheet is
  lost) withdraws every link to the route and its stops at once;
- it says where it was given out (sheet, label, chat), and that, with the day and generation,
  is what the audit log records as the one who followed it, never the signature itself.

The key is `YYYYMMDD.generation.channel.signature`; the signature covers all of it and the
route or order it is for. Links hold no state: printing a sheet or a label writes nothing."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal

from sqlmodel import Session, col, select

from core.clock import Clock
from core.errors import DomainError
from core.i18n import N_
from core.signing import matches, signature
from routing.records import DeliveryRoute, RouteStop
from routing.service import RouteNotFound

Kind = Literal["route", "stop"]


class Channel(StrEnum):
    """Where a link was given out, as the one-letter code inside its key."""

    sheet = "s"
    label = "l"
    chat = "c"


class LinkExpired(DomainError):
    code = "link_expired"
    message = N_("This link was for {day} and no longer works. Ask the kitchen for today's sheet.")
    status = 403


class LinkWithdrawn(DomainError):
    code = "link_withdrawn"
    message = N_("This link has been withdrawn. Ask the kitchen for a new route sheet.")
    status = 403


@dataclass(frozen=True)
class Grant:
    """What a valid key opens: a route, or one order's stop on it."""

    kind: Kind
    subject: int  # the route's id, or the order's for a stop
    route_id: int
    actor: str  # for the audit log: which link, never its signature


@dataclass(frozen=True)
class _Key:
    day: date
    generation: int
    channel: Channel
    signature: str


def _message(kind: Kind, subject: int, day: date, generation: int, channel: Channel) -> str:
    return f"{kind}:{subject}:{day:%Y%m%d}:{generation}:{channel.value}"


def key_for(kind: Kind, subject: int, day: date, generation: int, channel: Channel) -> str:
    sign = signature(_message(kind, subject, day, generation, channel))
    return f"{day:%Y%m%d}.{generation}.{channel.value}.{sign}"


def route_key(route: DeliveryRoute, channel: Channel) -> str:
    return key_for("route", route_id_of(route), route.service_date, route.link_generation, channel)


def stop_key(route: DeliveryRoute, order_id: int, channel: Channel) -> str:
    return key_for("stop", order_id, route.service_date, route.link_generation, channel)


def route_id_of(route: DeliveryRoute) -> int:
    if route.id is None:
        raise ValueError("a route gets links once it is stored")
    return route.id


def route_url(base_url: str, route: DeliveryRoute, channel: Channel) -> str:
    """The rider's page for a whole route."""
    key = route_key(route, channel)
    return f"{base_url.rstrip('/')}/rider/routes/{route_id_of(route)}?key={key}"


def stop_url(base_url: str, route: DeliveryRoute, order_id: int, channel: Channel) -> str:
    """Where a box's or a route sheet's QR code leads: that one order's delivery."""
    return (
        f"{base_url.rstrip('/')}/rider/orders/{order_id}?key={stop_key(route, order_id, channel)}"
    )


def stop_urls(
    *, session: Session, base_url: str, order_ids: list[int], channel: Channel
) -> dict[int, str]:
    """order id -> its stop link, for the orders that are on a route."""
    if not order_ids:
        return {}
    rows = session.exec(
        select(RouteStop.order_id, DeliveryRoute)
        .join(DeliveryRoute, col(DeliveryRoute.id) == col(RouteStop.route_id))
        .where(col(RouteStop.order_id).in_(order_ids))
    ).all()
    return {order_id: stop_url(base_url, route, order_id, channel) for order_id, route in rows}


def expires_at(day: date, clock: Clock, *, link_margin_hours: int) -> datetime:
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=clock.tz)
    return midnight + timedelta(hours=link_margin_hours)


def _parse(key: str) -> _Key | None:
    parts = key.split(".")
    if len(parts) != 4:
        return None
    day_text, generation, channel, sign = parts
    try:
        day = datetime.strptime(day_text, "%Y%m%d").date()
        return _Key(day, int(generation), Channel(channel), sign)
    except ValueError:
        return None


def _grant(
    kind: Kind,
    subject: int,
    route: DeliveryRoute | None,
    key: str | None,
    clock: Clock,
    link_margin_hours: int,
) -> Grant | None:
    parsed = _parse(key) if key else None
    if parsed is None:
        return None
    message = _message(kind, subject, parsed.day, parsed.generation, parsed.channel)
    if not matches(message, parsed.signature):
        return None
    # From here on the key is genuine: say why it no longer works.
    if route is None or route.service_date != parsed.day:
        raise LinkWithdrawn()
    if clock.now() >= expires_at(parsed.day, clock, link_margin_hours=link_margin_hours):
        raise LinkExpired(day=parsed.day)
    if route.link_generation != parsed.generation:
        raise LinkWithdrawn()
    actor = f"link:{kind}:{subject}:{parsed.day:%Y%m%d}:g{parsed.generation}:{parsed.channel.name}"
    return Grant(kind, subject, route_id_of(route), actor)


def route_grant(
    *, session: Session, clock: Clock, route_id: int, key: str | None, link_margin_hours: int
) -> Grant | None:
    """What `key` opens of this route: None for no key or a key that is not genuine (the
    caller refuses it like any stranger); LinkExpired or LinkWithdrawn for a genuine key whose
    time is over (`link_margin_hours` after its day) or whose route's links were withdrawn."""
    if not key:
        return None
    route = session.get(DeliveryRoute, route_id)
    return _grant("route", route_id, route, key, clock, link_margin_hours)


def stop_grant(
    *, session: Session, clock: Clock, order_id: int, key: str | None, link_margin_hours: int
) -> Grant | None:
    """What `key` opens of this order's delivery (see `route_grant`)."""
    if not key:
        return None
    route = session.exec(
        select(DeliveryRoute)
        .join(RouteStop, col(RouteStop.route_id) == col(DeliveryRoute.id))
        .where(RouteStop.order_id == order_id)
    ).first()
    return _grant("stop", order_id, route, key, clock, link_margin_hours)


def withdraw(*, session: Session, route_id: int) -> int:
    """Withdraw every link to a route and its stops; the route's new generation (links made
    from now on carry it). The use case `usecases.routing.withdraw_links` records who did it."""
    route = session.get(DeliveryRoute, route_id)
    if route is None:
        raise RouteNotFound(route_id=route_id)
    route.link_generation += 1
    session.add(route)
    session.flush()
    return route.link_generation
