"""Meal cards for the staff who look after the elder (the admin, her community's workers): an
elder's card and a community's A4 sheets as PDF, and a reissue when a card is lost (the old
card stops working at once); the page's form and its JSON twin. Each print and each reissue is
in the audit log."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from api.accounts.access import Staff, may_see_elder
from api.audit_log import record_view
from api.deps import ClockDep, LocaleDep, ReadSessionDep, RegistryStaff, SessionDep
from api.elders import elder_for
from api.errors import STAFF_RESPONSES
from core.clock import Clock
from core.errors import CommunityNotFound
from core.sites import list_communities
from core.types import RowId
from usecases import meal_cards

router = APIRouter(tags=["meal cards"], responses=STAFF_RESPONSES)

PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}


class CardReissuedPublic(BaseModel):
    elder_id: RowId
    card_number: int  # the card now in use; every earlier one is refused at the counter


def _pdf(
    request: Request, cards: list[meal_cards.MealCard], locale: str, filename: str
) -> Response:
    phone = request.app.state.settings.programme_phone
    return Response(
        meal_cards.cards_pdf(cards, locale, phone=phone),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/api/v1/elders/{elder_id}/meal-card.pdf", response_class=Response, responses=PDF)
def elder_card(
    request: Request,
    elder_id: RowId,
    staff: RegistryStaff,
    session: ReadSessionDep,
    locale: LocaleDep,
) -> Response:
    """The elder's meal card now in use, on an A4 page with cut lines."""
    elder_for(session, staff, elder_id)
    cards = meal_cards.cards_for(session=session, elder_ids=[elder_id])
    record_view(
        request,
        actor=staff.actor,
        action="print_meal_cards",
        subject=f"elder:{elder_id}",
        detail=f"card:{cards[0].card_number}",
    )
    return _pdf(request, cards, locale, f"meal-card-{elder_id}.pdf")


@router.get(
    "/api/v1/communities/{community_id}/meal-cards.pdf", response_class=Response, responses=PDF
)
def community_cards(
    request: Request,
    community_id: RowId,
    staff: RegistryStaff,
    session: ReadSessionDep,
    locale: LocaleDep,
) -> Response:
    """The meal cards of a community's registered elders, ten to an A4 page, by name."""
    # Another community's is answered as one that does not exist, like its elders.
    if not may_see_elder(staff, community_id) or not list_communities(
        session=session, ids=[community_id]
    ):
        raise CommunityNotFound(community_id=community_id)
    cards = meal_cards.cards_for(session=session, community_id=community_id)
    record_view(
        request,
        actor=staff.actor,
        action="print_meal_cards",
        subject=f"community:{community_id}",
        detail=" ".join(f"elder:{c.elder_id}" for c in cards),
    )
    return _pdf(request, cards, locale, f"meal-cards-community-{community_id}.pdf")


def _reissue(session: Session, clock: Clock, staff: Staff, elder_id: int) -> int:
    elder_for(session, staff, elder_id)
    return meal_cards.reissue_card(
        session=session, clock=clock, actor=staff.actor, elder_id=elder_id
    )


@router.post("/api/v1/elders/{elder_id}/meal-card/reissue", response_model=CardReissuedPublic)
def reissue_json(
    elder_id: RowId, staff: RegistryStaff, session: SessionDep, clock: ClockDep
) -> CardReissuedPublic:
    """A new card for an elder who lost hers: the old card stops working at the counter at
    once. Print the new one from `meal-card.pdf`."""
    number = _reissue(session, clock, staff, elder_id)
    return CardReissuedPublic(elder_id=elder_id, card_number=number)


@router.post("/elders/{elder_id}/meal-card/reissue", include_in_schema=False)
def reissue_page(
    elder_id: RowId, staff: RegistryStaff, session: SessionDep, clock: ClockDep
) -> RedirectResponse:
    _reissue(session, clock, staff, elder_id)
    return RedirectResponse(f"/elders/{elder_id}?done=card-reissued#meal-card", status_code=303)
