"""Meal cards as staff print and reissue them: a reissue and its audit entry together, whether
it comes from the elder's page or the JSON API. Who may (the admin, the elder's community
workers) is the surface's rule; printing is recorded by the surface as a view of the names it
prints. The surfaces reach core.meal_cards only through this module (an import contract)."""

from sqlmodel import Session

from core import audit, meal_cards
from core.clock import Clock
from core.meal_cards import (
    CardReplaced,
    CardUnknown,
    CardUnreadable,
    MealCard,
    SeveralCards,
    cards_for,
    cards_pdf,
    code_in_image,
)

__all__ = [
    "CardReplaced",
    "CardUnknown",
    "CardUnreadable",
    "MealCard",
    "SeveralCards",
    "cards_for",
    "cards_pdf",
    "code_in_image",
    "reissue_card",
]


def reissue_card(*, session: Session, clock: Clock, actor: str, elder_id: int) -> int:
    """The elder lost her card: the next card number, whose card is the only one that works
    from now on. Its number is logged, never its code."""
    number = meal_cards.reissue(session=session, elder_id=elder_id)
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="reissue_meal_card",
        subject=f"elder:{elder_id}",
        detail=f"card:{number}",
    )
    return number
