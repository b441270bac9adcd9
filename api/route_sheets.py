"""The printed route sheet of one route as a PDF download, reached like the rider's page: by
a signed route link (until staff roles cover it)."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from api.deps import LocaleDep, ReadSessionDep
from core.signing import verify
from kitchen.route_sheets import route_sheets_pdf, sheet_routes

router = APIRouter(tags=["rider"])


@router.get(
    "/api/v1/routes/{route_id}/sheet.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def route_sheet(
    request: Request,
    route_id: int,
    session: ReadSessionDep,
    locale: LocaleDep,
    key: str | None = None,
) -> Response:
    """A route's printable sheet: stops in order, tick boxes, a QR code per stop (A4 PDF)."""
    if not verify("route", route_id, key):
        raise HTTPException(status_code=403)
    routes = sheet_routes(
        session=session,
        route_ids=[route_id],
        base_url=request.app.state.settings.public_base_url,
    )
    return Response(
        route_sheets_pdf(routes, locale),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="route-{route_id}.pdf"'},
    )
