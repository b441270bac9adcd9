"""The independent checker rejects known-bad plans, and agrees with a plain re-simulation."""

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from routing import check_routes
from tests.routing.factories import make_problem, make_rider, make_stop


def line_problem(max_ride_time=None, capacity=10):
    stops = [
        make_stop("a", 10, demand=2, window=(0, 100)),
        make_stop("b", 20, demand=2, window=(0, 100)),
        make_stop("c", 30, demand=2, window=(0, 35)),
    ]
    return make_problem(
        stops, [make_rider("r1", capacity=capacity), make_rider("r2")], max_ride_time=max_ride_time
    )


def test_a_good_plan_passes_with_its_distance_recomputed():
    result = check_routes(line_problem(), {"r1": ["a", "b", "c"]})
    assert result.feasible, result.violations
    assert result.distance == 60
    assert result.vehicles == 1


def test_over_capacity_is_rejected():
    result = check_routes(line_problem(capacity=5), {"r1": ["a", "b", "c"]})
    assert result.kinds() == {"capacity"}


def test_late_arrival_is_rejected():
    result = check_routes(line_problem(), {"r1": ["a", "c", "b"]}, departures={"r1": 10})
    assert result.kinds() == {"time_window"}
    assert result.violations[0].stop_id == "c"


def test_missing_and_duplicate_customers_are_rejected():
    assert check_routes(line_problem(), {"r1": ["a", "b"]}).kinds() == {"missing"}
    duplicate = check_routes(line_problem(), {"r1": ["a", "b", "c"], "r2": ["a"]})
    assert duplicate.kinds() == {"duplicate"}


def test_unassigned_stops_count_as_missing_only_when_all_are_required():
    problem = line_problem()
    lenient = check_routes(problem, {"r1": ["a", "b"]}, unassigned=["c"], require_all=False)
    assert lenient.feasible
    strict = check_routes(problem, {"r1": ["a", "b"]}, unassigned=["c"], require_all=True)
    assert strict.kinds() == {"missing"}


def test_ride_time_exceeded_is_rejected_even_when_caused_by_waiting():
    # c is reached at 30 (inside its window), but b's window opens late and a waits.
    problem = make_problem(
        [make_stop("a", 10, window=(0, 20)), make_stop("b", 20, window=(500, 600))],
        [make_rider("r")],
        max_ride_time=100,
    )
    assert check_routes(problem, {"r": ["a", "b"]}).kinds() == {"ride_time"}
    assert check_routes(problem, {"r": ["a", "b"]}, departures={"r": 450}).kinds() == {
        "time_window"
    }
    assert check_routes(problem, {"r": ["b"]}, departures={"r": 480}, require_all=False)


def test_returning_after_the_shift_and_unknown_names_are_rejected():
    problem = make_problem([make_stop("a", 50)], [make_rider("r", shift=(0, 60))])
    assert check_routes(problem, {"r": ["a"]}).kinds() == {"horizon"}
    assert "unknown_stop" in check_routes(problem, {"r": ["a", "zz"]}).kinds()
    assert "unknown_rider" in check_routes(problem, {"ghost": ["a"]}).kinds()


def simulate(problem, routes, limit):
    """A second, deliberately naive reading of the rules, for the property test."""
    distance = {s.id: s.location.x for s in problem.stops}
    broken = set()
    for rider_id, route in routes.items():
        rider = next(r for r in problem.riders if r.id == rider_id)
        position, now, load = 0, rider.shift_start, 0
        for stop_id in route:
            stop = next(s for s in problem.stops if s.id == stop_id)
            now += abs(distance[stop_id] - position)
            now = max(now, stop.window.start)
            if now > stop.window.end:
                broken.add("time_window")
            if limit is not None and now - rider.shift_start > limit:
                broken.add("ride_time")
            load += stop.demand
            now += stop.service
            position = distance[stop_id]
        if route and now + abs(position) > rider.shift_end:
            broken.add("horizon")
        if load > rider.capacity:
            broken.add("capacity")
    return broken


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 6),
    limit=st.one_of(st.none(), st.integers(20, 200)),
)
def test_checker_agrees_with_a_naive_simulation_on_random_plans(data, n, limit):
    stops = []
    for i in range(n):
        opens = data.draw(st.integers(0, 150))
        stops.append(
            make_stop(
                f"s{i}",
                data.draw(st.integers(0, 60)),
                demand=data.draw(st.integers(0, 4)),
                window=(opens, opens + data.draw(st.integers(0, 100))),
                service=data.draw(st.integers(0, 10)),
            )
        )
    riders = [make_rider("r1", capacity=6, shift=(0, 300)), make_rider("r2", capacity=6)]
    problem = make_problem(stops, riders, max_ride_time=limit)
    order = data.draw(st.permutations([s.id for s in stops]))
    cut = data.draw(st.integers(0, n))
    routes = {"r1": list(order[:cut]), "r2": list(order[cut:])}
    result = check_routes(problem, routes)
    assert result.kinds() == simulate(problem, routes, limit)
    expected = sum(
        abs(a) for route in routes.values() for a in _legs([problem_x(problem, s) for s in route])
    )
    assert result.distance == expected


def problem_x(problem, stop_id):
    return next(s.location.x for s in problem.stops if s.id == stop_id)


def _legs(xs):
    if not xs:
        return []
    points = [0, *xs, 0]
    return [b - a for a, b in pairwise(points)]
