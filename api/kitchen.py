"""Kitchen pages and API: the production list for a kitchen, day and meal (large type for a
kitchen wall, print-friendly), the special-diet and purchase lists, and CSV downloads."""

import shutil
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel
from sqlmodel import Session
from starlette.background import BackgroundTask

from api.accounts.access import Staff, may_see_kitchen
from api.accounts.errors import AccessDenied
from api.audit_log import record_view
from api.deps import ClockDep, KitchenStaff, LocaleDep, ReadSessionDep, SessionDep
from api.errors import STAFF_RESPONSES
from api.templating import page
from core.clock import today
from core.types import RowId, ServiceMode, Slot
from kitchen.exports import kitchen_files
from kitchen.service import (
    kitchen_slots,
    packing_lists,
    production_list,
    purchase_list,
    special_diets,
)
from routing.records import DeliveryRoute
from routing.service import RouteNotFound
from usecases.routing import SolveParams, replan_after_dropout

router = APIRouter(tags=["kitchen"], responses=STAFF_RESPONSES)
# How long re-planning after a rider drops out searches: the kitchen staff wait for it.
REPLAN_SECONDS = 5.0


def _own_kitchen(staff: Staff, kitchen_id: RowId) -> None:
    if not may_see_kitchen(staff, kitchen_id):
        raise AccessDenied()


class ProductionLinePublic(BaseModel):
    dish_id: RowId
    dish_zh: str
    dish_en: str
    variant: str
    texture: str
    site_id: RowId
    site: str
    mode: ServiceMode
    route: int | None
    portions: int
    forecast: int


class SpecialPortionPublic(BaseModel):
    order_id: RowId
    elder: str
    dish_zh: str
    variant: str
    diet_tags: list[str]
    allergies: list[str]
    destination: str
    portions: int


class PurchaseLinePublic(BaseModel):
    ingredient_zh: str
    ingredient_en: str
    amount: str


class DishTotalPublic(BaseModel):
    dish_id: RowId
    dish_zh: str
    dish_en: str
    variant: str
    portions: int
    forecast: int


class BoxPublic(BaseModel):
    stop: int
    elder: str
    dish_zh: str
    dish_en: str
    variant: str
    portions: int
    warnings: list[str]


class PackingPublic(BaseModel):
    route: int | None
    rider: str
    boxes: list[BoxPublic]


class ProductionPublic(BaseModel):
    kitchen_id: RowId
    kitchen: str
    service_date: date
    slot: Slot
    final: bool
    portions: int
    forecast: int
    totals: list[DishTotalPublic]
    lines: list[ProductionLinePublic]
    special: list[SpecialPortionPublic]
    purchase: list[PurchaseLinePublic]
    packing: list[PackingPublic]


def _production(
    session: Session, kitchen_id: RowId, service_date: date, slot: Slot, locale: str
) -> ProductionPublic:
    production = production_list(
        session=session, kitchen_id=kitchen_id, service_date=service_date, slot=slot
    )
    return ProductionPublic(
        kitchen_id=kitchen_id,
        kitchen=production.kitchen,
        totals=[
            DishTotalPublic(
                dish_id=total.dish_id,
                dish_zh=total.dish.zh,
                dish_en=total.dish.en,
                variant=total.variant,
                portions=total.portions,
                forecast=total.forecast,
            )
            for total in production.totals()
        ],
        service_date=service_date,
        slot=slot,
        final=production.final,
        portions=production.portions,
        forecast=production.forecast,
        lines=[
            ProductionLinePublic(
                dish_id=line.dish_id,
                dish_zh=line.dish.zh,
                dish_en=line.dish.en,
                variant=line.variant,
                texture=line.texture,
                site_id=line.destination.site_id,
                site=line.destination.site,
                mode=line.destination.mode,
                route=line.destination.route,
                portions=line.portions,
                forecast=line.forecast,
            )
            for line in production.lines
        ],
        # Diet codes and allergies, never phone numbers or addresses.
        special=[
            SpecialPortionPublic(
                order_id=p.order_id,
                elder=p.elder,
                dish_zh=p.dish.zh,
                variant=p.variant,
                diet_tags=list(p.diet_tags),
                allergies=list(p.allergies),
                destination=p.destination,
                portions=p.portions,
            )
            for p in special_diets(
                session=session, kitchen_id=kitchen_id, service_date=service_date, slot=slot
            )
        ],
        purchase=[
            PurchaseLinePublic(
                ingredient_zh=line.ingredient.zh,
                ingredient_en=line.ingredient.en,
                amount=line.amount(locale),
            )
            for line in purchase_list(production, session=session)
        ],
        packing=[
            PackingPublic(
                route=packing.route,
                rider=packing.rider,
                boxes=[
                    BoxPublic(
                        stop=box.stop,
                        elder=box.elder,
                        dish_zh=box.dish.zh,
                        dish_en=box.dish.en,
                        variant=box.variant,
                        portions=box.portions,
                        warnings=list(box.warnings),
                    )
                    for box in packing.boxes
                ],
            )
            for packing in packing_lists(
                session=session, kitchen_id=kitchen_id, service_date=service_date, slot=slot
            )
        ],
    )


@router.get("/api/v1/kitchens/{kitchen_id}/production", response_model=ProductionPublic)
def production_json(
    request: Request,
    kitchen_id: RowId,
    staff: KitchenStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    service_date: date | None = Query(None, alias="date"),
    slot: Slot = Slot.lunch,
) -> ProductionPublic:
    """What a kitchen cooks for a day and meal; before cutoff, marked not final. Special diets
    and packing lists name elders (never their phone numbers or addresses)."""
    _own_kitchen(staff, kitchen_id)
    production = _production(session, kitchen_id, service_date or today(clock), slot, locale)
    _record(request, staff, production)
    return production


def _record(request: Request, staff: Staff, production: ProductionPublic) -> None:
    """Elders' names with their diets and allergies are personal data: note who saw them."""
    if production.special or production.packing:
        record_view(
            request,
            actor=staff.actor,
            action="view_kitchen_lists",
            subject=f"kitchen:{production.kitchen_id}",
            detail=f"{production.service_date.isoformat()} {production.slot.value}",
        )


KitchenFile = Literal[
    "production.csv",
    "production.pdf",
    "special-diets.csv",
    "special-diets.pdf",
    "purchase.csv",
    "purchase.pdf",
    "packing.csv",
    "packing.pdf",
    "labels-a4.pdf",
    "labels-thermal.pdf",
]


@router.get("/api/v1/kitchens/{kitchen_id}/files/{name}", response_class=FileResponse)
def kitchen_file(
    request: Request,
    kitchen_id: RowId,
    name: KitchenFile,
    staff: KitchenStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    service_date: date | None = Query(None, alias="date"),
    slot: Slot = Slot.lunch,
) -> FileResponse:
    """The kitchen's lists (CSV, PDF), packing lists in reverse stop order and box labels."""
    _own_kitchen(staff, kitchen_id)
    day = service_date or today(clock)
    folder = Path(tempfile.mkdtemp(prefix="mealaid-kitchen-"))
    settings = request.app.state.settings
    files = kitchen_files(
        session=session,
        kitchen_id=kitchen_id,
        service_date=day,
        slot=slot,
        folder=folder,
        locale=locale,
        base_url=settings.public_base_url,
        programme_phone=settings.programme_phone,
        tz=settings.tz,
    )
    stem, suffix = name.rsplit(".", 1)
    path = next(f for f in files if f.name.startswith(stem + "-") and f.suffix == "." + suffix)
    record_view(
        request,
        actor=staff.actor,
        action="download_kitchen_file",
        subject=f"kitchen:{kitchen_id}",
        detail=f"{day.isoformat()} {slot.value} {name}",
    )
    return FileResponse(
        path,
        filename=path.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.get(
    "/kitchens/{kitchen_id}/production", response_class=HTMLResponse, include_in_schema=False
)
def production_page(
    request: Request,
    kitchen_id: RowId,
    staff: KitchenStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    service_date: date | None = Query(None, alias="date"),
    slot: Slot = Slot.lunch,
) -> HTMLResponse:
    _own_kitchen(staff, kitchen_id)
    day = service_date or today(clock)
    production = _production(session, kitchen_id, day, slot, locale)
    _record(request, staff, production)
    # The switcher offers the kitchen's own meals, and the one asked for even if it has none.
    slots = kitchen_slots(session, kitchen_id)
    return page(
        request,
        "production.html",
        {
            "production": production,
            "slots": slots if slot in slots else sorted([*slots, slot], key=list(Slot).index),
            "days": (day - timedelta(days=1), day + timedelta(days=1)),
        },
    )


class ReplanPublic(BaseModel):
    kitchen_id: RowId
    service_date: date
    slot: str
    stops: int
    riders: int
    distance_m: int
    latest_arrival: datetime | None
    unassigned: dict[str, int]


@router.post("/api/v1/routes/{route_id}/dropout", response_model=ReplanPublic)
def rider_dropped_out(
    route_id: RowId, staff: KitchenStaff, session: SessionDep, clock: ClockDep
) -> ReplanPublic:
    """The route's rider cannot go on: the doors not yet reached go, with fresh boxes, to the
    riders still at the kitchen (riders on the road keep their routes; served doors stay).
    Reprint the packing lists and route sheets afterwards."""
    route = session.get(DeliveryRoute, route_id)
    if route is None:
        raise RouteNotFound(route_id=route_id)
    _own_kitchen(staff, route.kitchen_id)
    summary = replan_after_dropout(
        session=session,
        clock=clock,
        route_id=route_id,
        actor=staff.actor,
        # Apart: a search in this process would hold every other request for its whole time.
        params=SolveParams(time_limit=REPLAN_SECONDS, apart=True),
    )
    return ReplanPublic(
        kitchen_id=summary.kitchen_id,
        service_date=summary.service_date,
        slot=summary.slot.value,
        stops=summary.stops,
        riders=summary.riders,
        distance_m=summary.distance_m,
        latest_arrival=summary.latest_arrival,
        unassigned=summary.unassigned,
    )
