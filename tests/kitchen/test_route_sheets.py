"""Printed route sheets: stops in order with what the rider needs, Chinese that renders and
extracts, a QR code per stop that decodes to that stop's signed link, whole rows per page."""

import io
import re
from datetime import UTC, date, datetime, timedelta

import pypdf
import pypdfium2
import pytest
import zxingcpp
from sqlmodel import select

from core.clock import FixedClock
from core.models import Elder, ElderCategory, Order
from core.types import Category, OrderStatus, Slot
from kitchen.exports import kitchen_files
from kitchen.route_sheets import SheetRoute, kitchen_route_sheets, route_sheets_pdf, sheet_routes
from routing import links
from routing.records import DeliveryRoute, RouteStop
from routing.service import RouteView, StopView, route_view
from tests.conftest import SHANGHAI
from tests.factories import SETTINGS, kitchen_with_route

PROGRAMME_PHONE = "020-8888 0000"  # the programme's number, as the surfaces pass it

BASE = "https://meals.example.org"


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def flat(text: str) -> str:
    """Text without the line breaks and spaces that wrapping puts in."""
    return re.sub(r"\s+", "", text)


def decoded_qr_codes(pdf: bytes, page: int = 0) -> list[str]:
    """Every QR code on a rendered page, read by a real decoder, top to bottom."""
    document = pypdfium2.PdfDocument(pdf)
    image = document[page].render(scale=300 / 72).to_pil().convert("L")
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [code.text for code in sorted(found, key=lambda code: code.position.top_left.y)]


@pytest.fixture
def route(make, session):
    """A planned route of three stops; the second elder lives alone, is allergic to egg, eats
    minced food on a low-salt diet."""
    route_id, _ = kitchen_with_route(make, elders=3)
    view = route_view(session=session, route_id=route_id)
    second = session.get(Elder, session.get(Order, view.stops[1].order_id).elder_id)
    second.allergies, second.texture, second.diet_needs = ["egg"], "minced", ["low_salt"]
    second.address = "越秀区北京街道大南路惠福西路二巷十七号之三，从后门进，楼梯左转上四楼"
    session.add(second)
    session.add(
        ElderCategory(
            elder_id=second.id, category=Category.living_alone.value, valid_from=date(2020, 1, 1)
        )
    )
    session.flush()
    return route_id


def test_the_sheet_lists_the_stops_in_order_with_chinese_names_addresses_and_warnings(
    route, session
):
    sheet = sheet_routes(
        session=session,
        route_ids=[route],
        base_url=BASE,
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )[0]
    text = flat("".join(pages_text(route_sheets_pdf([sheet], "zh_CN"))))
    stops = sheet.route.stops
    assert len(stops) == 3
    places = [text.index(flat(stop.elder)) for stop in stops]
    assert places == sorted(places), "stops are printed in route order"
    for stop in stops:
        assert flat(stop.address) in text
        assert stop.phone in text
    assert "骑手乙" in text and "白切鸡套餐" in text
    # The second stop's warnings, in Chinese, between its name and the third stop.
    second = text[places[1] : places[2]]
    for warning in ("鸡蛋", "少盐", "碎", "探视"):
        assert warning in second, warning
    assert "送达" in text and "无人应答" in text
    assert "共3站" in text


def test_each_stop_qr_code_decodes_to_its_own_signed_stop_link(route, session):
    sheet = sheet_routes(
        session=session,
        route_ids=[route],
        base_url=BASE,
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )[0]
    codes = decoded_qr_codes(route_sheets_pdf([sheet], "zh_CN"))
    # The route's own code at the top, then one per stop, in stop order.
    stored = session.get(DeliveryRoute, route)
    assert codes == [links.route_url(BASE, stored, links.Channel.sheet)] + [
        links.stop_url(BASE, stored, stop.order_id, links.Channel.sheet)
        for stop in sheet.route.stops
    ]
    clock = FixedClock(datetime(2026, 11, 25, 11, 0, tzinfo=SHANGHAI))
    orders = [stop.order_id for stop in sheet.route.stops]
    for code, stop in zip(codes[1:], sheet.route.stops, strict=True):
        match = re.fullmatch(rf"{BASE}/rider/orders/(\d+)\?key=([\w.-]+)", code)
        assert match and int(match.group(1)) == stop.order_id
        key = match.group(2)
        grant = links.stop_grant(
            session=session,
            clock=clock,
            order_id=stop.order_id,
            key=key,
            link_margin_hours=SETTINGS.link_margin_hours,
        )
        assert grant and grant.kind == "stop" and grant.subject == stop.order_id
        # It opens that one delivery: not another stop, not the route.
        for other in set(orders) - {stop.order_id}:
            assert (
                links.stop_grant(
                    session=session,
                    clock=clock,
                    order_id=other,
                    key=key,
                    link_margin_hours=SETTINGS.link_margin_hours,
                )
                is None
            )
        assert (
            links.route_grant(
                session=session,
                clock=clock,
                route_id=route,
                key=key,
                link_margin_hours=SETTINGS.link_margin_hours,
            )
            is None
        )


def test_the_english_sheet_is_in_english(route, session):
    sheet = sheet_routes(
        session=session,
        route_ids=[route],
        base_url=BASE,
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )[0]
    text = "".join(pages_text(route_sheets_pdf([sheet], "en")))
    assert "Route sheet" in text and "Delivered" in text and "No answer" in text
    assert "Allergic to: egg" in text and "Texture: minced" in text
    assert "Welfare check" in text
    assert "送达" not in text


def synthetic_route(stops: int) -> RouteView:
    start = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    return RouteView(
        id=7,
        number=2,
        rider_id=1,
        rider="骑手丙",
        kitchen="越秀中央厨房",
        kitchen_lat=23.1,
        kitchen_lon=113.2,
        departure_at=start,
        distance_m=18_400,
        stops=tuple(
            StopView(
                position=n,
                order_id=1000 + n,
                eta=start + timedelta(minutes=4 * n),
                elder=f"长者第{n}号",
                # Every third address is long enough to wrap over several lines.
                address=f"人民北路{n}号"
                + ("之二，大院内第三栋二单元六楼东侧，门口有绿色信箱" if n % 3 == 0 else ""),
                lat=23.1,
                lon=113.2,
                phone=f"1390000{n:04d}",
                contact_name="儿子",
                contact_phone=f"1380000{n:04d}",
                dish_zh="清蒸鱼套餐",
                dish_en="Steamed fish set",
                variant="soft",
                portions=1 + n % 2,
                allergies=("peanut",) if n % 5 == 0 else (),
                texture="soft",
                status=OrderStatus.locked,
            )
            for n in range(1, stops + 1)
        ),
        service_date=date(2026, 11, 25),
        slot="lunch",
    )


def test_forty_stops_run_over_pages_without_splitting_a_stop(tmp_path):
    view = synthetic_route(40)
    sheet = SheetRoute(
        view,
        f"{BASE}/rider/routes/{view.id}",
        tuple(f"{BASE}/{1000 + n}" for n in range(1, 41)),
        PROGRAMME_PHONE,
        SHANGHAI,
    )
    pages = [flat(page) for page in pages_text(route_sheets_pdf([sheet], "zh_CN"))]
    assert len(pages) >= 3
    seen = []
    for page in pages:
        for stop in view.stops:
            name = flat(stop.elder) + flat(stop.phone)
            if name in page:
                seen.append(stop.position)
                # The whole row is on this page: its wrapped address and the family's phone.
                assert flat(stop.address) in page, stop.position
                assert stop.contact_phone in page, stop.position
    assert seen == list(range(1, 41)), "every stop once, in order"
    for number, page in enumerate(pages, start=1):
        assert f"第{number}页，共{len(pages)}页" in page, page[-60:]
        assert "送达" in page, "the column headings repeat on every page"


def test_a_route_without_stops_says_so(session, make):
    route_id, _ = kitchen_with_route(make, elders=1)
    for stop in session.exec(select(RouteStop)):
        session.delete(stop)
    session.flush()
    sheet = sheet_routes(
        session=session,
        route_ids=[route_id],
        base_url=BASE,
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )
    text = "".join(pages_text(route_sheets_pdf(sheet, "zh_CN")))
    assert "没有站点" in text
    assert "No stops on this route" in "".join(pages_text(route_sheets_pdf(sheet, "en")))


def test_the_kitchen_files_hold_every_route_sheet_of_the_meal(route, session, tmp_path):
    kitchen_id = session.get(DeliveryRoute, route).kitchen_id
    files = kitchen_files(
        session=session,
        kitchen_id=kitchen_id,
        service_date=date(2026, 11, 25),
        slot=Slot.lunch,
        folder=tmp_path,
        locale="zh_CN",
        base_url=BASE,
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )
    sheets = [f for f in files if f.name.startswith("route-sheets-")]
    assert [f.name for f in sheets] == [f"route-sheets-2026-11-25-lunch-k{kitchen_id}.pdf"]
    assert "骑手乙" in "".join(pages_text(sheets[0].read_bytes()))
    dinner = kitchen_route_sheets(
        session=session,
        kitchen_id=kitchen_id,
        service_date=date(2026, 11, 25),
        slot=Slot.dinner,
        folder=tmp_path,
        locale="en",
        base_url=BASE,
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )
    assert "No routes are planned for this meal." in "".join(pages_text(dinner.read_bytes()))


def test_each_route_starts_a_page_of_its_own_and_counts_its_own_pages():
    long, short = synthetic_route(20), synthetic_route(2)
    short = RouteView(**{**short.__dict__, "id": 8, "number": 3, "rider": "骑手戊"})
    sheets = [
        SheetRoute(
            r,
            f"{BASE}/rider/routes/{r.id}",
            tuple(f"{BASE}/{s.order_id}" for s in r.stops),
            PROGRAMME_PHONE,
            SHANGHAI,
        )
        for r in (long, short)
    ]
    pages = [flat(page) for page in pages_text(route_sheets_pdf(sheets, "zh_CN"))]
    assert len(pages) == 3
    assert "路线2，骑手丙，第1页，共2页" in pages[0] and "第2页，共2页" in pages[1]
    assert "骑手戊" not in pages[0] + pages[1]
    assert pages[2].startswith("路线单：路线3，骑手戊")
    assert "路线3，骑手戊，第1页，共1页" in pages[2]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_sheet_prints_the_number_to_call_when_nobody_answers(route, session, locale):
    """A rider with a paper sheet and nobody at the door calls the family, then the kitchen
    the meal comes from (the one rule, core.sites.phone_to_call: the meal's site, else the
    programme); the sheet must say which number."""
    from core.models import Site

    kitchen = session.get(Site, session.get(DeliveryRoute, route).kitchen_id)
    sheet = sheet_routes(
        session=session,
        route_ids=[route],
        base_url=BASE,
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )[0]
    text = flat("".join(pages_text(route_sheets_pdf([sheet], locale))))
    assert flat(kitchen.phone) in text
    assert ("再拨打" if locale == "zh_CN" else "then") + flat(kitchen.phone) in text
    # A kitchen without a number of its own: the programme's.
    kitchen.phone = ""
    session.add(kitchen)
    session.flush()
    sheet = sheet_routes(
        session=session,
        route_ids=[route],
        base_url=BASE,
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )[0]
    text = flat("".join(pages_text(route_sheets_pdf([sheet], locale))))
    assert flat(PROGRAMME_PHONE) in text
