"""Plan delivery routes with OR-Tools: `solve(problem, params) -> Plan`, and re-plan mid-round."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time as clock
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from routing.decompose import decomposable, solve_decomposed
from routing.distance import MatrixProvider
from routing.model import (
    Depot,
    Location,
    Matrices,
    Plan,
    Problem,
)
from routing.search import (
    ILS_PORTFOLIO_VARIANTS,
    PORTFOLIO_VARIANTS,
    SolveParams,
    search_seconds,
    solve_one,
)


def _variants(params: SolveParams) -> list[SolveParams]:
    """workers * restarts search configurations, the caller's own first."""
    count = params.workers * params.restarts
    portfolio = ILS_PORTFOLIO_VARIANTS if params.uses_ils else PORTFOLIO_VARIANTS
    variants = []
    for k in range(count):
        change = dict(portfolio[k % len(portfolio)])
        if k >= len(portfolio):
            if params.uses_ils:
                change["ils_removed"] = params.ils_removed + 2 * (k // len(portfolio))
            else:
                change["gls_lambda"] = params.gls_lambda * (1 + k // len(portfolio))
        variants.append(replace(params, workers=1, restarts=1, **change))
    return variants


def _solve_in_turn(problem: Problem, variants: list[SolveParams], deadline: float) -> Plan:
    """Run the variants one after another, sharing the time left equally; keep the best."""
    best: Plan | None = None
    for k, variant in enumerate(variants):
        slice_end = clock.monotonic() + (deadline - clock.monotonic()) / (len(variants) - k)
        plan = solve_one(problem, variant, slice_end)
        if best is None or _better(plan, best):
            best = plan
    assert best is not None
    return best


def _better(a: Plan, b: Plan) -> bool:
    return (a.objective, len(a.unassigned), a.distance) < (
        b.objective,
        len(b.unassigned),
        b.distance,
    )


def solve(problem: Problem, params: SolveParams | None = None) -> Plan:
    """Plan routes for every rider; stops that cannot be served come back with a reason."""
    params = params or SolveParams()
    if params.time_by_stops:
        limit = search_seconds(len(problem.stops), params.time_limit)
        params = replace(params, time_limit=limit, time_by_stops=False)
    if params.apart:
        return _solve_apart(problem, replace(params, apart=False))
    started = clock.monotonic()
    if (
        params.decompose_above
        and len(problem.stops) > params.decompose_above
        and decomposable(problem)
    ):
        return solve_decomposed(problem, params)
    # Leave a little of the budget for building the model and reading the answer back.
    deadline = started + params.time_limit * 0.97
    if params.deterministic or (params.workers == 1 and params.restarts == 1):
        return solve_one(problem, replace(params, workers=1, restarts=1), deadline)
    variants = _variants(params)
    turns = [variants[w :: params.workers] for w in range(params.workers)]
    if params.workers == 1:
        best = _solve_in_turn(problem, turns[0], deadline)
        return replace(best, seconds=clock.monotonic() - started)
    # Fork is cheap (no re-import of OR-Tools); the first worker's turn runs here meanwhile.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=params.workers - 1, mp_context=context) as pool:
        futures = [pool.submit(_solve_in_turn, problem, turn, deadline) for turn in turns[1:]]
        best = _solve_in_turn(problem, turns[0], deadline)
        for future in futures:
            plan = future.result()
            if _better(plan, best):
                best = plan
    return replace(best, seconds=clock.monotonic() - started)


def _solve_apart(problem: Problem, params: SolveParams) -> Plan:
    """`solve` in a child process; this thread waits without holding the GIL. The child comes
    from a fork server, not a fork of this process: a process that serves on other threads
    may hold a lock (its logging, its database pool) at the moment of a fork, and the child
    would wait for it for ever. The server starts once, with OR-Tools loaded."""
    with ProcessPoolExecutor(
        max_workers=1, mp_context=_APART, initializer=_end_with, initargs=(os.getpid(),)
    ) as pool:
        return pool.submit(solve, problem, params).result()


def _end_with(asking: int) -> None:
    """In the child: end when the process that asked for the search is gone. Killed outright
    (kill -9), that one cannot shut its pool down, and the child would wait for ever for the
    next search; it also holds the fork server's lifeline, so the server would stay too. The
    search itself holds the global lock, so the child ends once the search is over."""

    def watch() -> None:
        while True:
            clock.sleep(1)
            try:
                os.kill(asking, 0)
            except ProcessLookupError:
                os._exit(1)

    threading.Thread(target=watch, name="end-with-the-asking-process", daemon=True).start()


_APART = multiprocessing.get_context("forkserver")
_APART.set_forkserver_preload(["routing.solver"])


def replan_problem(
    problem: Problem,
    plan: Plan,
    *,
    now: int,
    delivered: Iterable[str],
    positions: Mapping[str, Location],
    provider: MatrixProvider | None = None,
) -> Problem:
    """The problem left at `now`: what `replan` solves.

    Delivered stops are removed. A rider in `positions` is out on the road: it starts there at
    `now`, keeps the undelivered stops of its planned route (their meals are on its bike; their
    ride time still counts from when it left the kitchen). A rider on the road takes no new
    stops, since it carries no food for them; once back at the kitchen, leave it out of
    `positions`. Other riders start from their kitchen no earlier than `now` and share the
    remaining stops.
    """
    delivered = set(delivered)
    unknown = set(positions) - {r.id for r in problem.riders}
    if unknown:
        raise ValueError(f"positions: unknown riders {sorted(unknown)}")
    on_board: dict[str, str] = {}
    departures: dict[str, int] = {}
    for route in plan.routes:
        if route.rider_id in positions:
            departures[route.rider_id] = route.departure
            for stop_id in route.stop_ids:
                if stop_id not in delivered:
                    on_board[stop_id] = route.rider_id
    depots = list(problem.depots)
    riders = []
    for rider in problem.riders:
        shift_start = min(max(rider.shift_start, now), rider.shift_end)
        if rider.id in positions:
            here = Depot(f"{rider.id}@now", positions[rider.id])
            depots.append(here)
            riders.append(
                replace(
                    rider,
                    start=here.id,
                    end=rider.end_depot,
                    shift_start=shift_start,
                    departed_at=min(departures.get(rider.id, shift_start), shift_start),
                )
            )
        else:
            riders.append(replace(rider, shift_start=shift_start))
    stops = [
        replace(stop, rider_id=on_board.get(stop.id))
        for stop in problem.stops
        if stop.id not in delivered
    ]
    matrices: Matrices | None = None
    if problem.matrices is not None or provider is not None:
        if provider is None:
            raise ValueError("provider: needed to extend the problem's own matrices")
        locations = [d.location for d in depots] + [s.location for s in stops]
        matrices = provider.matrices(locations, {r.mode for r in riders})
    return Problem(
        depots=tuple(depots),
        stops=tuple(stops),
        riders=tuple(riders),
        max_ride_time=problem.max_ride_time,
        matrices=matrices,
        name=problem.name,
    )


def replan(
    problem: Problem,
    plan: Plan,
    *,
    now: int,
    delivered: Iterable[str],
    positions: Mapping[str, Location],
    params: SolveParams | None = None,
    provider: MatrixProvider | None = None,
) -> Plan:
    """Plan the stops not yet delivered, from where each rider is at `now`.

    See `replan_problem` for what stays fixed; check the result against that problem.
    """
    remaining = replan_problem(
        problem, plan, now=now, delivered=delivered, positions=positions, provider=provider
    )
    return solve(remaining, params)
