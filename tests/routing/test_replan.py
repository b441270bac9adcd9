"""Re-planning mid-round: delivered stops are gone, riders go on from where they are."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from routing import PlanePoint, SolveParams, check_plan, replan, replan_problem, solve
from tests.routing.factories import make_problem, make_rider, make_stop

EXACT = SolveParams(deterministic=True, solution_limit=50)


def two_rider_problem(max_ride_time=None):
    stops = [make_stop(f"e{i}", 10 * i, 5) for i in range(1, 4)]
    stops += [make_stop(f"w{i}", -10 * i, 5) for i in range(1, 4)]
    return make_problem(
        stops,
        [make_rider("r1", capacity=3), make_rider("r2", capacity=3)],
        max_ride_time=max_ride_time,
    )


def test_delivered_stops_are_removed_and_the_rider_continues_from_its_position():
    problem = two_rider_problem()
    plan = solve(problem, EXACT)
    route = plan.routes[0]
    first = route.visits[0]
    now = first.start + 1
    here = next(s.location for s in problem.stops if s.id == first.stop_id)

    remaining = replan_problem(
        problem,
        plan,
        now=now,
        delivered=[first.stop_id],
        positions={route.rider_id: here},
        provider=_plane_provider(),
    )
    assert first.stop_id not in {s.id for s in remaining.stops}
    moving = next(r for r in remaining.riders if r.id == route.rider_id)
    assert moving.shift_start == now
    assert moving.departed_at == route.departure
    on_board = {s.id for s in remaining.stops if s.rider_id == route.rider_id}
    assert on_board == set(route.stop_ids[1:])

    again = solve(remaining, EXACT)
    assert check_plan(remaining, again).feasible
    assert set(again.route_of(route.rider_id).stop_ids) == on_board
    assert not again.unassigned


def test_replan_solves_the_remaining_problem():
    problem = two_rider_problem()
    plan = solve(problem, EXACT)
    route = plan.routes[0]
    again = replan(
        problem,
        plan,
        now=route.visits[0].start,
        delivered=[route.visits[0].stop_id],
        positions={},
        params=EXACT,
        provider=_plane_provider(),
    )
    served = {s for r in again.routes for s in r.stop_ids}
    assert served == {s.id for s in problem.stops} - {route.visits[0].stop_id}


def test_meals_on_board_keep_counting_ride_time_from_the_kitchen():
    # r1 left at 0 with e1..e3; at 25 it is at e2 having delivered e1 and e2. The limit of 40
    # is already nearly used, so e3 (10 more) is still fine but nothing else could be added.
    problem = make_problem(
        [make_stop("e1", 10), make_stop("e2", 20), make_stop("e3", 30), make_stop("x", 5)],
        [make_rider("r1"), make_rider("r2")],
        max_ride_time=40,
    )
    plan = solve(problem, EXACT)
    assert check_plan(problem, plan).feasible
    rider = next(r for r in plan.routes if "e3" in r.stop_ids)
    delivered = [s for s in rider.stop_ids if s != "e3"]
    remaining = replan_problem(
        problem,
        plan,
        now=rider.departure + 25,
        delivered=delivered,
        positions={rider.rider_id: PlanePoint(20, 0)},
        provider=_plane_provider(),
    )
    again = solve(remaining, EXACT)
    assert check_plan(remaining, again).feasible
    assert again.route_of(rider.rider_id).stop_ids == ["e3"]
    late = replan_problem(
        problem,
        plan,
        now=rider.departure + 35,
        delivered=delivered,
        positions={rider.rider_id: PlanePoint(20, 0)},
        provider=_plane_provider(),
    )
    assert [u.stop_id for u in solve(late, EXACT).unassigned] == ["e3"]


def _plane_provider():
    """Rounded Euclidean distance, 1 unit per second, like the factories."""
    import math

    from routing import Matrices

    class Plane:
        def matrices(self, locations, modes):
            d = [[round(math.hypot(a.x - b.x, a.y - b.y)) for b in locations] for a in locations]
            return Matrices(distance=d, time={m: d for m in modes})

    return Plane()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), limit=st.one_of(st.none(), st.integers(60, 400)))
def test_every_plan_the_solver_returns_passes_the_checker(seed, limit):
    rng = random.Random(seed)
    stops = [
        make_stop(
            f"s{i:02d}",
            rng.randint(-60, 60),
            rng.randint(-60, 60),
            demand=rng.randint(1, 4),
            window=(w := rng.randint(0, 400), w + rng.randint(0, 300)),
            service=rng.randint(0, 15),
            priority=rng.choice([0, 0, 0, 1]),
        )
        for i in range(rng.randint(1, 12))
    ]
    riders = [make_rider(f"r{k}", capacity=rng.randint(3, 12)) for k in range(rng.randint(1, 3))]
    problem = make_problem(stops, riders, max_ride_time=limit)
    plan = solve(problem, SolveParams(deterministic=True, solution_limit=20))
    result = check_plan(problem, plan)
    assert result.feasible, result.violations
    assert result.distance == plan.distance
    for route in plan.routes:
        for visit in route.visits:
            stop = next(s for s in stops if s.id == visit.stop_id)
            assert stop.window.start <= visit.start <= stop.window.end
