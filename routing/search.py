"""One OR-Tools search of a delivery problem (`solve_one`), and the parameters every search
takes: what the planner (routing.solver) runs in turns and the decomposition
(routing.decompose) runs on each part and group."""

from __future__ import annotations

import itertools
import time as clock
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ortools.constraint_solver import (
    pywrapcp,
    routing_enums_pb2,
    routing_heuristic_parameters_pb2,
    routing_ils_pb2,
)
from ortools.util import optional_boolean_pb2

from routing.distance import GreatCircleProvider
from routing.model import (
    Mode,
    Plan,
    Problem,
    Reason,
    Rider,
    Route,
    Stop,
    Unassigned,
    Visit,
)

if TYPE_CHECKING:
    from ortools.constraint_solver.routing_parameters_pb2 import RoutingSearchParameters

FIRST_SOLUTION = routing_enums_pb2.FirstSolutionStrategy.Value
METAHEURISTIC = routing_enums_pb2.LocalSearchMetaheuristic.Value
OPTIONAL_BOOL = optional_boolean_pb2.OptionalBoolean
INSERTION_ORDER = (
    routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters.InsertionSortingProperty
)


# A rider used costs as much as this many kilometres ridden. In money a rider is worth far
# more: a lunch round is paid about 75 yuan (three hours at 25 yuan), a kilometre costs a few
# fen of power. But kilometres are also the meals' time in the box and the riders' effort
# (about four minutes each on an e-bike), which the programme is there to keep short. 5 km,
# some 20 minutes of riding spread over the other routes, is what a rider fewer may cost: the
# plan sends one rider fewer where the others take the stops with a short detour, and does not
# stretch every route to the ride limit to save one.
RIDER_COST_KM = 5.0
# A kitchen's search gets `SECONDS_PER_STOP` a stop, from `KITCHEN_MIN_SECONDS` to
# `KITCHEN_MAX_SECONDS`: planning starts at the cutoff, an hour or more before the riders
# leave, and OR-Tools' search over a larger day needs longer to settle (generated 300-stop
# day, seed 2, one core, a loaded machine: 159.7 km and 21 riders at 60 s against 166.5 km
# and 22 riders at 30 s; PyVRP's was 151.0 km at 30 s).
SECONDS_PER_STOP = 0.2
KITCHEN_MIN_SECONDS = 10.0
KITCHEN_MAX_SECONDS = 60.0


def search_seconds(stops: int, cap: float = KITCHEN_MAX_SECONDS) -> float:
    """The search time a kitchen's day of `stops` doors gets by default (at most `cap`)."""
    return min(cap, KITCHEN_MAX_SECONDS, max(KITCHEN_MIN_SECONDS, SECONDS_PER_STOP * stops))


@dataclass(frozen=True, slots=True)
class SolveParams:
    """How hard and how to search.

    `deterministic` replaces the time limit by a solution limit (a time-limited search is not
    reproducible), so tests get the same plan every run; it runs one search only. `workers` > 1
    runs differently configured searches in separate processes (fork) and keeps the best plan.
    """

    time_limit: float = 10.0
    deterministic: bool = False
    solution_limit: int = 300
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    gls_lambda: float = 0.1
    # Let a multi-armed bandit pick which neighbourhood to try next, by past success; on the
    # Solomon set this beat the fixed operator order at equal time.
    bandit_operators: bool = True
    workers: int = 1
    # Searches per worker, one after another, each with its own configuration (see
    # PORTFOLIO_VARIANTS); the time limit is shared between them.
    restarts: int = 1
    # Cost of one rider leaving the kitchen; 0 minimises distance only (the DIMACS convention).
    vehicle_cost: int = 0
    # Dropping a priority-p stop costs (1 + priority_weight * p) times a normal drop.
    priority_weight: int = 100
    # False: every stop must be served (a benchmark's rule); the search space is smaller. If no
    # plan serves them all, the solver falls back to allowing drops.
    allow_drops: bool = True
    # Prefer food leaving the kitchen as late as the route allows (shorter time in the box).
    late_departure: bool = True
    log_search: bool = False
    # Search in a child process. OR-Tools holds Python's global lock for the whole search, so
    # a process that plans on one thread and serves people on others (`mealaid serve` on
    # SQLite; a worker's heartbeat) would stand still for the full time limit without this.
    apart: bool = False
    # Iterated local search: ruin part of the plan (SISR: strings of nearby stops removed from
    # nearby routes), recreate it by cheapest insertion, and accept by simulated annealing; the
    # ruin-and-recreate scheme of the strongest VRPTW solvers. Replaces `metaheuristic` when on
    # (not in deterministic mode, which keeps guided local search and its solution limit).
    # Measured on 12 Solomon instances at 10 s, one search: 1.3% mean gap against 3.2% for the
    # guided-local-search portfolio on two cores. `ils_removed` is the mean number of stops
    # removed per ruin.
    ils: bool = True
    ils_removed: int = 10
    # Starting temperature in cost units (metres on a city day, a tenth of a unit on Solomon):
    # a plan this much longer is accepted as the new reference with probability 1/e at first;
    # it cools to a hundredth of that by the time limit. 300 and 3000 did worse on Solomon.
    # With the random recreate order, lower ones (200-500, or OR-Tools' automatic temperatures)
    # helped R1 but stalled R2/RC2 (R211 6-9% against 1-3%), and cooling to a thousandth did
    # no better on all 56 instances (1.27% mean gap against 1.18%). With two workers the
    # second runs at 250 (see ILS_PORTFOLIO_VARIANTS).
    ils_temperature: float = 1000.0
    # Local search after every recreate, with the cheap moves only (ILS_OPERATORS). With all of
    # OR-Tools' operators it cost most of each iteration (Solomon, 12 instances at 10 s: 2.6%
    # mean gap against 1.3% without it); with the five cheap ones, all 56 at 10 s on two cores
    # came out at 0.92%, 0.91% and 0.92% in three runs against 1.25% without it (same machine).
    # A kitchen's day as `mealaid plan` solves it (one worker, 10 s): 300 stops of the generated
    # city day 204.1 km against 243.8 km without (the whole set's first descent ate the time);
    # three 100-stop slices 136.3 km against 136.5. Guided local search from the best ILS plan
    # in the last fifth of the time did not help (1.22% against 1.18%).
    ils_improve: bool = True
    # Recreate inserts the removed stops in a random order, as in SISR, so each recreate tries
    # another plan; in the model's fixed order the same stops were rebuilt the same way (all 56
    # Solomon instances at 10 s on two cores: 1.18% mean gap against 1.72%). Decomposed city
    # days keep the fixed order (see routing/decompose.py).
    ils_random_order: bool = True
    # A single-kitchen day with more stops than this is solved in parts of about `part_size`
    # stops on `workers` cores, then improved across the parts' borders (routing/decompose.py);
    # 0 never decomposes. Generated city days, one core, a loaded machine (2026-12-05, three
    # seeds each): at 50 stops one search was shorter (142.6 km in all against 145.6), at 75
    # the parts (177.7 against 179.9), at 100 (213.3 against 215.2, at 20 s) and 150 too, at
    # 200 by 7% (three riders fewer on one seed), at 300-600 by 8-30%. The threshold sits
    # between the two sizes measured either way.
    decompose_above: int = 60
    part_size: int = 100
    # `time_limit` is a cap: the search takes `search_seconds(stops)` up to it (what a
    # kitchen's plan gets by default, see `for_kitchen`).
    time_by_stops: bool = False

    def __post_init__(self) -> None:
        if self.time_limit <= 0:
            raise ValueError(f"time_limit: must be positive, got {self.time_limit}")
        if self.solution_limit <= 0:
            raise ValueError(f"solution_limit: must be positive, got {self.solution_limit}")
        if self.first_solution not in FIRST_SOLUTION.keys():  # noqa: SIM118 (protobuf enum wrapper)
            raise ValueError(f"first_solution: unknown strategy {self.first_solution!r}")
        if self.metaheuristic not in METAHEURISTIC.keys():  # noqa: SIM118
            raise ValueError(f"metaheuristic: unknown {self.metaheuristic!r}")
        if self.workers < 1:
            raise ValueError(f"workers: must be >= 1, got {self.workers}")
        if self.restarts < 1:
            raise ValueError(f"restarts: must be >= 1, got {self.restarts}")
        if self.vehicle_cost < 0 or self.priority_weight < 0:
            raise ValueError("vehicle_cost/priority_weight: must be >= 0")
        if self.decompose_above < 0:
            raise ValueError(f"decompose_above: must be >= 0, got {self.decompose_above}")
        if self.ils_removed < 1:
            raise ValueError(f"ils_removed: must be >= 1, got {self.ils_removed}")
        if self.ils_temperature <= 0:
            raise ValueError(f"ils_temperature: must be positive, got {self.ils_temperature}")
        if self.part_size < 10:
            raise ValueError(f"part_size: must be >= 10, got {self.part_size}")

    @classmethod
    def for_kitchen(
        cls,
        *,
        time_limit: float | None = None,
        rider_cost_km: float = RIDER_COST_KM,
        apart: bool = False,
        workers: int = 1,
    ) -> SolveParams:
        """How a kitchen's meal is planned: each rider used costs `rider_cost_km` kilometres'
        worth, without a `time_limit` the search time fits the day (`search_seconds`), and
        the search runs on `workers` cores (the surface says how many it may take)."""
        if rider_cost_km < 0:
            raise ValueError(f"rider_cost_km: must be >= 0, got {rider_cost_km}")
        return cls(
            time_limit=KITCHEN_MAX_SECONDS if time_limit is None else time_limit,
            time_by_stops=time_limit is None,
            vehicle_cost=round(rider_cost_km * 1000),
            apart=apart,
            workers=workers,
        )

    @property
    def uses_ils(self) -> bool:
        return self.ils and not self.deterministic

    @property
    def label(self) -> str:
        bandit = "+bandit" if self.bandit_operators else ""
        search = f"ils({self.ils_removed})" if self.uses_ils else self.metaheuristic.lower()
        return f"{self.first_solution.lower()}+{search}{bandit}"


# Second, third... workers search differently from the first, so the portfolio covers more ground.
# Guided local search in OR-Tools stalls early on tight time windows (on Solomon R/RC the best
# plan after 2.5 s was often the best after 10 s), and where it stalls depends strongly on the
# first solution and the operator order. So a portfolio of short, differently started searches
# beats one long search: worker w runs variants w, w + workers, ... one after another.
PORTFOLIO_VARIANTS: tuple[dict[str, Any], ...] = (
    {},
    {"first_solution": "SAVINGS"},
    {"bandit_operators": False},
    {"first_solution": "SAVINGS", "bandit_operators": False},
    {"first_solution": "SEQUENTIAL_CHEAPEST_INSERTION"},
    {"gls_lambda": 0.05},
    {"first_solution": "LOCAL_CHEAPEST_INSERTION"},
    {"first_solution": "PATH_CHEAPEST_ARC"},
)


# With iterated local search the workers differ by first solution, temperature and ruin size.
# Each search needs its whole time: three 3.3 s searches per core did worse on Solomon than one
# of 10 s (2.1% against 1.6% mean gap on 12 instances), so `restarts` stays 1 for ILS. The
# second worker runs cooler: a low temperature suits many short routes with tight windows
# (R1, RC1) and stalls on a few long ones (R2), where the first worker's suits. All 56 Solomon
# instances at 10 s, two runs each: 1.10% and 1.14% mean gap against 1.18% and 1.22% with both
# workers at 1000 (R1 1.2-1.5% against 1.4-1.6%, RC1 2.2-2.7% against 2.8-3.2%).
ILS_PORTFOLIO_VARIANTS: tuple[dict[str, Any], ...] = (
    {},
    {"first_solution": "SAVINGS", "ils_temperature": 250.0},
    {"first_solution": "LOCAL_CHEAPEST_INSERTION"},
    {"first_solution": "SEQUENTIAL_CHEAPEST_INSERTION"},
    {"ils_removed": 15},
    {"first_solution": "SAVINGS", "ils_removed": 15},
)


# The moves of the local search under iterated local search (after the first solution, and
# with `ils_improve` after every recreate): move a stop, swap two stops, swap route ends
# (2-opt*), reverse a stretch, move a short chain. OR-Tools' default set adds large-neighbourhood
# and chain operators that each try hundreds of insertions per step. A decomposed day's parts
# and groups (no `ils_improve`) ran their first descent with the default set until 2026-12-05:
# with these five it leaves more of a group's second or two to ruin and recreate (generated
# days of 600 and 1,000 stops, seeds 1 and 2, 60 s on two workers, interleaved at load 8-12:
# 276.7 / 493.0 / 281.9 / 472.2 km against 286.7 / 501.9 / 281.8 / 473.9).
ILS_OPERATORS = ("use_relocate", "use_exchange", "use_cross", "use_two_opt", "use_or_opt")


@dataclass(slots=True)
class _Model:
    """The problem as OR-Tools sees it: sorted, with matrices permuted to match."""

    problem: Problem
    stops: list[Stop]
    riders: list[Rider]
    distance: list[list[int]]
    time: dict[Mode, list[list[int]]]
    depot_count: int


def _prepare(problem: Problem) -> _Model:
    # Sorting makes the plan independent of the order the caller listed stops and riders in.
    matrices = problem.matrices
    if matrices is None:
        matrices = GreatCircleProvider().matrices(
            problem.locations, {r.mode for r in problem.riders}
        )
    depot_count = len(problem.depots)
    order = sorted(range(len(problem.stops)), key=lambda i: problem.stops[i].id)
    nodes = list(range(depot_count)) + [depot_count + i for i in order]
    if nodes == list(range(len(nodes))):
        distance = [list(row) for row in matrices.distance]
        time = {mode: [list(row) for row in m] for mode, m in matrices.time.items()}
    else:
        distance = [[matrices.distance[a][b] for b in nodes] for a in nodes]
        time = {
            mode: [[m[a][b] for b in nodes] for a in nodes] for mode, m in matrices.time.items()
        }
    return _Model(
        problem=problem,
        stops=[problem.stops[i] for i in order],
        riders=sorted(problem.riders, key=lambda r: r.id),
        distance=distance,
        time=time,
        depot_count=depot_count,
    )


def _search_parameters(params: SolveParams, time_limit: float) -> RoutingSearchParameters:
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = FIRST_SOLUTION.Value(params.first_solution)
    search.local_search_metaheuristic = METAHEURISTIC.Value(params.metaheuristic)
    search.guided_local_search_lambda_coefficient = params.gls_lambda
    search.use_multi_armed_bandit_concatenate_operators = params.bandit_operators
    if params.deterministic:
        search.solution_limit = params.solution_limit
        # Generous safety net only; the solution limit is what normally stops the search.
        search.time_limit.FromMilliseconds(int(max(time_limit, 60.0) * 1000))
    else:
        search.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    search.log_search = params.log_search
    if params.uses_ils:
        # ILS builds its start with the first-solution strategy and the metaheuristic: guided
        # local search there never stops, and no ruin-and-recreate would run.
        search.local_search_metaheuristic = METAHEURISTIC.Value("GREEDY_DESCENT")
        search.use_iterated_local_search = True
        ils = search.iterated_local_search_parameters
        ils.perturbation_strategy = routing_ils_pb2.PerturbationStrategy.RUIN_AND_RECREATE
        ruin = ils.ruin_recreate_parameters
        del ruin.ruin_strategies[:]
        sisr = ruin.ruin_strategies.add().sisr
        sisr.max_removed_sequence_size = 10
        sisr.avg_num_removed_visits = params.ils_removed
        sisr.bypass_factor = 0.01
        ruin.recreate_strategy.heuristic = FIRST_SOLUTION.Value("LOCAL_CHEAPEST_INSERTION")
        if params.ils_random_order:
            recreate = ruin.recreate_strategy.parameters.local_cheapest_insertion
            recreate.insertion_sorting_properties.append(
                INSERTION_ORDER.Value("SORTING_PROPERTY_RANDOM")
            )
        ils.improve_perturbed_solution = params.ils_improve
        operators = search.local_search_operators
        for field in operators.DESCRIPTOR.fields:
            on = "BOOL_TRUE" if field.name in ILS_OPERATORS else "BOOL_FALSE"
            setattr(operators, field.name, OPTIONAL_BOOL.Value(on))
        annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
        annealing.initial_temperature = params.ils_temperature
        annealing.final_temperature = params.ils_temperature / 100
        annealing.cooling_schedule_strategy = routing_ils_pb2.CoolingScheduleStrategy.EXPONENTIAL
    return search


def _search(
    routing: pywrapcp.RoutingModel, params: SolveParams, search: RoutingSearchParameters
) -> pywrapcp.Assignment | None:
    """Search from the first-solution strategy. SolveWithParameters ignores
    use_iterated_local_search: ILS has its own entry point."""
    if params.uses_ils:
        return routing.SolveWithIteratedLocalSearch(search)
    return routing.SolveWithParameters(search)


def solve_one(
    problem: Problem,
    params: SolveParams,
    deadline: float,
    initial: Mapping[str, list[str]] | None = None,
) -> Plan:
    """One OR-Tools search; `initial` (rider id -> stop ids) seeds it when it is feasible."""
    started = clock.monotonic()
    model = _prepare(problem)
    riders, stops, dc = model.riders, model.stops, model.depot_count
    n_nodes = dc + len(stops)
    if not riders or not stops:
        return Plan(
            routes=(),
            unassigned=tuple(_unassigned(model, range(len(stops)))),
            seconds=clock.monotonic() - started,
            config=params.label,
        )
    depot_node = {d.id: i for i, d in enumerate(problem.depots)}
    manager = pywrapcp.RoutingIndexManager(
        n_nodes,
        len(riders),
        [depot_node[r.start] for r in riders],
        [depot_node[r.end_depot] for r in riders],
    )
    routing = pywrapcp.RoutingModel(manager)

    distance_cb = routing.RegisterTransitMatrix(model.distance)
    routing.SetArcCostEvaluatorOfAllVehicles(distance_cb)
    if params.vehicle_cost:
        routing.SetFixedCostOfAllVehicles(params.vehicle_cost)

    service = [0] * dc + [s.service for s in stops]
    horizon = max(
        [r.shift_end for r in riders] + [s.window.end for s in stops if s.window is not None]
    )
    # Transit i->j is service at i plus travel, so cumul(i) is the moment service at i starts.
    limit = problem.max_ride_time
    # With one end depot, shift end and mode for all riders, the ride-time limit is a bound on
    # each route's span that OR-Tools' local-search filters see (see _span_ride_time); else
    # it is posted as a constraint the filters do not see, which is exact but searches slowly.
    span_ride = (
        limit is not None
        and len({(r.end_depot, r.shift_end, r.mode, r.departed_at is None) for r in riders}) == 1
    )
    time_cb = {
        mode: routing.RegisterTransitMatrix(
            [
                [0 if span_ride and b < dc else service[a] + row[b] for b in range(n_nodes)]
                for a, row in enumerate(matrix)
            ]
        )
        for mode, matrix in model.time.items()
    }
    # Slack is waiting (early arrival, or at the kitchen); the start cumul is not fixed to zero
    # because a rider may leave the kitchen later than the shift starts.
    routing.AddDimensionWithVehicleTransits(
        [time_cb[r.mode] for r in riders], horizon, horizon, False, "time"
    )
    time = routing.GetDimensionOrDie("time")
    for v, rider in enumerate(riders):
        time.CumulVar(routing.Start(v)).SetRange(rider.shift_start, rider.shift_end)
        time.CumulVar(routing.End(v)).SetRange(rider.shift_start, rider.shift_end)
    for k, stop in enumerate(stops):
        if stop.window is not None:
            time.CumulVar(manager.NodeToIndex(dc + k)).SetRange(stop.window.start, stop.window.end)
    if span_ride and limit is not None:
        _span_ride_time(routing, manager, model, time, limit)

    demand_cb = routing.RegisterUnaryTransitVector([0] * dc + [s.demand for s in stops])
    routing.AddDimensionWithVehicleCapacity(
        demand_cb, 0, [r.capacity for r in riders], True, "load"
    )

    if limit is not None and not span_ride:
        _add_ride_time(routing, manager, model, time, time_cb, limit, horizon)

    _add_drops_and_pins(routing, manager, model, params)

    if params.late_departure:
        # Finalizers fix variables in the order added: first every rider finishes as early as
        # it can, then, for that finish, leaves the kitchen as late as it can (no food waiting).
        for v in range(len(riders)):
            routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(v)))
        for v in range(len(riders)):
            routing.AddVariableMaximizedByFinalizer(time.CumulVar(routing.Start(v)))

    if params.deterministic:
        # Guided local search never runs out of moves on its own: on a tiny problem it cycles
        # through rejected neighbours without finding new solutions. A branch count stops it
        # there, reproducibly, long before the safety time limit.
        solver = routing.solver()
        routing.AddSearchMonitor(solver.BranchesLimit(200 * params.solution_limit + 10_000))
    remaining = max(0.1, deadline - clock.monotonic())
    search = _search_parameters(params, remaining)
    start_from = None
    follow = None  # the evaluator, held here: OR-Tools keeps no reference to it
    if initial and params.uses_ils:
        # OR-Tools' ILS entry point takes no start, but builds its own from the first-solution
        # strategy: an evaluator that makes only the given routes' arcs free rebuilds exactly
        # those routes (stops they leave out stay unserved), and ILS goes on from there.
        follow = _route_follower(routing, manager, model, initial)
        routing.SetFirstSolutionEvaluator(follow)
        search.first_solution_strategy = FIRST_SOLUTION.Value("EVALUATOR_STRATEGY")
    elif initial:
        start_from = _read_routes(routing, manager, model, initial, search)
    if start_from is not None:
        solution = routing.SolveFromAssignmentWithParameters(start_from, search)
    else:
        solution = _search(routing, params, search)
    if routing.status() == routing_enums_pb2.RoutingSearchStatus.ROUTING_INVALID:
        raise ValueError(f"params: OR-Tools rejected the search parameters ({params.label})")
    if solution is None and not params.allow_drops:
        # Keep the given start: with drops allowed, routes that leave a stop out are valid.
        return solve_one(problem, replace(params, allow_drops=True), deadline, initial)
    if solution is None:
        # The insertion heuristic can fail on tightly constrained inputs; starting from "nobody
        # served" always succeeds because every stop is optional.
        fallback = replace(params, first_solution="ALL_UNPERFORMED")
        remaining = max(0.1, deadline - clock.monotonic())
        solution = _search(routing, fallback, _search_parameters(fallback, remaining))
    if solution is None:
        return Plan(
            routes=(),
            unassigned=tuple(_unassigned(model, range(len(stops)))),
            seconds=clock.monotonic() - started,
            config=params.label,
        )

    routes = []
    served: set[int] = set()
    for v, rider in enumerate(riders):
        index = routing.Start(v)
        departure = solution.Value(time.CumulVar(index))
        sequence = []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            sequence.append(manager.IndexToNode(index) - dc)
            index = solution.Value(routing.NextVar(index))
        if sequence:
            served.update(sequence)
            routes.append(_route(model, rider, departure, sequence))
    dropped = [k for k in range(len(stops)) if k not in served]
    return Plan(
        routes=tuple(routes),
        unassigned=tuple(_unassigned(model, dropped)),
        objective=solution.ObjectiveValue(),
        seconds=clock.monotonic() - started,
        config=params.label,
    )


def _route_follower(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    model: _Model,
    initial: Mapping[str, list[str]],
) -> Callable[[int, int], int]:
    """Arc cost for the first solution: 0 along the given routes (unknown stops skipped),
    a prohibitive cost anywhere else."""
    index_of = {stop.id: k for k, stop in enumerate(model.stops)}
    successor: dict[int, int] = {}
    for v, rider in enumerate(model.riders):
        path = [routing.Start(v)]
        path += [
            manager.NodeToIndex(model.depot_count + index_of[s])
            for s in initial.get(rider.id, [])
            if s in index_of
        ]
        path.append(routing.End(v))
        successor.update(itertools.pairwise(path))

    def cost(i: int, j: int) -> int:
        return 0 if successor.get(i) == j else 1_000_000

    return cost


def _read_routes(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    model: _Model,
    initial: Mapping[str, list[str]],
    search: RoutingSearchParameters,
) -> pywrapcp.Assignment | None:
    """The initial routes as an OR-Tools assignment, or None when they break a rule."""
    index_of = {stop.id: k for k, stop in enumerate(model.stops)}
    routes = []
    for rider in model.riders:
        stop_ids = initial.get(rider.id, [])
        if any(s not in index_of for s in stop_ids):
            return None
        routes.append([manager.NodeToIndex(model.depot_count + index_of[s]) for s in stop_ids])
    routing.CloseModelWithParameters(search)
    return routing.ReadAssignmentFromRoutes(routes, True)


def _span_ride_time(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    model: _Model,
    time: pywrapcp.RoutingDimension,
    limit: int,
) -> None:
    """The ride-time limit, exactly, as span bounds (all riders share end, shift end, mode).

    The time dimension's arcs into a depot take no time here, so a route's end cumul is the
    start of its last service and its span is the last meal's ride time, the longest on the
    route: span <= limit is the rule. The trip home moves into each stop's window instead:
    service must start early enough to get back by the shift's end from there. That is exact
    for the last stop and, by the triangle inequality, implied for the others (stricter, never
    looser, where a matrix breaks it).
    """
    rider = model.riders[0]
    dc = model.depot_count
    depot_node = {d.id: i for i, d in enumerate(model.problem.depots)}
    home = depot_node[rider.end_depot]
    matrix = model.time[rider.mode]
    for k, stop in enumerate(model.stops):
        index = manager.NodeToIndex(dc + k)
        latest = rider.shift_end - stop.service - matrix[dc + k][home]
        earliest = stop.window.start if stop.window is not None else 0
        if stop.window is not None:
            latest = min(latest, stop.window.end)
        if latest < earliest:
            routing.ActiveVar(index).SetValue(0)
        else:
            time.CumulVar(index).SetRange(earliest, latest)
    for v, rider in enumerate(model.riders):
        if rider.departed_at is None:
            time.SetSpanUpperBoundForVehicle(limit, v)
        else:
            # Food on board since departed_at: the clock started before this route's start.
            time.CumulVar(routing.Start(v)).SetValue(rider.shift_start)
            spent = rider.shift_start - rider.departed_at
            time.SetSpanUpperBoundForVehicle(max(0, limit - spent), v)


def _add_ride_time(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    model: _Model,
    time: pywrapcp.RoutingDimension,
    time_cb: Mapping[Mode, int],
    limit: int,
    horizon: int,
) -> None:
    """Ride time of stop i = start of service at i - departure from the kitchen, <= limit.

    Exact part: a zero-transit "departure" dimension carries the route's departure time to every
    node (no slack, so it is constant along the route); then time(i) - departure(i) <= limit.
    Local-search filters do not see that constraint, so a "ride" dimension without waiting (a
    lower bound of the ride time) also caps each stop: moves that are hopeless are filtered
    cheaply, and the exact constraint rejects the rest.
    """
    solver = routing.solver()
    riders, dc = model.riders, model.depot_count
    routing.AddConstantDimension(0, horizon, False, "departure")
    departure = routing.GetDimensionOrDie("departure")
    routing.AddDimensionWithVehicleTransits(
        [time_cb[r.mode] for r in riders], 0, horizon, False, "ride"
    )
    ride = routing.GetDimensionOrDie("ride")
    for v, rider in enumerate(riders):
        start = routing.Start(v)
        if rider.departed_at is None:
            solver.Add(departure.CumulVar(start) == time.CumulVar(start))
            ride.CumulVar(start).SetValue(0)
        else:
            departure.CumulVar(start).SetValue(rider.departed_at)
            ride.CumulVar(start).SetValue(rider.shift_start - rider.departed_at)
    for k in range(len(model.stops)):
        index = manager.NodeToIndex(dc + k)
        ride.CumulVar(index).SetMax(limit)
        solver.Add(time.CumulVar(index) - departure.CumulVar(index) <= limit)


def _add_drops_and_pins(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    model: _Model,
    params: SolveParams,
) -> None:
    riders, dc = model.riders, model.depot_count
    priority_weight, allow_drops = params.priority_weight, params.allow_drops
    base = drop_penalty(model.distance, params.vehicle_cost)
    rider_index = {r.id: v for v, r in enumerate(riders)}
    at_kitchen = [v for v, r in enumerate(riders) if r.departed_at is None]
    any_departed = len(at_kitchen) < len(riders)
    for k, stop in enumerate(model.stops):
        index = manager.NodeToIndex(dc + k)
        penalty = base * (1 + priority_weight * stop.priority)
        if allow_drops:
            routing.AddDisjunction([index], penalty)
        if stop.rider_id is not None:
            routing.VehicleVar(index).SetValues([-1, rider_index[stop.rider_id]])
        elif any_departed:
            # Riders already out carry only the meals they loaded; new meals leave from a kitchen.
            if at_kitchen:
                routing.VehicleVar(index).SetValues([-1, *at_kitchen])
            else:
                routing.ActiveVar(index).SetValue(0)


def drop_penalty(distance: Sequence[Sequence[int]], vehicle_cost: int) -> int:
    """What leaving a (priority 0) stop unserved costs: more than any detour serving it could,
    a few longest arcs, and more than a rider of its own, so a rider's cost never leaves a
    meal at the kitchen."""
    longest = max(max(row) for row in distance) if distance else 1
    return 20 * (longest + 1) + vehicle_cost


def _route(model: _Model, rider: Rider, departure: int, sequence: list[int]) -> Route:
    """Times recomputed forward from the departure: each service starts as early as allowed."""
    dc = model.depot_count
    depot_node = {d.id: i for i, d in enumerate(model.problem.depots)}
    time = model.time[rider.mode]
    node = depot_node[rider.start]
    now = departure
    load = 0
    distance = 0
    visits = []
    for k in sequence:
        stop = model.stops[k]
        nxt = dc + k
        arrival = now + time[node][nxt]
        start = arrival if stop.window is None else max(arrival, stop.window.start)
        load += stop.demand
        distance += model.distance[node][nxt]
        visits.append(Visit(stop.id, arrival, start, load))
        now = start + stop.service
        node = nxt
    end = depot_node[rider.end_depot]
    distance += model.distance[node][end]
    return Route(rider.id, departure, tuple(visits), now + time[node][end], distance)


def _unassigned(model: _Model, dropped: Iterable[int]) -> list[Unassigned]:
    return [Unassigned(model.stops[k].id, _reason(model, k)) for k in dropped]


def _reason(model: _Model, k: int) -> Reason:
    """Why stop k is out: the first rule it breaks even alone on an empty rider, else the fleet."""
    stop = model.stops[k]
    riders = model.riders
    if stop.rider_id is not None:
        riders = [r for r in riders if r.id == stop.rider_id]
    elif any(r.departed_at is not None for r in riders):
        riders = [r for r in riders if r.departed_at is None]
    if not riders:
        return Reason.NO_RIDER
    if stop.demand > max(r.capacity for r in riders):
        return Reason.CAPACITY
    depot_node = {d.id: i for i, d in enumerate(model.problem.depots)}
    node = model.depot_count + k
    limit = model.problem.max_ride_time
    window_ok = False
    for rider in riders:
        time = model.time[rider.mode]
        there = time[depot_node[rider.start]][node]
        start = rider.shift_start + there
        if stop.window is not None:
            start = max(start, stop.window.start)
            if start > stop.window.end:
                continue
        if start + stop.service + time[node][depot_node[rider.end_depot]] > rider.shift_end:
            continue
        window_ok = True
        # Waiting at the kitchen is allowed, so alone the ride is just the trip (unless the
        # food already left).
        ride = there if rider.departed_at is None else start - rider.departed_at
        if limit is None or ride <= limit:
            total_demand = sum(s.demand for s in model.stops)
            if total_demand > sum(r.capacity for r in model.riders):
                return Reason.CAPACITY
            return Reason.FLEET
    return Reason.RIDE_TIME if window_ok else Reason.TIME_WINDOW
