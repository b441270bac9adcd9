"""Riders in the objective (a fixed cost per rider used) and the kitchen's planning defaults."""

import random
from dataclasses import replace

import pytest

from routing import SolveParams, check_plan, solve
from routing.search import KITCHEN_MAX_SECONDS, RIDER_COST_KM, search_seconds
from tests.routing.factories import make_problem, make_rider, make_stop

# One search, and the same day through the decomposition (one slice, then its rounds).
PATHS = {
    "one search": dict(decompose_above=0),
    "decomposed": dict(decompose_above=2, part_size=10),
}


def zigzag_day():
    """A (+1000, 10:00 sharp-ish) and C (+1100, late) one way, B (-1000, between) the other;
    travel 1 unit a second. Two riders: K-A-C-K (2,200) and K-B-K (2,000), 4,200 in all. One
    rider must go A, then B, then back out to C: 1,000 + 2,000 + 2,100 + 1,100 = 6,200."""
    stops = [
        make_stop("a", 1000, window=(1000, 1050)),
        make_stop("b", -1000, window=(3000, 3100)),
        make_stop("c", 1100, window=(5000, 5100)),
    ]
    return make_problem(stops, [make_rider("r1"), make_rider("r2"), make_rider("r3")])


@pytest.mark.parametrize("path", PATHS)
def test_without_a_rider_cost_the_plan_takes_the_shortest_kilometres(path):
    problem = zigzag_day()
    plan = solve(problem, SolveParams(deterministic=True, solution_limit=50, **PATHS[path]))
    assert check_plan(problem, plan, require_all=True).feasible
    assert (len(plan.routes), plan.distance) == (2, 4200)


@pytest.mark.parametrize("path", PATHS)
def test_a_rider_fewer_when_the_kilometres_allow(path):
    problem = zigzag_day()
    # A rider costs 2,500: one rider (6,200 + 2,500) beats two (4,200 + 5,000).
    params = SolveParams(deterministic=True, solution_limit=50, vehicle_cost=2500, **PATHS[path])
    plan = solve(problem, params)
    assert check_plan(problem, plan, require_all=True).feasible
    assert (len(plan.routes), plan.distance) == (1, 6200)
    assert [r.stop_ids for r in plan.routes] == [["a", "b", "c"]]


@pytest.mark.parametrize("path", PATHS)
def test_not_a_rider_fewer_when_the_kilometres_do_not_allow(path):
    problem = zigzag_day()
    # A rider costs 1,500: two riders (4,200 + 3,000) beat one (6,200 + 1,500).
    params = SolveParams(deterministic=True, solution_limit=50, vehicle_cost=1500, **PATHS[path])
    plan = solve(problem, params)
    assert (len(plan.routes), plan.distance) == (2, 4200)


@pytest.mark.parametrize("path", PATHS)
def test_a_rider_cost_never_leaves_a_meal_undelivered(path):
    # Alone and near: dropping the stop used to cost 20 x (longest arc + 1) = 220, less than
    # the rider who would carry it. A meal left at the kitchen is never the cheaper plan.
    problem = make_problem([make_stop("near", 10)], [make_rider("r1")])
    params = SolveParams(deterministic=True, solution_limit=50, vehicle_cost=5000, **PATHS[path])
    plan = solve(problem, params)
    assert not plan.unassigned
    assert [r.stop_ids for r in plan.routes] == [["near"]]


def test_the_kitchens_search_time_grows_with_its_stops_up_to_a_minute():
    times = [search_seconds(n) for n in (1, 50, 100, 200, 300, 400, 600, 800, 1000, 5000)]
    assert times == sorted(times)
    assert times[0] >= 10
    assert times[-1] == KITCHEN_MAX_SECONDS == 60
    # A cap below the default wins.
    assert search_seconds(1000, cap=15) == 15


def test_the_kitchens_defaults_cost_riders_and_fit_the_time_to_the_day():
    params = SolveParams.for_kitchen()
    assert params.vehicle_cost == round(RIDER_COST_KM * 1000) > 0
    assert params.time_by_stops
    chosen = SolveParams.for_kitchen(time_limit=7, rider_cost_km=2.5)
    assert (chosen.time_limit, chosen.time_by_stops, chosen.vehicle_cost) == (7, False, 2500)
    with pytest.raises(ValueError, match="rider_cost_km"):
        SolveParams.for_kitchen(rider_cost_km=-1)


def kitchen_day(seed, n):
    """A small kitchen's lunch: clustered doors, 15-minute windows, riders carrying 6 meals,
    a 20-minute ride limit; every rule binds somewhere."""
    rng = random.Random(seed)
    centres = [(rng.uniform(-600, 600), rng.uniform(-600, 600)) for _ in range(5)]
    stops = []
    for i in range(n):
        cx, cy = rng.choice(centres)
        start = rng.randrange(300, 2400, 60)
        stops.append(
            make_stop(
                f"s{i:03d}",
                round(rng.gauss(cx, 80)),
                round(rng.gauss(cy, 80)),
                demand=rng.choice((1, 1, 1, 2)),
                window=(start, start + 900),
                service=rng.choice((30, 90)),
                priority=rng.choice((0, 0, 1)),
            )
        )
    riders = [make_rider(f"r{k:02d}", capacity=6, shift=(0, 4000)) for k in range(n // 2)]
    return make_problem(stops, riders, max_ride_time=1200)


def test_the_kitchens_decomposition_keeps_every_rule():
    problem = kitchen_day(5, 80)
    params = SolveParams.for_kitchen(rider_cost_km=0.5)
    params = replace(
        params, deterministic=True, solution_limit=30, decompose_above=40, part_size=20
    )
    plan = solve(problem, params)
    assert plan.config.startswith("decomposed")
    # routing.check recomputes every time and load: ride limit, windows, capacity, shifts.
    result = check_plan(problem, plan)
    assert result.feasible, result.violations
    assert not plan.unassigned
    assert result.distance == plan.distance
    # The objective counts the riders as the search did.
    assert plan.objective == plan.distance + 500 * len(plan.routes)


def test_a_kitchens_day_of_more_than_60_stops_is_planned_in_parts_and_keeps_every_rule():
    # Where one search stops paying: see SolveParams.decompose_above.
    exact = dict(deterministic=True, solution_limit=20)
    small = kitchen_day(6, 60)
    assert not solve(small, replace(SolveParams.for_kitchen(), **exact)).config.startswith(
        "decomposed"
    )
    problem = kitchen_day(6, 61)
    plan = solve(problem, replace(SolveParams.for_kitchen(), **exact))
    assert plan.config.startswith("decomposed")
    result = check_plan(problem, plan)
    assert result.feasible, result.violations
    assert not plan.unassigned
