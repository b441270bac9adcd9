"""Small routing problems on a plane, with distances and times written out exactly."""

from __future__ import annotations

import math

from routing import Depot, Matrices, Mode, PlanePoint, Problem, Rider, Stop, TimeWindow


def make_stop(
    stop_id: str,
    x: float,
    y: float = 0.0,
    *,
    demand: int = 1,
    window: tuple[int, int] | None = None,
    service: int = 0,
    priority: int = 0,
) -> Stop:
    return Stop(
        id=stop_id,
        location=PlanePoint(x, y),
        demand=demand,
        window=TimeWindow(*window) if window else None,
        service=service,
        priority=priority,
    )


def make_rider(
    rider_id: str,
    *,
    capacity: int = 10,
    shift: tuple[int, int] = (0, 10_000),
    start: str = "k",
    end: str | None = None,
    mode: Mode = Mode.EBIKE,
) -> Rider:
    return Rider(
        id=rider_id,
        capacity=capacity,
        shift_start=shift[0],
        shift_end=shift[1],
        start=start,
        end=end,
        mode=mode,
    )


def make_problem(
    stops: list[Stop],
    riders: list[Rider],
    *,
    depots: list[Depot] | None = None,
    max_ride_time: int | None = None,
) -> Problem:
    """Distance = rounded Euclidean length; travel time = distance (1 unit per second)."""
    depots = depots or [Depot("k", PlanePoint(0, 0))]
    points = [d.location for d in depots] + [s.location for s in stops]
    distance = [[round(math.hypot(a.x - b.x, a.y - b.y)) for b in points] for a in points]
    modes = {r.mode for r in riders} or {Mode.EBIKE}
    return Problem(
        depots=tuple(depots),
        stops=tuple(stops),
        riders=tuple(riders),
        max_ride_time=max_ride_time,
        matrices=Matrices(distance=distance, time={mode: distance for mode in modes}),
    )
