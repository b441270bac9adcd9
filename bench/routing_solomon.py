"""Solomon VRPTW benchmark: our planner against the best-known solutions, PyVRP and VROOM.

Every solution, ours or not, is checked by routing.check and its distance recomputed there.

    python bench/routing_solomon.py --time-limit 10 --solvers ours,pyvrp,vroom
    python bench/routing_solomon.py --instances C101 R101 RC201 --time-limit 3
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routing.check import CheckResult, check_routes  # noqa: E402
from routing.model import Problem  # noqa: E402
from routing.solver import SolveParams, solve  # noqa: E402
from routing.vrplib import SCALE, read_instance, read_solution  # noqa: E402

SOLOMON = Path("/work/shared/benchmarks/solomon")
RESULTS = ROOT / "bench" / "results"

# A solver takes (problem, time limit, workers) and returns (rider -> stop ids, departures).
Routes = tuple[dict[str, list[str]], dict[str, int] | None]


# One search per core: iterated local search needs the whole time limit (see
# routing.search.ILS_PORTFOLIO_VARIANTS).
RESTARTS = 1


def run_ours(problem: Problem, time_limit: float, workers: int, restarts: int = RESTARTS) -> Routes:
    # Solomon's rule: every customer is served, so no stop is optional.
    # One search over the instance (the decomposition is for a kitchen's day of city doors).
    params = SolveParams(
        time_limit=time_limit,
        workers=workers,
        restarts=restarts,
        allow_drops=False,
        decompose_above=0,
    )
    plan = solve(problem, params)
    routes = {route.rider_id: route.stop_ids for route in plan.routes}
    return routes, {route.rider_id: route.departure for route in plan.routes}


def run_pyvrp(problem: Problem, time_limit: float, workers: int) -> Routes:
    import numpy as np
    import pyvrp
    from pyvrp.stop import MaxRuntime

    matrix = np.asarray(problem.matrices.distance, dtype=np.int64)
    depot, rider = problem.depots[0], problem.riders[0]
    locations = [pyvrp.Location(x=round(depot.location.x), y=round(depot.location.y))]
    locations += [
        pyvrp.Location(x=round(s.location.x), y=round(s.location.y)) for s in problem.stops
    ]
    clients = [
        pyvrp.Client(
            location=k + 1,
            delivery=[s.demand],
            service_duration=s.service,
            tw_early=s.window.start,
            tw_late=s.window.end,
        )
        for k, s in enumerate(problem.stops)
    ]
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=[pyvrp.Depot(location=0, tw_early=rider.shift_start, tw_late=rider.shift_end)],
        vehicle_types=[
            pyvrp.VehicleType(
                num_available=len(problem.riders),
                capacity=[rider.capacity],
                tw_early=rider.shift_start,
                tw_late=rider.shift_end,
            )
        ],
        distance_matrices=[matrix],
        duration_matrices=[matrix],
    )
    result = pyvrp.solve(data, stop=MaxRuntime(time_limit), seed=1, display=False)
    routes = {}
    for k, route in enumerate(result.best.routes()):
        # A client activity's idx is the client's position, i.e. the stop's index.
        routes[problem.riders[k].id] = [problem.stops[a.idx].id for a in route if a.is_client()]
    return routes, None


def run_vroom(problem: Problem, time_limit: float, workers: int) -> Routes:
    import vroom

    matrix = [list(row) for row in problem.matrices.distance]
    data = vroom.Input()
    data.set_durations_matrix(profile="car", matrix_input=matrix)
    data.set_costs_matrix(profile="car", matrix_input=matrix)
    for k, rider in enumerate(problem.riders):
        data.add_vehicle(
            vroom.Vehicle(
                id=k,
                start=0,
                end=0,
                capacity=[rider.capacity],
                time_window=vroom.TimeWindow(rider.shift_start, rider.shift_end),
            )
        )
    for k, stop in enumerate(problem.stops):
        data.add_job(
            vroom.Job(
                id=k + 1,
                location=k + 1,
                default_service=stop.service,
                delivery=[stop.demand],
                time_windows=[vroom.TimeWindow(stop.window.start, stop.window.end)],
            )
        )
    solution = data.solve(
        exploration_level=5, nb_threads=workers, timeout=timedelta(seconds=time_limit)
    )
    frame = solution.routes
    routes: dict[str, list[str]] = {}
    departures: dict[str, int] = {}
    for row in frame.itertuples():
        rider = problem.riders[int(row.vehicle_id)].id
        if row.type == "start":
            departures[rider] = int(row.arrival)
        elif row.type == "job":
            routes.setdefault(rider, []).append(problem.stops[int(row.id) - 1].id)
    return routes, departures


SOLVERS: dict[str, Callable[[Problem, float, int], Routes]] = {
    "ours": run_ours,
    "pyvrp": run_pyvrp,
    "vroom": run_vroom,
}


def instance_paths(selected: list[str]) -> list[Path]:
    if not selected:
        return sorted(SOLOMON.glob("*.vrp"))
    paths: list[Path] = []
    for item in selected:
        for name in item.split(","):
            path = Path(name)
            if path.is_dir():
                paths.extend(sorted(path.glob("*.vrp")))
            elif path.suffix == ".vrp":
                paths.append(path)
            else:
                paths.append(SOLOMON / f"{name.upper()}.vrp")
    return paths


def instance_class(name: str) -> str:
    match = re.match(r"([A-Z]+\d)", name.upper())
    return match.group(1) if match else name


def run(paths: list[Path], solvers: list[str], time_limit: float, workers: int) -> list[dict]:
    rows = []
    for path in paths:
        instance = read_instance(path)
        solution_path = path.with_suffix(".sol")
        bks = read_solution(solution_path).cost if solution_path.exists() else None
        for name in solvers:
            started = time.monotonic()
            try:
                routes, departures = SOLVERS[name](instance.problem, time_limit, workers)
                error = ""
            except Exception as exc:  # a crashing competitor is a row, not an abort
                routes, departures, error = {}, None, repr(exc)
            seconds = time.monotonic() - started
            checked: CheckResult = check_routes(
                instance.problem, routes, departures=departures, require_all=True
            )
            distance = checked.distance / SCALE
            feasible = checked.feasible and not error
            row = {
                "instance": instance.name,
                "solver": name,
                "feasible": feasible,
                "vehicles": checked.vehicles,
                "distance": round(distance, 1),
                "bks": bks,
                "gap_pct": round(100 * (distance - bks) / bks, 3) if bks and feasible else None,
                "seconds": round(seconds, 2),
            }
            if not feasible:
                row["violations"] = [v.kind for v in checked.violations][:5] + (
                    [error] if error else []
                )
            rows.append(row)
            gap = "-" if row["gap_pct"] is None else f"{row['gap_pct']:6.2f}%"
            print(
                f"{instance.name:8} {name:6} veh {row['vehicles']:3d} dist {distance:9.1f} "
                f"bks {bks or 0:9.1f} gap {gap:>8} {'ok' if feasible else 'INFEASIBLE'} "
                f"{seconds:5.1f}s",
                flush=True,
            )
    return rows


def summary(rows: list[dict], solvers: list[str]) -> str:
    lines = [f"{'class':6} {'solver':6} {'feasible':>9} {'mean':>7} {'median':>7} {'max':>7}"]
    classes = sorted({instance_class(r["instance"]) for r in rows})
    for group in [*classes, "all"]:
        for name in solvers:
            chosen = [
                r
                for r in rows
                if r["solver"] == name
                and (group == "all" or instance_class(r["instance"]) == group)
            ]
            if not chosen:
                continue
            gaps = [r["gap_pct"] for r in chosen if r["gap_pct"] is not None]
            feasible = f"{sum(r['feasible'] for r in chosen)}/{len(chosen)}"
            if gaps:
                stats = (
                    f"{statistics.mean(gaps):6.2f}% {statistics.median(gaps):6.2f}% "
                    f"{max(gaps):6.2f}%"
                )
            else:
                stats = "      -       -       -"
            lines.append(f"{group:6} {name:6} {feasible:>9} {stats}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", nargs="*", default=[], help="names, .vrp files or folders")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance")
    parser.add_argument("--solvers", default="ours,pyvrp,vroom", help="comma-separated")
    parser.add_argument("--workers", type=int, default=2, help="processes/threads per solve")
    parser.add_argument("--restarts", type=int, default=RESTARTS, help="searches per worker")
    parser.add_argument("--json", type=Path, default=RESULTS / "routing_solomon.json")
    args = parser.parse_args(argv)
    SOLVERS["ours"] = functools.partial(run_ours, restarts=args.restarts)
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    unknown = set(solvers) - set(SOLVERS)
    if unknown:
        parser.error(f"unknown solvers: {sorted(unknown)}")
    rows = run(instance_paths(args.instances), solvers, args.time_limit, args.workers)
    print()
    print(summary(rows, solvers))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1))
    print(f"\nrows written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
