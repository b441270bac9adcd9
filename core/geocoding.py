"""Where an address is: a geocoder behind a small interface (Amap's geocoding API, or any
service answering like it), its answers kept in the database, and the community's centre,
marked approximate, when there is no geocoder or it does not know the address."""

import hashlib
import logging
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import httpx
from sqlmodel import Session

from core.clock import Clock
from core.db import upsert_insert
from core.models import Community, GeocodeCache
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class Placed:
    """Where an elder is put: at her address, or approximately (her community's centre)."""

    lat: float
    lon: float
    approximate: bool


class GeocoderUnavailable(Exception):
    """The geocoder could not be asked (down, slow, refused the key): nothing is cached, so
    the address is asked again next time."""


class Geocoder(Protocol):
    name: str

    def locate(self, address: str, city: str) -> Point | None:
        """The point of an address in a city, None when the geocoder knows no such address;
        GeocoderUnavailable when it cannot be asked."""
        ...


class AmapGeocoder:
    """Amap's web service geocoding (GET ...?key=&address=&city=, answering
    {"status": "1", "geocodes": [{"location": "lon,lat", ...}]}), or a service answering
    like it. Amap answers in GCJ-02, the coordinates Chinese maps (and riders' navigation
    links) use."""

    name = "amap"

    def __init__(self, url: str, key: str | None, timeout: float, client: httpx.Client) -> None:
        self._url, self._key, self._timeout, self._client = url, key, timeout, client

    def locate(self, address: str, city: str) -> Point | None:
        params = {"address": address, "city": city, "output": "JSON"}
        if self._key:
            params["key"] = self._key
        try:
            response = self._client.get(self._url, params=params, timeout=self._timeout)
            response.raise_for_status()
            answer: Any = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise GeocoderUnavailable(str(error)) from error
        if not isinstance(answer, dict) or str(answer.get("status")) != "1":
            raise GeocoderUnavailable(str(answer)[:200] if isinstance(answer, dict) else "?")
        for found in answer.get("geocodes") or []:
            try:
                lon, lat = (float(part) for part in str(found["location"]).split(","))
            except (KeyError, TypeError, ValueError):
                continue
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                return Point(lat, lon)
        return None


@lru_cache(maxsize=1)
def _shared_client() -> httpx.Client:
    # One pool of connections for the process (an httpx.Client is safe across threads), not
    # a client left open per registration.
    return httpx.Client()


def geocoder_from(settings: Settings, client: httpx.Client | None = None) -> Geocoder | None:
    """The geocoder the settings name, or None when none is configured."""
    if not settings.geocoder_url:
        return None
    return AmapGeocoder(
        settings.geocoder_url,
        settings.geocoder_key,
        settings.geocoder_timeout_seconds,
        client or _shared_client(),
    )


def _query_hash(provider: str, address: str, city: str) -> str:
    # Hashed: the cache keeps no address in clear (an address is personal data).
    text = unicodedata.normalize("NFKC", f"{provider}\n{city}\n{address}").strip()
    return hashlib.sha256(text.encode()).hexdigest()


class Locator:
    """Places elders: asks the geocoder once per address (the database keeps the answer,
    found or not), and falls back to the community's centre. After the geocoder failed once
    it is not asked again by this locator (an import of thousands of rows must not wait on
    a service that is down for each of them)."""

    def __init__(self, geocoder: Geocoder | None, lookups: int | None = None) -> None:
        """`lookups`: at most so many questions to the geocoder (answers already kept do not
        count); the elders after that are placed approximately, as without a geocoder."""
        self.geocoder = geocoder
        self._down = False
        self._left = lookups

    def place(
        self, *, session: Session, clock: Clock, address: str, community: Community
    ) -> Placed:
        point = self._point(session, clock, address, community.city)
        if point is None:
            return Placed(community.lat, community.lon, approximate=True)
        return Placed(point.lat, point.lon, approximate=False)

    def _point(self, session: Session, clock: Clock, address: str, city: str) -> Point | None:
        if self.geocoder is None or self._down:
            return None
        key = _query_hash(self.geocoder.name, address, city)
        cached = session.get(GeocodeCache, key)
        if cached is not None:
            if cached.found and cached.lat is not None and cached.lon is not None:
                return Point(cached.lat, cached.lon)
            return None
        if self._left is not None:
            if self._left <= 0:
                return None
            self._left -= 1
        try:
            point = self.geocoder.locate(address, city)
        except GeocoderUnavailable as error:
            log.warning("geocoder unavailable: %s", error)
            self._down = True
            return None
        # Two registrations at one address at once: the first answer stays.
        session.execute(
            upsert_insert(session)(GeocodeCache)
            .values(
                query_hash=key,
                provider=self.geocoder.name,
                found=point is not None,
                lat=point.lat if point else None,
                lon=point.lon if point else None,
                looked_up_at=clock.now(),
            )
            .on_conflict_do_nothing()
        )
        return point


def locator_from(settings: Settings, lookups: int | None = None) -> Locator:
    """The locator the settings give (without a geocoder configured: the community's
    centre for everyone)."""
    return Locator(geocoder_from(settings), lookups)
