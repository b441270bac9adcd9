"""Placing elders: an Amap-compatible geocoder (here a local stand-in over HTTP) places her at
her address, its answers kept in the database; without a geocoder, or when it does not know
the address or cannot be reached, she is placed at her community's centre and marked
approximate, until someone types her location in."""

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import sqlalchemy as sa

from core.geocoding import AmapGeocoder, Locator, geocoder_from
from core.models import GeocodeCache
from core.schemas import ElderCreate, ElderUpdate
from core.settings import Settings
from tests.elder_files import HEADERS_ZH, csv_file, elder_row
from usecases.elder_import import import_elders
from usecases.elders import change_elder, elder_input, elder_record, register_elder

KNOWN = {"越秀区人民路1号": "113.2650,23.1290", "越秀区人民路2号": "113.2660,23.1300"}


class StandIn:
    """Answers as Amap's geocoding API does: status 1 and the address's "lon,lat", or no
    geocodes for an address it does not know; a wrong key is refused (status 0)."""

    def __init__(self) -> None:
        self.asked: list[dict] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                stand_in.asked.append(query)
                if query.get("key") != "test-key":
                    answer = {"status": "0", "info": "INVALID_USER_KEY", "geocodes": []}
                else:
                    found = KNOWN.get(query.get("address", ""))
                    geocodes = [{"location": found, "level": "门牌号"}] if found else []
                    answer = {"status": "1", "count": str(len(geocodes)), "geocodes": geocodes}
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v3/geocode/geo"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in():
    server = StandIn()
    yield server
    server.close()


def locator(url: str, key: str = "test-key") -> Locator:
    settings = Settings(geocoder_url=url, geocoder_key=key, geocoder_timeout_seconds=2)
    return Locator(geocoder_from(settings, httpx.Client()))


def new_elder(community, address: str, **changes) -> ElderCreate:
    values = dict(
        name="陈伯",
        address=address,
        community_id=community.id,
        birth_date=date(1940, 1, 1),
    )
    values.update(changes)
    return ElderCreate(**values)


def test_an_elder_registered_without_a_location_is_placed_at_her_address_asked_once(
    session, clock, make, stand_in
):
    community = make.community(city="广州市")
    places = locator(stand_in.url)
    first = register_elder(
        session=session,
        clock=clock,
        actor="admin",
        elder_in=new_elder(community, "越秀区人民路1号"),
        locator=places,
    )
    assert (first.lat, first.lon, first.location_approximate) == (23.129, 113.265, False)
    assert stand_in.asked[0]["city"] == "广州市"
    second = register_elder(
        session=session,
        clock=clock,
        actor="admin",
        elder_in=new_elder(community, "越秀区人民路1号", name="陈婆"),
        locator=locator(stand_in.url),
    )
    assert (second.lat, second.lon) == (first.lat, first.lon)
    assert len(stand_in.asked) == 1  # the database kept the answer
    cached = session.exec(sa.select(GeocodeCache)).scalars().one()
    assert "人民路" not in cached.query_hash and cached.found


def test_an_address_the_geocoder_does_not_know_is_placed_at_the_community_centre(
    session, clock, make, stand_in
):
    community = make.community(lat=23.1, lon=113.2)
    elder = register_elder(
        session=session,
        clock=clock,
        actor="admin",
        elder_in=new_elder(community, "不存在的路99号"),
        locator=locator(stand_in.url),
    )
    assert (elder.lat, elder.lon, elder.location_approximate) == (23.1, 113.2, True)


def test_a_geocoder_that_refuses_is_not_asked_again_during_an_import_and_nothing_is_cached(
    session, clock, make, stand_in
):
    make.community(name="六榕社区", lat=23.1, lon=113.2)
    rows = [elder_row(n, "六榕社区", 地址=f"越秀区人民路{n}号") for n in (1, 2)]
    result = import_elders(
        session=session,
        clock=clock,
        actor="admin",
        content=csv_file(HEADERS_ZH, rows),
        locator=locator(stand_in.url, key="wrong"),
    )
    assert result.created == 2 and len(stand_in.asked) == 1
    assert session.exec(sa.select(GeocodeCache)).scalars().all() == []


def test_an_import_places_each_elder_at_her_address(session, clock, make, stand_in):
    make.community(name="六榕社区", lat=23.1, lon=113.2)
    rows = [elder_row(n, "六榕社区", 地址=f"越秀区人民路{n}号") for n in (1, 2)]
    import_elders(
        session=session,
        clock=clock,
        actor="admin",
        content=csv_file(HEADERS_ZH, rows),
        locator=locator(stand_in.url),
    )
    from core.models import Elder

    placed = session.exec(sa.select(Elder.lat, Elder.location_approximate).order_by(Elder.id))
    assert [tuple(row) for row in placed] == [(23.129, False), (23.13, False)]


def test_a_location_typed_in_corrects_an_approximate_one(session, clock, make):
    community = make.community()
    elder = register_elder(
        session=session,
        clock=clock,
        actor="admin",
        elder_in=new_elder(community, "某路1号"),
        locator=Locator(None),
    )
    assert elder.location_approximate
    record = elder_input(elder_record(session=session, elder_id=elder.id)).model_dump()
    # Saving the form as it is keeps the mark; typing a location in takes it away.
    change_elder(
        session=session,
        clock=clock,
        actor="admin",
        elder_id=elder.id,
        elder_in=ElderUpdate(**record),
    )
    assert elder.location_approximate
    changed = change_elder(
        session=session,
        clock=clock,
        actor="admin",
        elder_id=elder.id,
        elder_in=ElderUpdate(**{**record, "lat": 23.2, "lon": 113.3}),
    )
    assert "location_approximate" in changed and not elder.location_approximate


def test_an_unreachable_geocoder_places_her_approximately(session, clock, make):
    community = make.community()
    gone = Locator(AmapGeocoder("http://127.0.0.1:9/geo", "k", 0.5, httpx.Client()))
    elder = register_elder(
        session=session,
        clock=clock,
        actor="admin",
        elder_in=new_elder(community, "越秀区人民路1号"),
        locator=gone,
    )
    assert elder.location_approximate


def test_an_import_asks_the_geocoder_at_most_its_budget_and_places_the_rest_approximately(
    session, clock, make, stand_in
):
    make.community(name="六榕社区", lat=23.1, lon=113.2)
    rows = [elder_row(n, "六榕社区", 地址=f"越秀区人民路{n}号") for n in (1, 2)]
    content = csv_file(HEADERS_ZH, rows)
    budget = Locator(locator(stand_in.url).geocoder, lookups=1)
    import_elders(session=session, clock=clock, actor="admin", content=content, locator=budget)
    from core.models import Elder

    placed = session.exec(sa.select(Elder.location_approximate).order_by(Elder.id))
    assert [row for (row,) in placed] == [False, True] and len(stand_in.asked) == 1
    # The same file again, with a geocoder to ask: the one placed approximately is asked about.
    again = import_elders(
        session=session, clock=clock, actor="admin", content=content, locator=locator(stand_in.url)
    )
    assert (again.updated, again.unchanged) == (1, 1) and len(stand_in.asked) == 2
    placed = session.exec(sa.select(Elder.location_approximate).order_by(Elder.id))
    assert [row for (row,) in placed] == [False, False]
