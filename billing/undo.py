"""Taking back a mark (an undo at the door or the counter, within minutes): the ledger stays
append-only, so the order's entries in force get opposite entries, and the budget its meal
held before the mark is held again, ready for the mark that follows."""

from sqlmodel import Session, select

from billing import service
from billing.ledger import live_entries
from billing.models import Charge, EntryKind, LedgerEntry, Reservation, ReservationStatus
from core.clock import Clock
from core.errors import OrderNotFound
from core.models import Order, saved


def unpost(*, session: Session, clock: Clock, order_id: int, reason: str) -> list[LedgerEntry]:
    """Reverse what posting the mark wrote and hold the meal's budget again. A served meal's
    posted shares return to reserved (their funds and caps were never given back); shares the
    unserved rule released are reserved afresh (`service.reserve`). `service.post` then posts
    the order again when it is marked again. The reversal entries."""
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id=order_id)
    now = clock.now()
    reversals = [
        LedgerEntry(
            order_id=saved(order.id),
            elder_id=order.elder_id,
            site_id=order.site_id,
            service_date=order.service_date,
            slot=order.slot,
            share=entry.share,
            funder_id=entry.funder_id,
            rule_id=entry.rule_id,
            amount_fen=-entry.amount_fen,
            kind=EntryKind.reversal,
            reverses_id=entry.id,
            note=reason[:200],
            created_at=now,
        )
        for entry in live_entries(session, order_id)
    ]
    session.add_all(reversals)
    posted = session.exec(
        select(Reservation).where(
            Reservation.order_id == order_id, Reservation.status == ReservationStatus.posted
        )
    ).all()
    for reservation in posted:
        reservation.status = ReservationStatus.reserved
        session.add(reservation)
    session.flush()
    held = session.exec(
        select(Reservation.id).where(
            Reservation.order_id == order_id, Reservation.status == ReservationStatus.reserved
        )
    ).first()
    charge = session.get(Charge, order_id)
    if held is None and charge is not None and charge.elder_fen < charge.price_fen:
        service.reserve(session=session, clock=clock, order_id=order_id)
    return reversals
