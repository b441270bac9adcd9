"""Independent feasibility check of a plan: recomputes times and distance, trusts no solver."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from routing.distance import GreatCircleProvider
from routing.model import Matrices, Plan, Problem


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: a code (capacity, time_window, horizon, ride_time, missing, duplicate,
    unknown_stop, unknown_rider, pinned), where, and the numbers that broke it."""

    kind: str
    rider_id: str | None = None
    stop_id: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CheckResult:
    violations: tuple[Violation, ...]
    distance: int
    vehicles: int

    @property
    def feasible(self) -> bool:
        return not self.violations

    def kinds(self) -> set[str]:
        return {v.kind for v in self.violations}


def _matrices(problem: Problem) -> Matrices:
    if problem.matrices is not None:
        return problem.matrices
    return GreatCircleProvider().matrices(problem.locations, {r.mode for r in problem.riders})


def check_routes(
    problem: Problem,
    routes: Mapping[str, Sequence[str]],
    *,
    departures: Mapping[str, int] | None = None,
    unassigned: Sequence[str] = (),
    require_all: bool = True,
) -> CheckResult:
    """Check routes given as rider id -> stop ids in visiting order.

    Each rider leaves its start depot at `departures[rider]` (default: shift start) and every
    service starts as early as allowed; that earliest schedule gives the smallest ride time for
    that departure, so a ride-time limit that fails here fails for every schedule.
    """
    matrices = _matrices(problem)
    riders = {r.id: r for r in problem.riders}
    depot_node = {d.id: i for i, d in enumerate(problem.depots)}
    offset = len(problem.depots)
    stops = {s.id: (offset + i, s) for i, s in enumerate(problem.stops)}
    violations: list[Violation] = []
    total_distance = 0
    vehicles = 0

    seen = Counter(stop for route in routes.values() for stop in route)
    seen.update(unassigned)
    for stop_id, count in sorted(seen.items()):
        if stop_id not in stops:
            violations.append(Violation("unknown_stop", stop_id=stop_id))
        elif count > 1:
            violations.append(Violation("duplicate", stop_id=stop_id, detail=f"{count} times"))
    for stop_id in stops:
        if stop_id not in seen:
            violations.append(Violation("missing", stop_id=stop_id))
    if require_all:
        for stop_id in unassigned:
            violations.append(Violation("missing", stop_id=stop_id, detail="unassigned"))

    for rider_id, route in routes.items():
        rider = riders.get(rider_id)
        if rider is None:
            violations.append(Violation("unknown_rider", rider_id=rider_id))
            continue
        if not route:
            continue
        vehicles += 1
        time = matrices.time[rider.mode]
        departure = rider.shift_start if departures is None else departures.get(rider_id)
        if departure is None:
            departure = rider.shift_start
        if departure < rider.shift_start:
            violations.append(
                Violation("horizon", rider_id, detail=f"leaves {departure} < {rider.shift_start}")
            )
        food_left = rider.departed_at if rider.departed_at is not None else departure
        node = depot_node[rider.start]
        clock = departure
        load = 0
        for stop_id in route:
            if stop_id not in stops:
                continue
            next_node, stop = stops[stop_id]
            total_distance += matrices.distance[node][next_node]
            arrival = clock + time[node][next_node]
            start = arrival if stop.window is None else max(arrival, stop.window.start)
            if stop.window is not None and start > stop.window.end:
                violations.append(
                    Violation("time_window", rider_id, stop_id, f"{start} > {stop.window.end}")
                )
            if problem.max_ride_time is not None and start - food_left > problem.max_ride_time:
                violations.append(
                    Violation(
                        "ride_time",
                        rider_id,
                        stop_id,
                        f"{start - food_left} > {problem.max_ride_time}",
                    )
                )
            if stop.rider_id is not None and stop.rider_id != rider_id:
                violations.append(Violation("pinned", rider_id, stop_id, f"on {stop.rider_id}"))
            load += stop.demand
            clock = start + stop.service
            node = next_node
        end = depot_node[rider.end_depot]
        total_distance += matrices.distance[node][end]
        back = clock + time[node][end]
        if back > rider.shift_end:
            violations.append(
                Violation("horizon", rider_id, detail=f"back {back} > {rider.shift_end}")
            )
        if load > rider.capacity:
            violations.append(Violation("capacity", rider_id, detail=f"{load} > {rider.capacity}"))
    return CheckResult(tuple(violations), total_distance, vehicles)


def check_plan(problem: Problem, plan: Plan, *, require_all: bool = False) -> CheckResult:
    """Check a solver plan, using each route's stated departure from the kitchen."""
    routes: dict[str, list[str]] = {}
    for route in plan.routes:
        if route.rider_id in routes:
            return CheckResult(
                (Violation("duplicate", rider_id=route.rider_id, detail="rider twice"),), 0, 0
            )
        routes[route.rider_id] = route.stop_ids
    return check_routes(
        problem,
        routes,
        departures={r.rider_id: r.departure for r in plan.routes},
        unassigned=[u.stop_id for u in plan.unassigned],
        require_all=require_all,
    )
