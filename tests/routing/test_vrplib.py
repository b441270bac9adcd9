"""The VRPLIB reader on the Solomon files: the published solutions are feasible at their cost."""

from pathlib import Path

import pytest

from routing import check_routes
from routing.vrplib import (
    SCALE,
    dimacs_distance,
    read_instance,
    read_solution,
    stop_id,
    write_solution,
)

SOLOMON = Path("/work/shared/benchmarks/solomon")
HOMBERGER = Path("/work/shared/benchmarks/homberger200")
pytestmark = pytest.mark.skipif(not SOLOMON.exists(), reason="benchmark data not present")


def as_routes(instance, solution):
    riders = [r.id for r in instance.problem.riders]
    return {riders[k]: [stop_id(c) for c in route] for k, route in enumerate(solution.routes)}


def test_distances_are_truncated_to_one_decimal_and_scaled_to_integers():
    assert dimacs_distance(0, 0, 1, 1) == 14  # sqrt(2) = 1.414... -> 1.4
    assert dimacs_distance(0, 0, 3, 4) == 50
    assert dimacs_distance(0, 0, 0.99999, 0) == 9


def test_c101_is_read_as_written():
    instance = read_instance(SOLOMON / "C101.vrp")
    problem = instance.problem
    assert instance.name == "C101"
    assert (instance.vehicles, instance.capacity) == (25, 200)
    assert len(problem.stops) == 100
    assert len(problem.riders) == 25
    first = problem.stops[0]
    assert (first.location.x, first.location.y, first.demand) == (45, 68, 10)
    assert (first.window.start, first.window.end, first.service) == (9120, 9670, 900)
    assert (problem.riders[0].shift_start, problem.riders[0].shift_end) == (0, 12360)
    assert problem.max_ride_time is None


def test_c101_solution_round_trips_and_is_feasible_at_its_stated_cost(tmp_path):
    instance = read_instance(SOLOMON / "C101.vrp")
    solution = read_solution(SOLOMON / "C101.sol")
    result = check_routes(instance.problem, as_routes(instance, solution))
    assert result.feasible, result.violations
    assert result.distance == round(solution.cost * SCALE)
    assert result.vehicles == 10

    write_solution(tmp_path / "again.sol", [list(r) for r in solution.routes], solution.cost)
    assert read_solution(tmp_path / "again.sol") == solution


@pytest.mark.parametrize(
    "path", sorted([*SOLOMON.glob("*.sol"), *HOMBERGER.glob("*.sol")]), ids=lambda p: p.stem
)
def test_every_published_solution_is_feasible_at_its_cost(path):
    instance = read_instance(path.with_suffix(".vrp"))
    solution = read_solution(path)
    result = check_routes(instance.problem, as_routes(instance, solution))
    assert result.feasible, result.violations
    assert result.distance == round(solution.cost * SCALE)


def test_a_file_of_another_type_is_refused(tmp_path):
    path = tmp_path / "x.vrp"
    path.write_text("NAME : X\nTYPE : CVRP\nDIMENSION : 1\n")
    with pytest.raises(ValueError, match=r"^TYPE:"):
        read_instance(path)
