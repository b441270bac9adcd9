"""The problem model refuses bad data on construction and names the field."""

import pytest

from routing import Depot, GeoPoint, Matrices, Mode, PlanePoint, Problem, Rider, Stop, TimeWindow
from tests.routing.factories import make_problem, make_rider, make_stop


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: GeoPoint(91.0, 0.0), "lat"),
        (lambda: GeoPoint(0.0, 181.0), "lon"),
        (lambda: TimeWindow(10, 5), "window.end"),
        (lambda: TimeWindow(-1, 5), "window.start"),
        (lambda: Stop("s", PlanePoint(0, 0), demand=-1), "demand"),
        (lambda: Stop("s", PlanePoint(0, 0), service=-5), "service"),
        (lambda: Stop("", PlanePoint(0, 0)), "id"),
        (lambda: Rider("r", capacity=-1, shift_start=0, shift_end=1, start="k"), "capacity"),
        (lambda: Rider("r", capacity=1, shift_start=5, shift_end=1, start="k"), "shift_end"),
        (
            lambda: Rider("r", capacity=1, shift_start=0, shift_end=1, start="k", mode="boat"),
            "mode",
        ),
    ],
)
def test_bad_values_are_refused_with_the_field_named(build, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        build()


def test_rider_from_an_unknown_kitchen_is_refused():
    with pytest.raises(ValueError, match=r"^riders.start:"):
        make_problem([make_stop("a", 1)], [make_rider("r", start="elsewhere")])


def test_duplicate_stop_ids_are_refused():
    with pytest.raises(ValueError, match=r"^stops:"):
        make_problem([make_stop("a", 1), make_stop("a", 2)], [make_rider("r")])


def test_matrices_must_cover_every_node_and_every_mode():
    depot = Depot("k", PlanePoint(0, 0))
    stop = make_stop("a", 1)
    square = [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match=r"^matrices:"):
        Problem(
            depots=(depot,),
            stops=(stop, make_stop("b", 2)),
            riders=(make_rider("r"),),
            matrices=Matrices(distance=square, time={Mode.EBIKE: square}),
        )
    with pytest.raises(ValueError, match=r"^matrices.time:"):
        Problem(
            depots=(depot,),
            stops=(stop,),
            riders=(make_rider("r", mode=Mode.WALK),),
            matrices=Matrices(distance=square, time={Mode.EBIKE: square}),
        )
    with pytest.raises(ValueError, match=r"^distance:"):
        Matrices(distance=[[0, 1], [1]], time={Mode.EBIKE: square})


def test_default_ride_time_limit_is_45_minutes():
    problem = Problem(depots=(Depot("k", GeoPoint(31.2, 121.4)),), stops=(), riders=())
    assert problem.max_ride_time == 45 * 60
