"""Integer metre/second matrices: great-circle estimates, an OSRM table, a daily cache."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from routing.model import GeoPoint, Location, Matrices, Mode, PlanePoint

EARTH_RADIUS_M = 6_371_008.8
# Streets are not straight lines: a typical urban road network is ~1.3x the crow-flies distance.
DEFAULT_DETOUR = 1.3
# Metres per second, cautious values for riders carrying hot food in a dense city.
DEFAULT_SPEEDS: Mapping[Mode, float] = {
    Mode.WALK: 1.2,
    Mode.EBIKE: 4.0,
    Mode.VAN: 6.5,
}
# A pair the road network cannot connect: large, but small enough that sums stay in int64.
UNREACHABLE = 10**9


def haversine_m(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _straight_line(a: Location, b: Location) -> float:
    if isinstance(a, GeoPoint) and isinstance(b, GeoPoint):
        return haversine_m(a, b)
    if isinstance(a, PlanePoint) and isinstance(b, PlanePoint):
        return math.hypot(a.x - b.x, a.y - b.y)
    raise ValueError("locations: cannot mix GeoPoint and PlanePoint")


class MatrixProvider(Protocol):
    """Anything that turns locations into integer metre/second matrices for the given modes."""

    def matrices(self, locations: Sequence[Location], modes: Iterable[Mode]) -> Matrices: ...


class GreatCircleProvider:
    """Crow-flies distance times a detour factor; time from a fixed speed per mode."""

    def __init__(
        self, detour: float = DEFAULT_DETOUR, speeds: Mapping[Mode, float] = DEFAULT_SPEEDS
    ) -> None:
        if detour < 1.0:
            raise ValueError(f"detour: must be >= 1.0, got {detour}")
        for mode, speed in speeds.items():
            if speed <= 0:
                raise ValueError(f"speeds[{mode}]: must be positive, got {speed}")
        self.detour = detour
        self.speeds = dict(speeds)

    def matrices(self, locations: Sequence[Location], modes: Iterable[Mode]) -> Matrices:
        n = len(locations)
        metres = [[0.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                metres[i][j] = metres[j][i] = (
                    _straight_line(locations[i], locations[j]) * self.detour
                )
        distance = [[round(d) for d in row] for row in metres]
        time: dict[Mode, list[list[int]]] = {}
        for mode in sorted(set(modes)):
            if mode not in self.speeds:
                raise ValueError(f"modes: no speed for {mode}")
            speed = self.speeds[mode]
            # Round up so an ETA is never optimistic.
            time[mode] = [[math.ceil(d / speed) for d in row] for row in metres]
        return Matrices(distance=distance, time=time)


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    body: dict[str, Any]
    try:
        import httpx
    except ImportError:  # urllib keeps the pure package free of hard dependencies
        from urllib.request import urlopen

        with urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read().decode("utf-8"))
            return body
    response = httpx.get(url, timeout=timeout)
    response.raise_for_status()
    body = response.json()
    return body


class OsrmTableProvider:
    """Road distances and durations from an OSRM-compatible `/table/v1` service."""

    def __init__(
        self,
        base_url: str,
        profiles: Mapping[Mode, str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: must be http(s), got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.profiles = dict(profiles or {Mode.WALK: "foot", Mode.EBIKE: "bike", Mode.VAN: "car"})
        self.timeout = timeout

    def _table(self, profile: str, locations: Sequence[Location]) -> dict[str, Any]:
        coords = []
        for location in locations:
            if not isinstance(location, GeoPoint):
                raise ValueError("locations: OSRM needs GeoPoint locations")
            coords.append(f"{location.lon:.6f},{location.lat:.6f}")
        url = f"{self.base_url}/table/v1/{profile}/{';'.join(coords)}?annotations=distance,duration"
        body = _get_json(url, self.timeout)
        if body.get("code") != "Ok":
            raise ValueError(f"osrm: table request failed with code {body.get('code')!r}")
        return body

    def matrices(self, locations: Sequence[Location], modes: Iterable[Mode]) -> Matrices:
        distance: list[list[int]] | None = None
        time: dict[Mode, list[list[int]]] = {}
        for mode in sorted(set(modes)):
            if mode not in self.profiles:
                raise ValueError(f"modes: no OSRM profile for {mode}")
            body = self._table(self.profiles[mode], locations)
            time[mode] = _integers(body["durations"], math.ceil)
            # Distance is the cost; take it from the first profile so every rider pays the same.
            if distance is None:
                distance = _integers(body["distances"], round)
        if distance is None:
            raise ValueError("modes: at least one mode is needed")
        return Matrices(distance=distance, time=time)


def _integers(rows: list[list[float | None]], to_int: Callable[[float], int]) -> list[list[int]]:
    return [[UNREACHABLE if value is None else int(to_int(value)) for value in row] for row in rows]


class DailyMatrixCache:
    """Remembers matrices for the current service day; a new day forgets the old one.

    Locations repeat across the slots of a day (the same elders, the same kitchen), and an
    OSRM call per slot would be wasted; across days, traffic profiles and addresses change.
    """

    def __init__(self, provider: MatrixProvider) -> None:
        self.provider = provider
        self._day: date | None = None
        self._entries: dict[tuple[tuple[Location, ...], tuple[Mode, ...]], Matrices] = {}
        self.hits = 0
        self.misses = 0

    def matrices(
        self, locations: Sequence[Location], modes: Iterable[Mode], *, day: date
    ) -> Matrices:
        if day != self._day:
            self._day = day
            self._entries.clear()
        modes = tuple(sorted(set(modes)))
        key = (tuple(locations), modes)
        cached = self._entries.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        result = self.provider.matrices(locations, modes)
        self._entries[key] = result
        return result
