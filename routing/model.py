"""The routing problem and plan as plain data, validated on construction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

# Hot food must reach the elder within this many seconds of leaving the kitchen.
DEFAULT_MAX_RIDE_SECONDS = 45 * 60


class Mode(StrEnum):
    """How a rider travels; each mode has its own speed and so its own time matrix."""

    WALK = "walk"
    EBIKE = "ebike"
    VAN = "van"


class Reason(StrEnum):
    """Why a stop is left out of the plan (codes, not sentences: surfaces translate them)."""

    NO_RIDER = "no_rider"
    CAPACITY = "capacity"
    TIME_WINDOW = "time_window"
    RIDE_TIME = "ride_time"
    FLEET = "fleet"


def _require(condition: bool, name: str, message: str) -> None:
    if not condition:
        raise ValueError(f"{name}: {message}")


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A place on Earth in degrees."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        _require(-90.0 <= self.lat <= 90.0, "lat", f"must be within [-90, 90], got {self.lat}")
        _require(-180.0 <= self.lon <= 180.0, "lon", f"must be within [-180, 180], got {self.lon}")


@dataclass(frozen=True, slots=True)
class PlanePoint:
    """A point in the plane, as in benchmark instances (Euclidean distances)."""

    x: float
    y: float


Location = GeoPoint | PlanePoint


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Seconds since midnight (or instance time units) within which service may start."""

    start: int
    end: int

    def __post_init__(self) -> None:
        _require(isinstance(self.start, int), "window.start", "must be an integer")
        _require(isinstance(self.end, int), "window.end", "must be an integer")
        _require(self.start >= 0, "window.start", f"must be >= 0, got {self.start}")
        _require(self.end >= self.start, "window.end", f"must be >= start, got {self.end}")


@dataclass(frozen=True, slots=True)
class Stop:
    """An elder's door: how many meal boxes, when, and how important."""

    id: str
    location: Location
    demand: int = 1
    window: TimeWindow | None = None
    service: int = 0
    # Higher priority is kept first when not every stop fits (0 = normal).
    priority: int = 0
    # Pinned to one rider, e.g. when the meal is already on that rider's bike during re-planning.
    rider_id: str | None = None

    def __post_init__(self) -> None:
        _require(bool(self.id), "id", "must be a non-empty string")
        _require(isinstance(self.demand, int) and self.demand >= 0, "demand", "must be an int >= 0")
        _require(isinstance(self.service, int) and self.service >= 0, "service", "must be >= 0")
        _require(isinstance(self.priority, int) and self.priority >= 0, "priority", "must be >= 0")


@dataclass(frozen=True, slots=True)
class Depot:
    """A kitchen (or any place a rider starts or ends)."""

    id: str
    location: Location

    def __post_init__(self) -> None:
        _require(bool(self.id), "id", "must be a non-empty string")


@dataclass(frozen=True, slots=True)
class Rider:
    """A vehicle: capacity in meal boxes, a shift, a mode, and where it starts and ends."""

    id: str
    capacity: int
    shift_start: int
    shift_end: int
    start: str
    end: str | None = None
    mode: Mode = Mode.EBIKE
    # Set when the rider already left the kitchen with food on board (re-planning): ride time of
    # its remaining stops counts from then, not from the new start.
    departed_at: int | None = None

    def __post_init__(self) -> None:
        _require(bool(self.id), "id", "must be a non-empty string")
        _require(isinstance(self.capacity, int) and self.capacity >= 0, "capacity", "must be >= 0")
        _require(
            isinstance(self.shift_start, int) and self.shift_start >= 0,
            "shift_start",
            "must be an int >= 0",
        )
        _require(
            isinstance(self.shift_end, int) and self.shift_end >= self.shift_start,
            "shift_end",
            "must be an int >= shift_start",
        )
        _require(self.mode in set(Mode), "mode", f"unknown mode {self.mode!r}")
        _require(
            self.departed_at is None or self.departed_at <= self.shift_start,
            "departed_at",
            "must not be after shift_start",
        )

    @property
    def end_depot(self) -> str:
        return self.end if self.end is not None else self.start


Matrix = Sequence[Sequence[int]]


@dataclass(frozen=True, slots=True)
class Matrices:
    """Integer travel costs between the problem's nodes (depots first, then stops).

    `distance` is in metres (or scaled instance units); `time` holds one matrix of seconds per
    mode, because a walker and a van take different times over the same street.
    """

    distance: Matrix
    time: Mapping[Mode, Matrix]

    def __post_init__(self) -> None:
        n = len(self.distance)
        _require(all(len(row) == n for row in self.distance), "distance", "must be square")
        _require(bool(self.time), "time", "needs at least one mode")
        for mode, matrix in self.time.items():
            _require(
                len(matrix) == n and all(len(row) == n for row in matrix),
                f"time[{mode}]",
                f"must be {n}x{n} like distance",
            )

    @property
    def size(self) -> int:
        return len(self.distance)


@dataclass(frozen=True, slots=True)
class Problem:
    """One kitchen slot's delivery problem (or a benchmark instance).

    Node i of the matrices is `depots[i]` for i < len(depots), then `stops[i - len(depots)]`.
    When `matrices` is None the solver derives them from the locations (distance.py).
    """

    depots: tuple[Depot, ...]
    stops: tuple[Stop, ...]
    riders: tuple[Rider, ...]
    max_ride_time: int | None = DEFAULT_MAX_RIDE_SECONDS
    matrices: Matrices | None = None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "depots", tuple(self.depots))
        object.__setattr__(self, "stops", tuple(self.stops))
        object.__setattr__(self, "riders", tuple(self.riders))
        depot_ids = [d.id for d in self.depots]
        _require(len(set(depot_ids)) == len(depot_ids), "depots", "ids must be unique")
        stop_ids = [s.id for s in self.stops]
        _require(len(set(stop_ids)) == len(stop_ids), "stops", "ids must be unique")
        rider_ids = [r.id for r in self.riders]
        _require(len(set(rider_ids)) == len(rider_ids), "riders", "ids must be unique")
        known = set(depot_ids)
        for rider in self.riders:
            _require(rider.start in known, "riders.start", f"unknown depot {rider.start!r}")
            _require(rider.end_depot in known, "riders.end", f"unknown depot {rider.end!r}")
        riders = set(rider_ids)
        for stop in self.stops:
            _require(
                stop.rider_id is None or stop.rider_id in riders,
                "stops.rider_id",
                f"unknown rider {stop.rider_id!r}",
            )
        _require(
            self.max_ride_time is None or self.max_ride_time > 0,
            "max_ride_time",
            "must be positive or None",
        )
        if self.matrices is not None:
            _require(
                self.matrices.size == len(self.depots) + len(self.stops),
                "matrices",
                "size must equal depots + stops",
            )
            modes = {rider.mode for rider in self.riders}
            missing = modes - set(self.matrices.time)
            _require(not missing, "matrices.time", f"missing modes {sorted(missing)}")

    @property
    def locations(self) -> list[Location]:
        return [d.location for d in self.depots] + [s.location for s in self.stops]

    def depot_node(self, depot_id: str) -> int:
        for index, depot in enumerate(self.depots):
            if depot.id == depot_id:
                return index
        raise ValueError(f"depot: unknown {depot_id!r}")

    def stop_node(self, stop_index: int) -> int:
        return len(self.depots) + stop_index


@dataclass(frozen=True, slots=True)
class Visit:
    """A stop on a route: when the rider gets there and when service starts (after waiting)."""

    stop_id: str
    arrival: int
    start: int
    load_after: int


@dataclass(frozen=True, slots=True)
class Route:
    """One rider's trip: leave the kitchen, visit stops in order, reach the end depot."""

    rider_id: str
    departure: int
    visits: tuple[Visit, ...]
    end_arrival: int
    distance: int

    @property
    def stop_ids(self) -> list[str]:
        return [v.stop_id for v in self.visits]


@dataclass(frozen=True, slots=True)
class Unassigned:
    stop_id: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class Plan:
    """The solver's answer: routes (empty riders omitted) and stops left out with a reason."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...] = ()
    objective: int = 0
    seconds: float = 0.0
    config: str = ""

    @property
    def distance(self) -> int:
        return sum(route.distance for route in self.routes)

    @property
    def vehicles(self) -> int:
        return sum(1 for route in self.routes if route.visits)

    def route_of(self, rider_id: str) -> Route | None:
        return next((r for r in self.routes if r.rider_id == rider_id), None)
