"""Large days in parts: sweep the stops around the kitchen into slices, solve the slices on every
core, then improve the plan in rounds: groups of neighbouring routes that straddle the slices'
borders, and groups around the smallest routes that try to do without them, each searched on
from its current routes and kept only when better (so a group never gets worse).

A single OR-Tools search over 2,000 stops spends most of a minute building its first solution;
the same search over 150-250 stops converges in seconds, and since riders leave one kitchen, a
route rarely mixes stops from far-apart angles. Every part is solved with the full model (time
windows, capacity, exact ride-time limit, priorities), so any combination of parts is a
feasible plan for the whole day.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import time as clock
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from routing.distance import GreatCircleProvider
from routing.model import (
    GeoPoint,
    Location,
    Matrices,
    Plan,
    Problem,
    Rider,
    Route,
    Unassigned,
)
from routing.search import SolveParams, drop_penalty, solve_one

LOG = logging.getLogger(__name__)

# Share of the time limit spent building the first plan (the rest improves it). Iterated local
# search on the parts gives most of the gain: on the 1,000-stop day at 60 s, 0.5 gave a first
# plan of 508-518 km against 554 km at 0.25.
FIRST_SHARE = 0.5
# Every other improvement round tries to do without the smallest routes (fewer stops than
# this share of the typical route's), each in a group of its nearest routes of about
# `ELIMINATION_SHARE` of `part_size` stops. Slicing the day leaves part-filled routes at the
# slices' borders: the first plan of the 1,000-stop day had 67-68 routes, down to 4 stops,
# where PyVRP's best has 62, none under 9. On that day at 60 s (2-core AMD EPYC), the first
# elimination round took 3-4 routes and 6-16 km off; the plans came out at 494.6-504.7 km in
# 14 runs with these and nearby settings, against 502.1-508.1 km in 6 runs without it.
SMALL_ROUTE = 0.75
ELIMINATION_SHARE = 1.5
# A first-round part gets at most this many full loads' worth of riders (0: its whole share).
PART_RIDERS = 3
# Border rounds search groups of neighbouring routes of about this share of `part_size` stops
# (1,000-stop day at 60 s, groups re-planned afresh: 497 km with groups of 70 stops, 503-506 km
# with 100; searched on from their routes, with elimination rounds, 150 did no better than 70).
GROUP_SHARE = 0.7
# The improvement rounds share the time left after the first plan equally, border and
# elimination rounds in turn. Five (border, elimination, border, elimination, border) against
# three, interleaved on two workers at load 8-10 (2026-12-05): 800 stops 383.4 km and 51 riders
# against 388.6 and 52, 1,000 stops (seed 3) 491.1 and 64 against 493.7 and 66.
IMPROVE_ROUNDS = 5

_T = TypeVar("_T")


def decomposable(problem: Problem) -> bool:
    """One kitchen to start and end at, nobody on the road, nothing pinned."""
    return (
        len({r.start for r in problem.riders}) == 1
        and len({r.end_depot for r in problem.riders}) == 1
        and all(r.departed_at is None for r in problem.riders)
        and all(s.rider_id is None for s in problem.stops)
    )


def _xy(origin: Location, point: Location) -> tuple[float, float]:
    if isinstance(origin, GeoPoint) and isinstance(point, GeoPoint):
        return (
            (point.lon - origin.lon) * math.cos(math.radians(origin.lat)),
            point.lat - origin.lat,
        )
    return point.x - origin.x, point.y - origin.y  # type: ignore[union-attr]  # PlanePoints unless the caller mixed kinds


def stop_angles(problem: Problem) -> list[float]:
    """Polar angle of every stop around the riders' kitchen, in [0, 2 pi)."""
    kitchen = problem.depots[problem.depot_node(problem.riders[0].start)].location
    angles = []
    for stop in problem.stops:
        x, y = _xy(kitchen, stop.location)
        angles.append(math.atan2(y, x) % (2 * math.pi))
    return angles


def sweep_parts(angles: Sequence[float], part_size: int, workers: int = 1) -> list[list[int]]:
    """Stop indices cut into consecutive angular slices of about `part_size` stops; a day of
    more than `workers` slices is cut into a multiple of `workers`, so that no core waits
    while another solves the last slice."""
    order = sorted(range(len(angles)), key=lambda k: (angles[k], k))
    count = max(1, round(len(order) / part_size))
    if count > workers > 1:
        count = workers * max(1, round(len(order) / (part_size * workers)))
    return [order[len(order) * p // count : len(order) * (p + 1) // count] for p in range(count)]


def share_riders(riders: Sequence[Rider], demands: Sequence[int]) -> list[list[Rider]]:
    """Riders dealt to parts in proportion to their meals (largest remainders), at least one
    each while riders last."""
    riders = sorted(riders, key=lambda r: r.id)
    total = sum(demands) or 1
    quotas = [len(riders) * d / total for d in demands]
    counts = [int(q) for q in quotas]
    for p in sorted(range(len(demands)), key=lambda p: counts[p] - quotas[p]):
        if sum(counts) >= len(riders):
            break
        counts[p] += 1
    for p in range(len(counts)):
        if counts[p] == 0:
            donor = max(range(len(counts)), key=lambda q: counts[q])
            if counts[donor] > 1:
                counts[donor] -= 1
                counts[p] = 1
    shares, taken = [], 0
    for count in counts:
        shares.append(riders[taken : taken + count])
        taken += count
    return shares


def subproblem(
    problem: Problem, matrices: Matrices, stops: Sequence[int], riders: Sequence[Rider]
) -> Problem:
    """The day restricted to some stops and riders (stops sorted by id, so the solver keeps
    the matrices as they are)."""
    stops = sorted(stops, key=lambda k: problem.stops[k].id)
    depots = len(problem.depots)
    nodes = list(range(depots)) + [depots + k for k in stops]

    def cut(matrix: Sequence[Sequence[int]]) -> list[list[int]]:
        return [[matrix[a][b] for b in nodes] for a in nodes]

    return Problem(
        depots=problem.depots,
        stops=tuple(problem.stops[k] for k in stops),
        riders=tuple(riders),
        max_ride_time=problem.max_ride_time,
        matrices=Matrices(
            distance=cut(matrices.distance),
            time={mode: cut(m) for mode, m in matrices.time.items()},
        ),
        name=problem.name,
    )


@dataclass(slots=True)
class _Job:
    problem: Problem
    time_limit: float
    initial: dict[str, list[str]] | None


def _run(job: _Job, params: SolveParams) -> Plan:
    # Measured on the generated 1,000-stop day at 60 s (a loaded 2-core machine): the fixed
    # operator order did better than the bandit (552 km against 626 km). Iterated local search
    # (SISR ruin-and-recreate) on every part and group; deterministic mode keeps guided local
    # search (see SolveParams.uses_ils). The recreate keeps the model's insertion order: with
    # the random one that helped on Solomon, the 1,000-stop day came out 5.9-6.1% above the
    # best known (two runs) against 5.1% (and 4.3-5.8% before), the 2,000-stop day 1.8%
    # against 1.5%. No local search after each recreate either: with it (see
    # SolveParams.ils_improve) the 1,000-stop day came out at 496.6 and 497.9 km against
    # 489.9-491.8 km without (same machine, 2026-11-26).
    local = replace(
        params,
        time_limit=job.time_limit,
        workers=1,
        restarts=1,
        bandit_operators=False,
        ils=True,
        ils_random_order=False,
        ils_improve=False,
    )
    # A group's search goes on from its current routes (see routing.search._route_follower),
    # so it never comes back worse than it went in.
    return solve_one(job.problem, local, clock.monotonic() + job.time_limit, job.initial)


class _Inline(Executor):
    """Runs jobs where they are submitted (one worker: no processes to fork)."""

    def map(
        self,
        fn: Callable[..., _T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[_T]:
        return iter([fn(*args) for args in zip(*iterables, strict=True)])


def _score(
    problem: Problem,
    routes: Sequence[Route],
    dropped: Sequence[str],
    weights: tuple[int, int, int],
) -> int:
    base, priority_weight, vehicle_cost = weights
    priority = {s.id: s.priority for s in problem.stops}
    penalty = sum(base * (1 + priority_weight * priority[s]) for s in dropped)
    return sum(r.distance for r in routes) + penalty + vehicle_cost * len(routes)


def _centroid(route: Route, positions: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    xs = [positions[s][0] for s in route.stop_ids]
    ys = [positions[s][1] for s in route.stop_ids]
    return sum(xs) / len(xs), sum(ys) / len(ys)


def _centroid_angle(route: Route, positions: Mapping[str, tuple[float, float]]) -> float:
    x, y = _centroid(route, positions)
    return math.atan2(y, x) % (2 * math.pi)


def _elimination_groups(
    routes: Sequence[Route],
    positions: Mapping[str, tuple[float, float]],
    group_size: int,
    tried: AbstractSet[Route] = frozenset(),
) -> list[tuple[list[Route], Route]]:
    """Disjoint groups, each around one of the smallest routes: that route and the routes
    nearest to it, about `group_size` stops in all. The small route's rider is taken away, so
    its stops must fit into its neighbours' routes. Routes in `tried` (as they are now) are
    not targets again."""
    centre = {r.rider_id: _centroid(r, positions) for r in routes}
    sizes = sorted(len(r.visits) for r in routes)
    typical = sizes[len(sizes) // 2]
    used: set[str] = set()
    groups = []
    for target in sorted(routes, key=lambda r: (len(r.visits), r.rider_id)):
        if len(target.visits) > typical * SMALL_ROUTE:
            break
        if target.rider_id in used or target in tried:
            continue
        tx, ty = centre[target.rider_id]
        near = sorted(
            (r for r in routes if r.rider_id not in used and r.rider_id != target.rider_id),
            key=lambda r: (
                (centre[r.rider_id][0] - tx) ** 2 + (centre[r.rider_id][1] - ty) ** 2,
                r.rider_id,
            ),
        )
        group, stops = [target], len(target.visits)
        for route in near:
            if stops >= group_size:
                break
            group.append(route)
            stops += len(route.visits)
        if len(group) > 1:
            used.update(r.rider_id for r in group)
            groups.append((group, target))
    return groups


def _groups(
    routes: Sequence[Route], angle: Mapping[str, float], part_size: int, shift: float
) -> list[list[Route]]:
    """Routes sorted by angle, cut into runs of about `part_size` stops, the cut points moved
    by `shift` (0..1 of a run) so successive rounds straddle the previous borders."""
    ordered = sorted(routes, key=lambda r: (angle[r.rider_id], r.rider_id))
    total = sum(len(r.visits) for r in ordered)
    count = max(1, round(total / part_size))
    if count == 1:
        return [ordered]
    # Rotate the ring so that the first group starts `shift` of a group into it.
    target = shift * total / count
    start, seen = 0, 0
    while start < len(ordered) and seen + len(ordered[start].visits) / 2 < target:
        seen += len(ordered[start].visits)
        start += 1
    ring = ordered[start:] + ordered[:start]
    groups: list[list[Route]] = [[] for _ in range(count)]
    seen = 0
    for route in ring:
        g = min(count - 1, int((seen + len(route.visits) / 2) * count / total))
        groups[g].append(route)
        seen += len(route.visits)
    return [g for g in groups if g]


def _border_groups(
    problem: Problem,
    routes: Mapping[str, Route],
    dropped: Mapping[str, Unassigned],
    positions: Mapping[str, tuple[float, float]],
    angles: Sequence[float],
    group_size: int,
    shift: float,
) -> tuple[list[list[Route]], list[list[int]], list[list[Rider]]]:
    """Routes in runs by angle (see `_groups`), with the dropped stops and the spare riders
    dealt to them: routes, stop indices and riders of each group. `angles` are the stops'
    (`stop_angles`)."""
    stop_index = {s.id: k for k, s in enumerate(problem.stops)}
    rider_of = {r.id: r for r in problem.riders}
    angle = {rid: _centroid_angle(r, positions) for rid, r in routes.items()}
    groups = _groups(list(routes.values()), angle, group_size, shift)
    group_stops = [[stop_index[s] for r in g for s in r.stop_ids] for g in groups]
    group_riders = [[rider_of[r.rider_id] for r in g] for g in groups]
    # A dropped stop goes to the group whose routes lie closest in angle; spare riders are
    # dealt round.
    group_angles = [[angle[r.rider_id] for r in g] for g in groups]
    for stop_id in sorted(dropped):
        a = angles[stop_index[stop_id]]
        best = min(range(len(groups)), key=lambda g: min(_ring(a, b) for b in group_angles[g]))
        group_stops[best].append(stop_index[stop_id])
    spare = sorted((r for r in problem.riders if r.id not in routes), key=lambda r: r.id)
    for k, rider in enumerate(spare[: 2 * len(groups)]):
        group_riders[k % len(groups)].append(rider)
    return groups, group_stops, group_riders


def solve_decomposed(problem: Problem, params: SolveParams) -> Plan:
    """Plan a large single-kitchen day in parts (see the module doc)."""
    started = clock.monotonic()
    budget = params.time_limit * 0.95
    matrices = problem.matrices
    if matrices is None:
        matrices = GreatCircleProvider().matrices(
            problem.locations, {r.mode for r in problem.riders}
        )
    part_size = params.part_size
    group_size = max(2, round(part_size * GROUP_SHARE))
    elimination_size = max(2, round(part_size * ELIMINATION_SHARE))
    angles = stop_angles(problem)
    stop_index = {s.id: k for k, s in enumerate(problem.stops)}
    kitchen = problem.depots[problem.depot_node(problem.riders[0].start)].location
    positions = {s.id: _xy(kitchen, s.location) for s in problem.stops}
    weights = (
        drop_penalty(matrices.distance, params.vehicle_cost),
        params.priority_weight,
        params.vehicle_cost,
    )

    parts = sweep_parts(angles, part_size, params.workers)
    # No more processes than jobs in a round (the fork context starts them all at once).
    workers = min(params.workers, max(len(parts), math.ceil(len(problem.stops) / group_size)))
    if workers > 1:
        pool: Executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("fork")
        )
    else:
        pool = _Inline()
    with pool:
        # 1. First plan: slices of the sweep, each with its share of the riders.
        shares = share_riders(
            problem.riders, [sum(problem.stops[k].demand for k in part) for part in parts]
        )
        if PART_RIDERS:
            # Empty riders slow the search (every move is tried into each of them): a part
            # takes at most three full loads' worth; the rest wait as spares for later rounds.
            capacity = max(1, max(r.capacity for r in problem.riders))
            for p, part in enumerate(parts):
                meals = sum(problem.stops[k].demand for k in part)
                shares[p] = shares[p][: max(4, math.ceil(PART_RIDERS * meals / capacity))]
        first = budget * FIRST_SHARE
        slice_time = first / _waves(len(parts), workers)
        jobs = [
            _Job(subproblem(problem, matrices, part, share), slice_time, None)
            for part, share in zip(parts, shares, strict=True)
        ]
        plans = list(pool.map(_run, jobs, [params] * len(jobs)))
        routes: dict[str, Route] = {}
        dropped: dict[str, Unassigned] = {}
        for plan in plans:
            routes.update({r.rider_id: r for r in plan.routes})
            dropped.update({u.stop_id: u for u in plan.unassigned})

        _debug("first", started, routes, dropped)
        # 2. Improve: groups of neighbouring routes, each searched on from its routes. Rounds
        # alternate between groups that straddle the previous borders and groups that try to
        # do without their smallest route.
        rounds = borders = 0
        shifts = (0.5, 0.0, 0.25, 0.75)
        rider_of = {r.id: r for r in problem.riders}
        tried: set[Route] = set()
        while routes:
            left = budget - (clock.monotonic() - started)
            if params.deterministic and rounds >= 2:
                break
            if not params.deterministic and left < 1.0:
                break
            chosen = []
            if rounds % 2 == 1:
                chosen = _elimination_groups(
                    list(routes.values()), positions, elimination_size, tried
                )
                tried.update(target for _, target in chosen)
            if chosen:
                groups = [group for group, _ in chosen]
                group_riders = [
                    [rider_of[r.rider_id] for r in group if r is not target]
                    for group, target in chosen
                ]
                group_stops = [[stop_index[s] for r in g for s in r.stop_ids] for g in groups]
            else:
                groups, group_stops, group_riders = _border_groups(
                    problem, routes, dropped, positions, angles, group_size, shifts[borders % 4]
                )
                borders += 1
            round_time = min(left, max(1.0, left / max(1, IMPROVE_ROUNDS - rounds)))
            group_time = round_time / _waves(len(groups), workers)
            jobs = []
            for g, group in enumerate(groups):
                initial = {r.rider_id: r.stop_ids for r in group}
                sub = subproblem(problem, matrices, group_stops[g], group_riders[g])
                jobs.append(_Job(sub, group_time, initial))
            plans = list(pool.map(_run, jobs, [params] * len(jobs)))
            for g, (group, plan) in enumerate(zip(groups, plans, strict=True)):
                old_dropped = [
                    problem.stops[k].id for k in group_stops[g] if problem.stops[k].id in dropped
                ]
                before = _score(problem, group, old_dropped, weights)
                after = _score(problem, plan.routes, [u.stop_id for u in plan.unassigned], weights)
                if after <= before:
                    for route in group:
                        del routes[route.rider_id]
                    for stop_id in old_dropped:
                        del dropped[stop_id]
                    routes.update({r.rider_id: r for r in plan.routes})
                    dropped.update({u.stop_id: u for u in plan.unassigned})
            rounds += 1
            kind = "elimination" if chosen else "border"
            _debug(f"round {rounds}: {len(groups)} {kind} groups", started, routes, dropped)

    ordered = tuple(sorted(routes.values(), key=lambda r: r.rider_id))
    unassigned = tuple(dropped[s] for s in sorted(dropped))
    return Plan(
        routes=ordered,
        unassigned=unassigned,
        objective=_score(problem, ordered, [u.stop_id for u in unassigned], weights),
        seconds=clock.monotonic() - started,
        config=f"decomposed({part_size})+{params.label}",
    )


def _waves(jobs: int, workers: int) -> int:
    """How many jobs each worker runs one after another when `jobs` equal jobs share
    `workers` (3 parts on 2 cores: 2, so each part gets half the phase's time, not two
    thirds, which ran the phase a third over its time)."""
    return max(1, math.ceil(jobs / max(1, workers)))


def _ring(a: float, b: float) -> float:
    d = abs(a - b) % (2 * math.pi)
    return min(d, 2 * math.pi - d)


def _debug(
    what: str, started: float, routes: Mapping[str, Route], dropped: Mapping[str, Unassigned]
) -> None:
    if LOG.isEnabledFor(logging.DEBUG):
        LOG.debug(
            "%s: %.1f km, %d routes, %d dropped at %.1fs",
            what,
            sum(r.distance for r in routes.values()) / 1000,
            len(routes),
            len(dropped),
            clock.monotonic() - started,
        )
