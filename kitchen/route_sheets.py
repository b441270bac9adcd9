"""Printed route sheets (A4 PDF) for riders without a smartphone or with a flat battery: per
route, the stops in order with ETA, elder, address, phone, meal and warnings, tick boxes for
delivered / no answer, and a QR code per stop that opens that stop on the rider's page."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from sqlmodel import Session

from core import i18n
from core.i18n import N_
from core.reports import draw_qr, font
from core.sites import phone_to_call
from core.types import Slot, code_name
from kitchen.labels import VARIANT_NAMES
from kitchen.service import kitchen_sites
from routing import links
from routing.records import DeliveryRoute
from routing.service import RouteView, StopView, route_view, routes_of

MARGIN = 10 * mm
QR_SIZE = 17 * mm
# Column widths (mm) of: stop, ETA, elder and phones, address, meal, warnings, the two tick
# boxes and the QR code; they add up to the A4 width inside the margins (190 mm).
COLUMNS = [7, 11, 32, 39, 27, 26, 14, 14, 20]
DELIVERED, NO_ANSWER = N_("Delivered"), N_("No answer")
NO_STOPS = N_("No stops on this route: nothing to deliver.")
NO_ROUTES = N_("No routes are planned for this meal.")


@dataclass(frozen=True)
class SheetRoute:
    """One route as the sheet shows it, with the links its QR codes carry."""

    route: RouteView
    route_url: str
    stop_urls: tuple[str, ...]
    phone: str  # to call when nobody answers: the kitchen's, else the programme's
    tz: ZoneInfo  # the programme's: times as the rider reads them


def sheet_routes(
    *,
    session: Session,
    route_ids: Sequence[int],
    base_url: str,
    programme_phone: str,
    tz: ZoneInfo,
) -> list[SheetRoute]:
    routes = []
    for route_id in route_ids:
        view = route_view(session=session, route_id=route_id)
        route = session.get_one(DeliveryRoute, route_id)
        routes.append(
            SheetRoute(
                view,
                links.route_url(base_url, route, links.Channel.sheet),
                tuple(
                    links.stop_url(base_url, route, stop.order_id, links.Channel.sheet)
                    for stop in view.stops
                ),
                # The rule for every number we give: the meal's site (the kitchen the route
                # leaves from), else the programme's.
                phone_to_call(programme_phone=programme_phone, site_phone=view.kitchen_phone),
                tz,
            )
        )
    return routes


def kitchen_route_sheets(
    *,
    session: Session,
    kitchen_id: int,
    service_date: date,
    slot: Slot,
    folder: Path,
    locale: str,
    base_url: str,
    programme_phone: str,
    tz: ZoneInfo,
) -> Path:
    """One PDF with every route of a kitchen's meal, each route on pages of its own, written
    into `folder` beside the kitchen's other files."""
    kitchen, _ = kitchen_sites(session, kitchen_id)
    routes = sheet_routes(
        session=session,
        route_ids=routes_of(
            session=session, kitchen_id=kitchen_id, service_date=service_date, slot=slot.value
        ),
        base_url=base_url,
        programme_phone=programme_phone,
        tz=tz,
    )
    empty = i18n.render(
        N_("Route sheets: {kitchen}, {when}"),
        locale,
        {"kitchen": kitchen.name, "when": _when(service_date, slot.value, locale)},
    )
    path = folder / f"route-sheets-{service_date.isoformat()}-{slot.value}-k{kitchen_id}.pdf"
    path.write_bytes(route_sheets_pdf(routes, locale, title_if_empty=empty))
    return path


def route_sheets_pdf(
    routes: Sequence[SheetRoute], locale: str, title_if_empty: str | None = None
) -> bytes:
    """The sheets as PDF bytes. Pages are numbered within each route ("page 2 of 3")."""
    # Two passes: the first counts each route's pages for the footers of the second.
    _, pages = _render(routes, locale, title_if_empty, None)
    return _render(routes, locale, title_if_empty, pages)[0]


class _RouteStart(Flowable):  # type: ignore[misc]  # reportlab has no type hints
    """An invisible marker: from here on, pages belong to route `index`."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.width = self.height = 0

    def draw(self) -> None:
        pass


class _TickBox(Flowable):  # type: ignore[misc]  # reportlab has no type hints
    """An empty square to tick with a pen."""

    def __init__(self, size: float = 6 * mm) -> None:
        super().__init__()
        self.width = self.height = size

    def draw(self) -> None:
        self.canv.setLineWidth(0.9)
        self.canv.rect(0, 0, self.width, self.height, stroke=1, fill=0)


class _QR(Flowable):  # type: ignore[misc]  # reportlab has no type hints
    def __init__(self, url: str, size: float) -> None:
        super().__init__()
        self.url = url
        self.width = self.height = size

    def draw(self) -> None:
        draw_qr(self.canv, self.url, 0, 0, self.width)


class _Sheets(BaseDocTemplate):  # type: ignore[misc]  # reportlab has no type hints
    """A4 pages with a footer naming the route and the page within the route."""

    def __init__(
        self,
        target: BytesIO,
        routes: Sequence[SheetRoute],
        locale: str,
        page_totals: dict[int, int] | None,
    ) -> None:
        super().__init__(
            target,
            pagesize=A4,
            invariant=1,  # no creation time or random id: the same route gives the same file
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN + 5 * mm,
            title=i18n.gettext(N_("Route sheet"), locale),
            initialFontName=font(),  # not Helvetica, which every page would name without using
        )
        self.routes, self.locale, self.page_totals = routes, locale, page_totals
        self.current, self.page_in_route = -1, 1
        self.pages_per_route: dict[int, int] = {}
        frame = Frame(
            self.leftMargin, self.bottomMargin, self.width, self.height, 0, 0, 0, 0, id="body"
        )
        self.addPageTemplates([PageTemplate("sheet", [frame])])

    def afterFlowable(self, flowable: object) -> None:
        if isinstance(flowable, _RouteStart):
            self.current, self.page_in_route = flowable.index, 1

    def handle_pageEnd(self) -> None:
        if self.current >= 0:
            self.pages_per_route[self.current] = self.page_in_route
            self._footer()
            self.page_in_route += 1
        super().handle_pageEnd()

    def _footer(self) -> None:
        route = self.routes[self.current].route
        total = (self.page_totals or {}).get(self.current)
        text = i18n.render(
            N_("Route {number}, {rider}, page {page} of {pages}"),
            self.locale,
            {
                "number": route.number,
                "rider": route.rider,
                "page": self.page_in_route,
                "pages": total or "?",
            },
        )
        canvas = self.canv
        canvas.saveState()
        canvas.setFont(font(), 8)
        canvas.setFillColor(colors.HexColor("#5f6b73"))
        canvas.drawString(MARGIN, MARGIN, text)
        canvas.restoreState()


def _render(
    routes: Sequence[SheetRoute],
    locale: str,
    title_if_empty: str | None,
    page_totals: dict[int, int] | None,
) -> tuple[bytes, dict[int, int]]:
    buffer = BytesIO()
    doc = _Sheets(buffer, routes, locale, page_totals)
    styles = _styles()
    story: list[Flowable] = []
    if not routes:
        story += [
            Paragraph(
                escape(title_if_empty or i18n.gettext(N_("Route sheet"), locale)), styles.title
            ),
            Paragraph(escape(i18n.gettext(NO_ROUTES, locale)), styles.body),
        ]
    for index, sheet in enumerate(routes):
        if index:
            story.append(PageBreak())
        story.append(_RouteStart(index))
        story += _route_story(sheet, locale, styles)
    doc.build(story)
    return buffer.getvalue(), doc.pages_per_route


@dataclass(frozen=True)
class _StyleSet:
    title: ParagraphStyle
    body: ParagraphStyle
    cell: ParagraphStyle
    small: ParagraphStyle
    bold: ParagraphStyle
    warning: ParagraphStyle
    head: ParagraphStyle


def _styles() -> _StyleSet:
    cell = ParagraphStyle("cell", fontName=font(), fontSize=8.5, leading=10.5)
    return _StyleSet(
        title=ParagraphStyle("title", fontName=font(), fontSize=15, leading=19, spaceAfter=3),
        body=ParagraphStyle("body", fontName=font(), fontSize=9.5, leading=13),
        cell=cell,
        small=ParagraphStyle("small", parent=cell, fontSize=7.5, leading=9.5),
        bold=ParagraphStyle("bold", parent=cell, fontSize=10, leading=12.5),
        warning=ParagraphStyle(
            "warning", parent=cell, textColor=colors.HexColor("#9b2c1a"), fontSize=8.5
        ),
        head=ParagraphStyle("head", parent=cell, fontSize=7.5, leading=9, alignment=1),
    )


def _when(service_date: date | None, slot: str, locale: str) -> str:
    day = i18n.weekday_and_day(service_date, locale) if service_date else ""
    meal = i18n.display(Slot(slot), locale) if slot in {s.value for s in Slot} else slot
    return f"{day} {meal}".strip()


def _route_story(sheet: SheetRoute, locale: str, styles: _StyleSet) -> list[Flowable]:
    route = sheet.route

    def t(message: str) -> str:
        return i18n.gettext(message, locale)

    def p(text: str, style: ParagraphStyle = styles.cell) -> Paragraph:
        return Paragraph(escape(text), style)

    title = i18n.render(
        N_("Route sheet: route {number}, {rider}"),
        locale,
        {"number": route.number, "rider": route.rider},
    )
    facts = [
        i18n.render(
            N_("{kitchen}, {when}, leaving at {departure}"),
            locale,
            {
                "kitchen": route.kitchen,
                "when": _when(route.service_date, route.slot, locale),
                "departure": i18n.clock_time(route.departure_at.astimezone(sheet.tz), locale),
            },
        ),
        i18n.render(
            N_("{stops} stops, {boxes} boxes, {km} km."),
            locale,
            {
                "stops": len(route.stops),
                "boxes": route.portions,
                "km": f"{route.distance_m / 1000:.1f}",
            },
        ),
        i18n.render(
            N_(
                "Tick one box at each door. No answer: call the family contact, then {phone}. "
                "Scan a stop's code to open it on a phone."
            ),
            locale,
            {"phone": sheet.phone},
        ),
    ]
    heading = Table(
        [
            [
                [Paragraph(escape(title), styles.title)] + [p(fact, styles.body) for fact in facts],
                _QR(sheet.route_url, 20 * mm),
            ]
        ],
        colWidths=[sum(COLUMNS) * mm - 24 * mm, 24 * mm],
    )
    heading.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font()),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story: list[Flowable] = [heading, Spacer(1, 3 * mm)]
    if not route.stops:
        story.append(p(t(NO_STOPS), styles.body))
        return story
    header = [
        p("#", styles.head),
        p(t(N_("ETA")), styles.head),
        p(t(N_("Elder")), styles.head),
        p(t(N_("Address")), styles.head),
        p(t(N_("Meal")), styles.head),
        p(t(N_("Warnings")), styles.head),
        p(t(DELIVERED), styles.head),
        p(t(NO_ANSWER), styles.head),
        p(t(N_("Open on a phone")), styles.head),
    ]
    rows = [header]
    for stop, url in zip(route.stops, sheet.stop_urls, strict=True):
        who = [p(stop.elder, styles.bold)]
        if stop.phone:
            who.append(p(stop.phone))
        if stop.contact_phone:
            who.append(
                p(
                    i18n.render(
                        N_("Family: {name} {phone}"),
                        locale,
                        {"name": stop.contact_name or "", "phone": stop.contact_phone},
                    ),
                    styles.small,
                )
            )
        dish = stop.dish_zh if locale == "zh_CN" else stop.dish_en
        meal = [p(dish + (f" ×{stop.portions}" if stop.portions > 1 else ""))]
        meal.append(p(i18n.gettext(VARIANT_NAMES.get(stop.variant, stop.variant), locale)))
        rows.append(
            [
                p(str(stop.position), styles.bold),
                p(i18n.clock_time(stop.eta.astimezone(sheet.tz), locale), styles.bold),
                who,
                p(stop.address),
                meal,
                [p(line, styles.warning) for line in _warnings(stop, locale)],
                _TickBox(),
                _TickBox(),
                _QR(url, QR_SIZE),
            ]
        )
    table = Table(rows, colWidths=[w * mm for w in COLUMNS], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font()),  # a table sets its cells' font, text or not
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
                ("ALIGN", (6, 1), (7, -1), "CENTER"),
                ("VALIGN", (6, 1), (-1, -1), "MIDDLE"),
                ("ALIGN", (-1, 1), (-1, -1), "CENTER"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecef")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5ad")),
                ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
                ("TOPPADDING", (0, 1), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 1), (-1, -1), 3),
            ]
        )
    )
    story.append(table)
    return story


def _warnings(stop: StopView, locale: str) -> list[str]:
    """What the rider must not get wrong at this door, in the reader's language."""
    lines = []
    if stop.location_approximate:
        lines.append(
            i18n.gettext(N_("Location approximate: go by the address, not the map"), locale)
        )
    if stop.welfare_check:
        lines.append(i18n.gettext(N_("Welfare check: see that they are well"), locale))
    if stop.allergies:
        lines.append(
            i18n.render(
                N_("Allergic to: {allergens}"),
                locale,
                {"allergens": ", ".join(code_name(a, locale) for a in stop.allergies)},
            )
        )
    if stop.special_texture:
        lines.append(
            i18n.render(
                N_("Texture: {texture}"),
                locale,
                {"texture": code_name(stop.special_texture, locale)},
            )
        )
    if stop.diet_needs:
        lines.append(
            i18n.render(
                N_("Diet: {diet}"),
                locale,
                {"diet": ", ".join(code_name(d, locale) for d in stop.diet_needs)},
            )
        )
    return lines
