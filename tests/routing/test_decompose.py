"""Large days in parts (routing/decompose.py): the pieces, and whole plans through `solve`."""

import math
import random

from routing import Depot, PlanePoint, SolveParams, check_plan, solve
from routing.decompose import (
    _elimination_groups,
    _groups,
    decomposable,
    share_riders,
    stop_angles,
    subproblem,
    sweep_parts,
)
from routing.model import Route, Visit
from tests.routing.factories import make_problem, make_rider, make_stop

# Decompose anything above 8 stops, in parts of about 5.
SMALL_PARTS = dict(decompose_above=8, part_size=10)


def four_streets(per_street=5, riders=8, capacity=5, max_ride_time=None):
    """Stops along four streets leaving the kitchen east, north, west and south, 10 apart."""
    stops = []
    for street, (dx, dy) in enumerate(((1, 0), (0, 1), (-1, 0), (0, -1))):
        for k in range(1, per_street + 1):
            stops.append(make_stop(f"s{street}{k}", 10 * k * dx, 10 * k * dy))
    return make_problem(
        stops,
        [make_rider(f"r{k}", capacity=capacity) for k in range(riders)],
        max_ride_time=max_ride_time,
    )


def test_sweep_cuts_the_stops_into_angular_slices_covering_each_stop_once():
    problem = four_streets()
    parts = sweep_parts(stop_angles(problem), 5)
    assert len(parts) == 4
    assert sorted(k for part in parts for k in part) == list(range(20))
    for part in parts:
        # A slice is one street: all its stops share a direction from the kitchen.
        assert len({problem.stops[k].id[1] for k in part}) == 1


def test_riders_are_shared_in_proportion_to_meals_and_every_part_gets_one():
    riders = [make_rider(f"r{k}") for k in range(10)]
    shares = share_riders(riders, [30, 10, 10, 0])
    # Quotas 6, 2, 2, 0: the empty part takes one from the largest.
    assert [len(s) for s in shares] == [5, 2, 2, 1]
    assert sorted(r.id for share in shares for r in share) == sorted(r.id for r in riders)


def test_a_subproblem_keeps_its_stops_matrices_and_riders():
    problem = four_streets()
    sub = subproblem(problem, problem.matrices, [3, 1], problem.riders[:2])
    assert [s.id for s in sub.stops] == ["s02", "s04"]
    # Node 1 is s02 at (20, 0), node 2 is s04 at (40, 0); node 0 the kitchen.
    assert sub.matrices.distance[0] == [0, 20, 40]
    assert sub.matrices.distance[1][2] == 20
    assert [r.id for r in sub.riders] == ["r0", "r1"]


def test_route_groups_cover_every_route_once_and_move_their_borders():
    routes = [
        Route(f"r{k}", 0, tuple(Visit(f"s{k}{j}", 0, 0, j) for j in range(5)), 0, 0)
        for k in range(8)
    ]
    angle = {f"r{k}": k * math.pi / 4 for k in range(8)}
    plain = _groups(routes, angle, 10, 0.0)
    shifted = _groups(routes, angle, 10, 0.5)
    for groups in (plain, shifted):
        assert sorted(r.rider_id for g in groups for r in g) == sorted(angle)
        assert all(len(g) == 2 for g in groups)
    assert [r.rider_id for r in plain[0]] == ["r0", "r1"]
    assert [r.rider_id for r in shifted[0]] == ["r1", "r2"]


def test_elimination_groups_surround_the_smallest_routes_with_their_nearest():
    # Six routes along a line, 10 apart; r2 (2 stops) and r5 (3 stops) are the small ones.
    sizes = [10, 10, 2, 10, 10, 3]
    routes = [
        Route(f"r{k}", 0, tuple(Visit(f"s{k}_{j}", 0, 0, j) for j in range(n)), 0, 0)
        for k, n in enumerate(sizes)
    ]
    positions = {v.stop_id: (10.0 * k, 0.0) for k, r in enumerate(routes) for v in r.visits}

    groups = _elimination_groups(routes, positions, 25)
    assert [(t.rider_id, [r.rider_id for r in g]) for g, t in groups] == [
        ("r2", ["r2", "r1", "r3", "r0"]),
        ("r5", ["r5", "r4"]),
    ]
    # A target tried before (and unchanged since) is left alone; it may still be a neighbour.
    again = _elimination_groups(routes, positions, 25, frozenset({routes[2]}))
    assert [(t.rider_id, [r.rider_id for r in g]) for g, t in again] == [
        ("r5", ["r5", "r4", "r3", "r2"]),
    ]


def test_only_single_kitchen_days_without_pins_are_decomposed():
    assert decomposable(four_streets())
    two = make_problem(
        [make_stop("a", 5)],
        [make_rider("r1"), make_rider("r2", start="k2")],
        depots=[Depot("k", PlanePoint(0, 0)), Depot("k2", PlanePoint(9, 9))],
    )
    assert not decomposable(two)


def test_a_decomposed_plan_finds_the_known_optimum_one_street_per_rider():
    problem = four_streets()
    plan = solve(problem, SolveParams(deterministic=True, solution_limit=50, **SMALL_PARTS))
    assert plan.config.startswith("decomposed")
    result = check_plan(problem, plan, require_all=True)
    assert result.feasible, result.violations
    # Best: each street out and back to its far end, 4 x 2 x 50.
    assert plan.distance == 400
    assert sorted(sorted(r.stop_ids) for r in plan.routes) == [
        [f"s{street}{k}" for k in range(1, 6)] for street in range(4)
    ]


def test_a_decomposed_plan_keeps_the_ride_time_limit_and_reports_what_cannot_fit():
    # Ride limit 30: a rider reaches at most the stop 30 out along one street, so the two
    # farthest stops of each street (40, 50) cannot be served hot by anyone.
    problem = four_streets(max_ride_time=30)
    plan = solve(problem, SolveParams(deterministic=True, solution_limit=50, **SMALL_PARTS))
    result = check_plan(problem, plan)
    assert result.feasible, result.violations
    assert sorted(u.stop_id for u in plan.unassigned) == sorted(
        f"s{street}{k}" for street in range(4) for k in (4, 5)
    )
    assert {u.reason for u in plan.unassigned} == {"ride_time"}


def clustered(seed, n=60, riders=20):
    rng = random.Random(seed)
    centres = [(rng.uniform(-500, 500), rng.uniform(-500, 500)) for _ in range(6)]
    stops = []
    for i in range(n):
        cx, cy = rng.choice(centres)
        start = rng.randrange(0, 1200, 60)
        stops.append(
            make_stop(
                f"s{i:03d}",
                round(rng.gauss(cx, 60)),
                round(rng.gauss(cy, 60)),
                window=(start, start + 900),
                service=30,
                priority=rng.choice((0, 0, 1)),
            )
        )
    return make_problem(
        stops,
        [make_rider(f"r{k:02d}", capacity=8, shift=(0, 3000)) for k in range(riders)],
        max_ride_time=1500,
    )


def test_a_decomposed_plan_is_deterministic_and_keeps_every_rule():
    problem = clustered(3)
    params = SolveParams(deterministic=True, solution_limit=30, decompose_above=20, part_size=20)
    first = solve(problem, params)
    second = solve(problem, params)
    assert first.routes == second.routes
    assert first.unassigned == second.unassigned
    result = check_plan(problem, first)
    assert result.feasible, result.violations
    assert result.distance == first.distance
    assert not first.unassigned


def test_a_decomposed_plan_on_two_workers_within_its_time_limit():
    problem = clustered(4)
    params = SolveParams(time_limit=3.0, workers=2, decompose_above=20, part_size=20)
    plan = solve(problem, params)
    result = check_plan(problem, plan)
    assert result.feasible, result.violations
    assert not plan.unassigned
    assert plan.seconds < 4.5
    # No worse than a single search over the whole day given the same time.
    whole = solve(problem, SolveParams(time_limit=3.0, decompose_above=0))
    assert plan.distance <= whole.distance * 1.10


def test_a_day_of_more_parts_than_cores_is_cut_into_a_multiple_of_them():
    angles = [k / 60 for k in range(60)]
    assert len(sweep_parts(angles, 20)) == 3
    # Three parts on two cores would leave one idle while the other solves the third.
    assert [len(p) for p in sweep_parts(angles, 20, workers=2)] == [15, 15, 15, 15]
    assert len(sweep_parts(angles, 20, workers=3)) == 3
    # Fewer parts than cores: not cut smaller for them.
    assert len(sweep_parts(angles[:30], 20, workers=2)) == 2
    assert len(sweep_parts(angles[:20], 20, workers=2)) == 1


def test_a_decomposed_plan_on_two_workers_keeps_every_rule_and_is_reproducible():
    # Windows, capacity 8, a ride limit and priorities; four parts on two cores.
    problem = clustered(5)
    params = SolveParams(
        deterministic=True, solution_limit=30, decompose_above=20, part_size=20, workers=2
    )
    plan = solve(problem, params)
    assert plan.config.startswith("decomposed")
    result = check_plan(problem, plan, require_all=True)
    assert result.feasible, result.violations
    assert result.distance == plan.distance
    # Each part's and group's search is reproducible wherever it runs.
    again = solve(problem, params)
    assert plan.routes == again.routes and plan.unassigned == again.unassigned
