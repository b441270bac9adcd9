"""Reading the append-only ledger: which of an order's entries are still in force."""

from sqlmodel import Session, col, select

from billing.models import EntryKind, LedgerEntry


def live_entries(session: Session, order_id: int) -> list[LedgerEntry]:
    """An order's entries in force: neither a reversal nor reversed by one. Empty for an order
    never posted, or one whose entries were all reversed (a refund, or a mark taken back)."""
    entries = session.exec(
        select(LedgerEntry).where(LedgerEntry.order_id == order_id).order_by(col(LedgerEntry.id))
    ).all()
    reversed_ids = {entry.reverses_id for entry in entries if entry.kind == EntryKind.reversal}
    return [
        entry
        for entry in entries
        if entry.kind != EntryKind.reversal and entry.id not in reversed_ids
    ]
