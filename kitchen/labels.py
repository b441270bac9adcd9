"""Box labels as printable PDF: A4 sheets of 24 labels (70 x 37 mm) and 60 x 40 mm thermal
labels. Each names the elder, where the box goes, the dish and variant, allergens, the day
and meal, and carries a QR code that opens the stop on a rider's phone."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas
from sqlmodel import Session, col, select

from core import i18n
from core.i18n import N_
from core.models import Elder, Order, saved
from core.reports import draw_qr, font
from core.types import Allergen, ServiceMode, Slot
from kitchen.service import LIVE, kitchen_sites, route_stops
from routing import links


@dataclass(frozen=True)
class Label:
    order_id: int
    elder: str
    where: str
    route: str
    dish: str
    variant: str
    allergens: str
    when: str
    portions: int
    url: str


def labels_for(
    *,
    session: Session,
    kitchen_id: int,
    service_date: date,
    slot: Slot,
    locale: str,
    base_url: str,
) -> list[Label]:
    """One label per box (order), in the order boxes are packed: by site, then elder."""
    _, sites = kitchen_sites(session, kitchen_id)
    rows = session.exec(
        select(Order, col(Elder.name), col(Elder.address))
        .join(Elder, col(Elder.id) == col(Order.elder_id))
        .where(
            col(Order.site_id).in_(sites),
            col(Order.service_date) == service_date,
            col(Order.slot) == slot.value,
            col(Order.status).in_(LIVE),
        )
        .order_by(col(Order.site_id), col(Order.mode), col(Elder.name), col(Order.id))
    ).all()
    when = f"{i18n.weekday_and_day(service_date, locale)} {i18n.display(slot, locale)}"
    stops = route_stops(session, [saved(order.id) for order, _, _ in rows])
    urls = links.stop_urls(
        session=session,
        base_url=base_url,
        order_ids=list(stops),
        channel=links.Channel.label,
    )
    # Labels come off the printer in packing order: route by route, last stop first.
    rows = sorted(
        rows,
        key=lambda row: (
            row[0].id not in stops,
            stops.get(saved(row[0].id), (0, 0))[0],
            -stops.get(saved(row[0].id), (0, 0))[1],
        ),
    )
    labels = []
    for order, name, address in rows:
        order_id = saved(order.id)
        delivered = order.mode == ServiceMode.delivery
        dish = order.dish_name_zh if locale == "zh_CN" else order.dish_name_en
        variant = i18n.gettext(VARIANT_NAMES.get(order.variant, order.variant), locale)
        allergens = ", ".join(i18n.display(Allergen(a), locale) for a in order.allergens)
        labels.append(
            Label(
                order_id,
                name,
                address
                if delivered
                else f"{sites[order.site_id].name} {i18n.display(ServiceMode(order.mode), locale)}",
                # Route and stop from the route planner; canteen boxes have none.
                i18n.render(
                    N_("Route {route}, stop {stop}"),
                    locale,
                    dict(zip(("route", "stop"), stops[order_id], strict=True)),
                )
                if order_id in stops
                else "",
                dish,
                variant,
                i18n.render(N_("Contains: {allergens}"), locale, {"allergens": allergens})
                if allergens
                else "",
                when,
                order.quantity,
                # Only a delivered box has a door to open; a canteen box has no code.
                urls.get(order_id, ""),
            )
        )
    return labels


VARIANT_NAMES = {
    "regular": N_("regular"),
    "low_salt": N_("low salt"),
    "low_sugar": N_("low sugar"),
    "soft": N_("soft"),
    "minced": N_("minced"),
    "pureed": N_("pureed"),
}


def _draw(
    pdf: canvas.Canvas, label: Label, x: float, y: float, width: float, height: float, locale: str
) -> None:
    """One label with its bottom-left corner at (x, y)."""
    pad = 2.5 * mm
    qr_size = min(height - 2 * pad, 24 * mm)
    if label.url:
        draw_qr(pdf, label.url, x + width - pad - qr_size, y + pad, qr_size)
    text_width = width - 3 * pad - qr_size
    lines = [
        (label.elder + (f" ×{label.portions}" if label.portions > 1 else ""), 10.5),
        (label.where, 6.5),
        (label.dish, 7.5),
        (label.variant, 8.5),
        (label.allergens, 6.5),
        (f"{label.when} #{label.order_id}", 6),
        (label.route, 7),
    ]
    cursor = y + height - pad
    for text, size in lines:
        if not text:
            continue
        cursor -= size + 1.5
        pdf.setFont(font(), size)
        pdf.drawString(x + pad, cursor, _fit(text, size, text_width))


def _fit(text: str, size: float, width: float) -> str:
    while text and pdfmetrics.stringWidth(text, font(), size) > width:
        text = text[:-2] + "…"
    return text


def sheet_pdf(labels: list[Label], path: Path, locale: str) -> Path:
    """A4 sheets of 3 x 8 labels of 70 x 37 mm."""
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1, initialFontName=font())
    columns, rows, width, height = 3, 8, 70 * mm, 37 * mm
    for index, label in enumerate(labels):
        if index and index % (columns * rows) == 0:
            pdf.showPage()
        place = index % (columns * rows)
        column, row = place % columns, place // columns
        _draw(
            pdf, label, column * width, A4[1] - (row + 1) * height - 0.5 * mm, width, height, locale
        )
    pdf.save()
    return path


def thermal_pdf(labels: list[Label], path: Path, locale: str) -> Path:
    """One 60 x 40 mm label per page, for a thermal label printer."""
    size = (60 * mm, 40 * mm)
    pdf = canvas.Canvas(str(path), pagesize=size, invariant=1, initialFontName=font())
    for index, label in enumerate(labels):
        if index:
            pdf.showPage()
        _draw(pdf, label, 0, 0, size[0], size[1], locale)
    pdf.save()
    return path
