"""The printed route sheet of one route as a PDF download, reached like the rider's page: the
logged-in rider's own route (the admin any), or any route with its signed link."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.audit_log import record_view
from api.deps import ClockDep, LocaleDep, OptionalStaff, ReadSessionDep
from api.errors import STAFF_RESPONSES
from api.rider import route_actor
from core.types import RowId
from kitchen.route_sheets import route_sheets_pdf, sheet_routes

router = APIRouter(tags=["rider"], responses=STAFF_RESPONSES)


@router.get(
    "/api/v1/routes/{route_id}/sheet.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def route_sheet(
    request: Request,
    route_id: RowId,
    session: ReadSessionDep,
    locale: LocaleDep,
    staff: OptionalStaff,
    clock: ClockDep,
    key: str | None = None,
) -> Response:
    """A route's printable sheet: stops in order, tick boxes, a QR code per stop (A4 PDF)."""
    settings = request.app.state.settings
    actor = route_actor(session, clock, settings, staff, route_id, key)
    routes = sheet_routes(
        session=session,
        route_ids=[route_id],
        base_url=settings.public_base_url,
        programme_phone=settings.programme_phone,
        tz=settings.tz,
    )
    # The sheet names elders with their phones and addresses: who printed it is recorded.
    record_view(request, actor=actor, action="print_route_sheet", subject=f"route:{route_id}")
    return Response(
        route_sheets_pdf(routes, locale),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="route-{route_id}.pdf"'},
    )
