"""Matrices: great-circle estimates, the OSRM table client (against a local stand-in), the cache."""

import json
import math
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from routing import (
    DailyMatrixCache,
    GeoPoint,
    GreatCircleProvider,
    Matrices,
    Mode,
    OsrmTableProvider,
    haversine_m,
)
from routing.distance import UNREACHABLE

KITCHEN = GeoPoint(31.2304, 121.4737)  # People's Square, Shanghai
ELDER = GeoPoint(31.2397, 121.4998)  # Lujiazui, across the river


def test_one_degree_of_latitude_is_about_111_km():
    assert haversine_m(GeoPoint(0, 0), GeoPoint(1, 0)) == pytest.approx(111_195, abs=5)
    assert haversine_m(KITCHEN, KITCHEN) == 0


def test_great_circle_matrices_are_integers_with_detour_and_speed_per_mode():
    provider = GreatCircleProvider(detour=1.3)
    matrices = provider.matrices([KITCHEN, ELDER], [Mode.WALK, Mode.EBIKE, Mode.VAN])
    metres = matrices.distance[0][1]
    assert isinstance(metres, int)
    assert metres == round(haversine_m(KITCHEN, ELDER) * 1.3)
    assert matrices.distance[1][0] == metres
    assert matrices.distance[0][0] == 0
    walk, ebike, van = (matrices.time[m][0][1] for m in (Mode.WALK, Mode.EBIKE, Mode.VAN))
    assert walk > ebike > van > 0
    assert walk == math.ceil(haversine_m(KITCHEN, ELDER) * 1.3 / 1.2)


@pytest.mark.parametrize("detour", [0.5, 0.99])
def test_a_detour_below_one_is_refused(detour):
    with pytest.raises(ValueError, match=r"^detour:"):
        GreatCircleProvider(detour=detour)


class FakeOsrm(BaseHTTPRequestHandler):
    """Answers /table/v1/<profile>/<coords> like OSRM: 1 km and 100 s per coordinate step."""

    requests: ClassVar[list[str]] = []

    def do_GET(self):
        FakeOsrm.requests.append(self.path)
        path, _, query = self.path.partition("?")
        _, _, _, profile, coords = path.split("/", 4)
        n = len(coords.split(";"))
        factor = {"foot": 10, "bike": 3, "car": 1}[profile]
        body = {
            "code": "Ok" if "annotations=distance,duration" in query else "InvalidQuery",
            "distances": [[1000.4 * abs(i - j) for j in range(n)] for i in range(n)],
            "durations": [
                [
                    None if {i, j} == {0, n - 1} and n > 2 else 100.2 * factor * abs(i - j)
                    for j in range(n)
                ]
                for i in range(n)
            ],
        }
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def osrm_url():
    server = HTTPServer(("127.0.0.1", 0), FakeOsrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeOsrm.requests = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_osrm_table_gives_integer_metres_and_seconds_per_mode(osrm_url):
    provider = OsrmTableProvider(osrm_url)
    matrices = provider.matrices([KITCHEN, ELDER], [Mode.EBIKE, Mode.WALK])
    assert matrices.distance == [[0, 1000], [1000, 0]]
    assert matrices.time[Mode.EBIKE] == [[0, 301], [301, 0]]  # rounded up, never optimistic
    assert matrices.time[Mode.WALK] == [[0, 1002], [1002, 0]]
    # OSRM wants lon,lat; one request per profile.
    assert len(FakeOsrm.requests) == 2
    assert "/table/v1/bike/121.473700,31.230400;121.499800,31.239700?" in FakeOsrm.requests[0]


def test_osrm_unreachable_pairs_become_a_large_number(osrm_url):
    matrices = OsrmTableProvider(osrm_url).matrices([KITCHEN, ELDER, KITCHEN], [Mode.VAN])
    assert matrices.time[Mode.VAN][0][2] == UNREACHABLE
    assert matrices.time[Mode.VAN][0][1] == 101


def test_osrm_refuses_plain_coordinates_and_non_http_urls():
    from routing import PlanePoint

    with pytest.raises(ValueError, match=r"^base_url:"):
        OsrmTableProvider("ftp://example")
    with pytest.raises(ValueError, match=r"^locations:"):
        OsrmTableProvider("http://127.0.0.1:9").matrices([PlanePoint(0, 0)], [Mode.VAN])


class CountingProvider:
    def __init__(self):
        self.calls = 0

    def matrices(self, locations, modes):
        self.calls += 1
        n = len(locations)
        zero = [[0] * n for _ in range(n)]
        return Matrices(distance=zero, time={m: zero for m in modes})


def test_daily_cache_reuses_matrices_within_a_day_and_forgets_them_the_next():
    provider = CountingProvider()
    cache = DailyMatrixCache(provider)
    monday, tuesday = date(2026, 11, 23), date(2026, 11, 24)
    first = cache.matrices([KITCHEN, ELDER], [Mode.EBIKE], day=monday)
    again = cache.matrices([KITCHEN, ELDER], [Mode.EBIKE], day=monday)
    assert again is first
    assert provider.calls == 1
    cache.matrices([ELDER, KITCHEN], [Mode.EBIKE], day=monday)
    assert provider.calls == 2
    cache.matrices([KITCHEN, ELDER], [Mode.EBIKE], day=tuesday)
    assert provider.calls == 3
    assert (cache.hits, cache.misses) == (1, 3)
