"""A generated meal-delivery day: our planner against PyVRP and VROOM, at city scale.

The day is seeded: one kitchen, elders clustered in communities around it, 30-60 minute
windows inside the lunch delivery window, e-bike riders carrying 30 boxes, a 45-minute limit
from kitchen to door, priorities for elders who must be served first. Our plan is checked by
routing.check with every rule; PyVRP and VROOM get the same day without the ride-time limit
(they have no such constraint), so their distance is that of an easier problem.

    python bench/routing_city.py --sizes 100,200,300,400,600,800,1000 --seeds 1,2,3 \
        --solvers ours,pyvrp-ride   # each day at `mealaid plan`'s default time and settings
    python bench/routing_city.py --sizes 1000,2000 --time-limit 60 --workers 2
    python bench/routing_city.py --sizes 1000 --solvers ours --json bench/results/city.json
    python bench/routing_city.py --sizes 1000 --reference-time 300   # refresh best-known
    python bench/routing_city.py --sizes 1000 --solvers ours --update-best  # ours may set it
    python bench/routing_city.py --sizes 1000 --write-vrplib /tmp/city  # for routing_solomon.py
    python bench/routing_city.py --sizes 1000 --slices 100 --solvers ours,pyvrp-ride

Without --time-limit every solver gets the time `mealaid plan` gives a kitchen's day of that
size (routing.search.search_seconds), and ours runs as `mealaid plan` does (SolveParams.for_kitchen:
every core the process may use, a cost per rider); `ours-1` is the same on one core, as PyVRP
searches, and the table's `cores` column says what each solver used. With pyvrp-ride in the same
run, `vs ride` is ours against it on the same day: km over it and riders more.

With --slices N every solver plans the day's sweep slices of about N stops one by one (each
with its share of the riders and of the time limit, on one core) instead of the whole day: what
cutting the day into parts costs before any repair across their borders, per solver.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_json  # noqa: E402
from routing import (  # noqa: E402
    DEFAULT_DETOUR,
    DEFAULT_SPEEDS,
    Depot,
    GeoPoint,
    Matrices,
    Mode,
    Problem,
    Rider,
    SolveParams,
    Stop,
    TimeWindow,
    check_routes,
    solve,
)
from routing.decompose import share_riders, stop_angles, subproblem, sweep_parts  # noqa: E402
from routing.search import RIDER_COST_KM, search_seconds  # noqa: E402

RESULTS = ROOT / "bench" / "results"
# Best distance (metres) found per generated day by a plan that keeps every rule, the ride-time
# limit included: the reference for the gap (kept in git, like a .sol file). Long PyVRP runs
# (--reference-time) refresh it; other solvers' plans only with --update-best, so an ordinary
# benchmark run measures against a fixed reference instead of moving it.
BEST_KNOWN = ROOT / "bench" / "routing_city_best.json"

KITCHEN = GeoPoint(31.2304, 121.4737)
SLOT = (10 * 3600 + 30 * 60, 12 * 3600 + 30 * 60)  # lunch delivery window 10:30-12:30
SHIFT = (10 * 3600, 13 * 3600)
CAPACITY = 30
RIDE_LIMIT = 45 * 60
METRES_PER_DEGREE = 111_195.0


def generate_day(size: int, seed: int = 1) -> Problem:
    """`size` stops in communities of ~40 elders within ~3 km of the kitchen."""
    rng = random.Random(seed * 1_000_003 + size)
    communities = []
    for _ in range(max(4, size // 40)):
        radius = 3000 * math.sqrt(rng.uniform(0.02, 1.0))
        angle = rng.uniform(0, 2 * math.pi)
        communities.append(
            (
                radius * math.cos(angle),
                radius * math.sin(angle),
                rng.uniform(150, 450),  # community radius in metres
                rng.uniform(0.5, 2.0),  # relative size
            )
        )
    weights = [c[3] for c in communities]
    cos_lat = math.cos(math.radians(KITCHEN.lat))
    stops = []
    for k in range(size):
        cx, cy, spread, _ = rng.choices(communities, weights)[0]
        east, north = rng.gauss(cx, spread), rng.gauss(cy, spread)
        width = rng.choice((30, 45, 60)) * 60
        start = SLOT[0] + rng.randrange(0, (SLOT[1] - width - SLOT[0]) // 300 + 1) * 300
        welfare = rng.random() < 0.2
        roll = rng.random()
        stops.append(
            Stop(
                id=f"e{k:05d}",
                location=GeoPoint(
                    KITCHEN.lat + north / METRES_PER_DEGREE,
                    KITCHEN.lon + east / (METRES_PER_DEGREE * cos_lat),
                ),
                demand=2 if rng.random() < 0.15 else 1,
                window=TimeWindow(start, start + width),
                service=180 if welfare else 60,
                priority=2 if roll < 0.1 else 1 if roll < 0.25 else 0,
            )
        )
    demand = sum(s.demand for s in stops)
    # Enough riders that nobody is short of one: the ride time (about 8-15 meals a trip),
    # not the fleet, limits a route.
    riders = [
        Rider(f"r{k:03d}", CAPACITY, SHIFT[0], SHIFT[1], "kitchen", mode=Mode.EBIKE)
        for k in range(math.ceil(demand / 6))
    ]
    depots = (Depot("kitchen", KITCHEN),)
    return Problem(
        depots=depots,
        stops=tuple(stops),
        riders=tuple(riders),
        max_ride_time=RIDE_LIMIT,
        matrices=great_circle_matrices([d.location for d in depots] + [s.location for s in stops]),
        name=f"city-{size}-s{seed}",
    )


def great_circle_matrices(points: list[GeoPoint]) -> Matrices:
    """The same numbers as routing.GreatCircleProvider, computed with numpy (n up to 5,000)."""
    lat = np.radians([p.lat for p in points])
    lon = np.radians([p.lon for p in points])
    h = (
        np.sin((lat[None, :] - lat[:, None]) / 2) ** 2
        + np.cos(lat[:, None])
        * np.cos(lat[None, :])
        * np.sin((lon[None, :] - lon[:, None]) / 2) ** 2
    )
    metres = 2 * 6_371_008.8 * np.arcsin(np.minimum(1.0, np.sqrt(h))) * DEFAULT_DETOUR
    np.fill_diagonal(metres, 0.0)
    distance = np.rint(metres).astype(np.int64)
    seconds = np.ceil(metres / DEFAULT_SPEEDS[Mode.EBIKE]).astype(np.int64)
    return Matrices(distance=distance.tolist(), time={Mode.EBIKE: seconds.tolist()})


# --- solvers: each returns (rider -> stop ids, departures or None, unassigned stop ids) --------


# The cores `mealaid plan` searches on by default: every core the process may use
# (mealaid.duework.plan_workers, MEALAID_PLAN_WORKERS unset).
PLAN_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
# How ours is run: `mealaid plan`'s settings unless --workers or --rider-cost-km say otherwise.
OURS = SolveParams.for_kitchen(workers=PLAN_CORES or 1)


def run_ours(problem: Problem, time_limit: float, workers: int, decompose: bool = True):
    params = replace(OURS, time_limit=time_limit, time_by_stops=False)
    if workers:
        params = replace(params, workers=workers)
    if not decompose:
        params = replace(params, decompose_above=0)
    plan = solve(problem, params)
    routes = {r.rider_id: r.stop_ids for r in plan.routes}
    departures = {r.rider_id: r.departure for r in plan.routes}
    return routes, departures, [u.stop_id for u in plan.unassigned], plan


def run_pyvrp(problem: Problem, time_limit: float, workers: int, ride_limit: bool = False):
    """PyVRP on the day without the ride-time limit; with `ride_limit`, a stricter stand-in for
    it that PyVRP can express: return trips take no time and the route's duration is capped at
    the limit plus the shortest service time, so the last meal (hence every meal) is at the
    door within the limit of leaving. Plans found that way keep every rule of ours."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    matrices = problem.matrices
    distance = np.asarray(matrices.distance, dtype=np.int64)
    duration = np.asarray(matrices.time[Mode.EBIKE], dtype=np.int64)
    shift_duration = np.iinfo(np.int64).max
    if ride_limit:
        duration = duration.copy()
        duration[1:, 0] = 0
        shift_duration = problem.max_ride_time + min(s.service for s in problem.stops)
    rider = problem.riders[0]
    locations = [pyvrp.Location(x=0, y=0) for _ in range(1 + len(problem.stops))]
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
                shift_duration=shift_duration,
            )
        ],
        distance_matrices=[distance],
        duration_matrices=[duration],
    )
    result = pyvrp.solve(data, stop=MaxRuntime(time_limit), seed=1, display=False)
    routes = {}
    for k, route in enumerate(result.best.routes()):
        routes[problem.riders[k].id] = [problem.stops[a.idx].id for a in route if a.is_client()]
    return routes, _earliest_departures(problem, routes), [], None


def run_vroom(problem: Problem, time_limit: float, workers: int):
    import vroom

    data = vroom.Input()
    data.set_durations_matrix(profile="car", matrix_input=problem.matrices.time[Mode.EBIKE])
    data.set_costs_matrix(profile="car", matrix_input=problem.matrices.distance)
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
    routes: dict[str, list[str]] = {}
    departures: dict[str, int] = {}
    for row in solution.routes.itertuples():
        rider = problem.riders[int(row.vehicle_id)].id
        if row.type == "start":
            departures[rider] = int(row.arrival)
        elif row.type == "job":
            routes.setdefault(rider, []).append(problem.stops[int(row.id) - 1].id)
    return routes, departures, [], None


def _earliest_departures(problem: Problem, routes: dict[str, list[str]]) -> dict[str, int]:
    """Latest departure that keeps the route's earliest schedule (PyVRP reports none): leaving
    later shortens time in the box, so the ride time is shown at its best for that route."""
    index = {s.id: k + 1 for k, s in enumerate(problem.stops)}
    time = problem.matrices.time[Mode.EBIKE]
    departures = {}
    for rider_id, route in routes.items():
        rider = next(r for r in problem.riders if r.id == rider_id)
        # Push the departure as late as the windows allow: backward pass of latest starts.
        latest = rider.shift_end
        nodes = [0] + [index[s] for s in route] + [0]
        stops = [None] + [problem.stops[index[s] - 1] for s in route] + [None]
        for k in range(len(nodes) - 1, 0, -1):
            stop = stops[k]
            if stop is not None:
                latest = min(latest - stop.service, stop.window.end)
            latest = latest - time[nodes[k - 1]][nodes[k]]
        # Waiting at a stop is allowed, so any departure in [shift_start, latest] is on time.
        departures[rider_id] = max(rider.shift_start, latest)
    return departures


def run_pyvrp_ride(problem: Problem, time_limit: float, workers: int):
    return run_pyvrp(problem, time_limit, workers, ride_limit=True)


def run_ours_one_core(problem: Problem, time_limit: float, workers: int):
    """Ours as `mealaid plan` runs it, but on one core, as PyVRP runs."""
    return run_ours(problem, time_limit, 1)


SOLVERS = {
    "ours": run_ours,
    "ours-1": run_ours_one_core,
    "pyvrp": run_pyvrp,
    "vroom": run_vroom,
    "pyvrp-ride": run_pyvrp_ride,
}


def run_in_slices(name: str, problem: Problem, time_limit: float, part_size: int):
    """Solver `name` on each sweep slice of the day alone (one core, a share of `time_limit` in
    proportion to the slice's stops; ours as one search per slice), the plans put together."""
    parts = sweep_parts(stop_angles(problem), part_size)
    shares = share_riders(
        problem.riders, [sum(problem.stops[k].demand for k in part) for part in parts]
    )
    routes: dict[str, list[str]] = {}
    departures: dict[str, int] = {}
    unassigned: list[str] = []
    for part, riders in zip(parts, shares, strict=True):
        sub = subproblem(problem, problem.matrices, part, riders)
        limit = time_limit * len(part) / len(problem.stops)
        if name == "ours":
            found = run_ours(sub, limit, 1, decompose=False)
        else:
            found = SOLVERS[name](sub, limit, 1)
        routes.update(found[0])
        departures.update(found[1] or {})
        unassigned += found[2]
    return routes, departures, unassigned, None


def _cores(name: str, args: argparse.Namespace) -> int:
    """Cores the solver searched on (PyVRP searches on one)."""
    if name == "ours" and not args.slices:
        return args.workers or OURS.workers
    if name == "vroom":
        return max(1, args.workers)
    return 1


def load_best() -> dict[str, int]:
    return json.loads(BEST_KNOWN.read_text()) if BEST_KNOWN.exists() else {}


def save_best(best: dict[str, int]) -> None:
    BEST_KNOWN.parent.mkdir(parents=True, exist_ok=True)
    BEST_KNOWN.write_text(json.dumps(best, indent=1, sort_keys=True) + "\n")


def write_vrplib(problem: Problem, folder: Path, routes: dict[str, list[str]] | None) -> Path:
    """The day as a CVRPTW VRPLIB file readable by routing_solomon.py (no ride-time limit).

    Coordinates are in e-bike seconds (metres x detour / speed, east and north of the kitchen),
    so that, as in the DIMACS convention, travel time equals distance. With `routes`, a .sol is
    written beside it with their cost in the file's own units; those routes keep the ride
    limit, which the file cannot state, so solvers reading it can beat that "best known".
    """
    from routing.vrplib import SCALE, customer_number, read_instance

    folder.mkdir(parents=True, exist_ok=True)
    factor = DEFAULT_DETOUR / DEFAULT_SPEEDS[Mode.EBIKE]
    cos_lat = math.cos(math.radians(KITCHEN.lat))
    points = [d.location for d in problem.depots] + [s.location for s in problem.stops]

    def xy(p: GeoPoint) -> tuple[float, float]:
        east = (p.lon - KITCHEN.lon) * METRES_PER_DEGREE * cos_lat * factor
        north = (p.lat - KITCHEN.lat) * METRES_PER_DEGREE * factor
        return round(east, 1), round(north, 1)

    rider = problem.riders[0]
    lines = [
        f"NAME : {problem.name}",
        "TYPE : CVRPTW",
        f"DIMENSION : {len(points)}",
        f"VEHICLES : {len(problem.riders)}",
        f"CAPACITY : {rider.capacity}",
        "EDGE_WEIGHT_TYPE : EUC_2D",
        # One service time for all in VRPLIB: the common 60 s (welfare checks are lost).
        "SERVICE_TIME : 60",
        "NODE_COORD_SECTION",
    ]
    lines += [f"{k + 1} {x} {y}" for k, (x, y) in enumerate(map(xy, points))]
    lines.append("DEMAND_SECTION")
    lines += ["1 0"] + [f"{k + 2} {s.demand}" for k, s in enumerate(problem.stops)]
    lines.append("TIME_WINDOW_SECTION")
    lines.append(f"1 {rider.shift_start - SHIFT[0]} {rider.shift_end - SHIFT[0]}")
    lines += [
        f"{k + 2} {s.window.start - SHIFT[0]} {s.window.end - SHIFT[0]}"
        for k, s in enumerate(problem.stops)
    ]
    lines += ["DEPOT_SECTION", "1", "-1", "EOF"]
    path = folder / f"{problem.name}.vrp"
    path.write_text("\n".join(lines) + "\n")
    if routes:
        number = {s.id: k + 1 for k, s in enumerate(problem.stops)}
        instance = read_instance(path)
        used = [stops for stops in routes.values() if stops]
        renamed = {
            rider.id: [f"c{number[s]}" for s in stops]
            for rider, stops in zip(instance.problem.riders, used, strict=False)
        }
        checked = check_routes(instance.problem, renamed, require_all=True)
        if checked.feasible:
            sol = [[customer_number(s) for s in stops] for stops in renamed.values()]
            from routing.vrplib import write_solution

            write_solution(path.with_suffix(".sol"), sol, checked.distance / SCALE)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000", help="stops per day, comma-separated")
    parser.add_argument("--seeds", default="1", help="generated days per size, comma-separated")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=0.0,
        help="seconds per solver (default: what `mealaid plan` gives a day of that size)",
    )
    parser.add_argument("--solvers", default="ours,pyvrp,vroom")
    parser.add_argument(
        "--workers", type=int, default=0, help="cores for ours (default: as `mealaid plan`)"
    )
    parser.add_argument(
        "--rider-cost-km",
        type=float,
        default=None,
        help=f"ours: cost of a rider in km (default: `mealaid plan`'s, {RIDER_COST_KM:g})",
    )
    parser.add_argument(
        "--reference-time",
        type=float,
        default=0.0,
        help="also run PyVRP this long to refresh the best-known distance (stored in "
        f"{BEST_KNOWN.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--update-best",
        action="store_true",
        help="let every solver's plan that keeps every rule refresh the best-known distance",
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=0,
        help="plan the day's sweep slices of about this many stops one by one (see above)",
    )
    parser.add_argument("--write-vrplib", type=Path, help="folder for <day>.vrp (+ .sol)")
    parser.add_argument("--json", default=str(RESULTS / "routing_city.json"))
    parser.add_argument("-v", "--verbose", action="store_true", help="log each round of ours")
    args = parser.parse_args(argv)
    global OURS
    if args.rider_cost_km is not None:
        OURS = SolveParams.for_kitchen(rider_cost_km=args.rider_cost_km)
    if args.verbose:
        logging.basicConfig(format="  %(message)s")
        logging.getLogger("routing.decompose").setLevel(logging.DEBUG)
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    unknown = set(solvers) - set(SOLVERS)
    if unknown:
        parser.error(f"unknown solvers: {sorted(unknown)}")
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    if any(not 10 <= s <= 5000 for s in sizes):
        parser.error("sizes: each between 10 and 5000")
    if args.slices and not 10 <= args.slices <= min(sizes):
        parser.error("slices: between 10 and the smallest size")
    load = os.getloadavg()[0]
    best = load_best()
    best_changed = False
    rows = []
    for size, seed in [(size, seed) for size in sizes for seed in seeds]:
        started = time.monotonic()
        problem = generate_day(size, seed)
        time_limit = args.time_limit or search_seconds(size)
        meals = sum(s.demand for s in problem.stops)
        print(
            f"{problem.name}: {size} stops, {meals} meals, {len(problem.riders)} riders "
            f"(generated in {time.monotonic() - started:.1f}s)",
            flush=True,
        )
        # (solver, seconds, whether its plan may refresh the best known)
        runs = [(name, time_limit, args.update_best) for name in solvers]
        if args.reference_time > 0:
            runs.append(("pyvrp-ride", args.reference_time, True))
        day_rows = []
        # The shortest plan of this run keeping every rule: the .sol of --write-vrplib.
        shortest: tuple[int, dict[str, list[str]]] | None = None
        for name, limit, may_set_best in runs:
            started = time.monotonic()
            if args.slices:
                routes, departures, unassigned, _ = run_in_slices(name, problem, limit, args.slices)
            else:
                routes, departures, unassigned, _ = SOLVERS[name](problem, limit, args.workers)
            seconds = time.monotonic() - started
            checked = check_routes(problem, routes, departures=departures, unassigned=unassigned)
            kinds = sorted(checked.kinds())
            # Their plans are for the day without the ride-time limit: feasible means all other
            # rules hold; how many meals would arrive too late is reported beside it.
            ride_late = sum(1 for v in checked.violations if v.kind == "ride_time")
            other = [v for v in checked.violations if v.kind != "ride_time"]
            ride_limit = name in ("ours", "pyvrp-ride")
            feasible = not other and (not ride_limit or not checked.violations)
            row = {
                "day": problem.name,
                "size": size,
                "seed": seed,
                "solver": (name if limit == time_limit else f"{name}@{limit:g}s")
                + (f"/{args.slices}" if args.slices else ""),
                "slices": args.slices or None,
                "ride_limit": ride_limit,
                "feasible": feasible,
                "unassigned": len(unassigned),
                "cores": _cores(name, args),
                "riders": checked.vehicles,
                "km": round(checked.distance / 1000, 2),
                "km_per_meal": round(checked.distance / 1000 / meals, 4),
                "ride_late": ride_late,
                "time_limit": limit,
                "seconds": round(seconds, 1),
                "load": round(load, 2),
            }
            if not feasible:
                row["violations"] = kinds[:5]
            day_rows.append(row)
            # The best known is for the day as posed: every rule, ride time included.
            if not checked.violations and not unassigned:
                if shortest is None or checked.distance < shortest[0]:
                    shortest = (checked.distance, routes)
                if may_set_best and checked.distance < best.get(problem.name, math.inf):
                    best[problem.name] = checked.distance
                    best_changed = True
            load = os.getloadavg()[0]
        reference = best.get(problem.name)
        ride = next((r for r in day_rows if r["solver"] == "pyvrp-ride"), None)
        for row in day_rows:
            if ride is not None and row["solver"].startswith("ours") and ride["feasible"]:
                row["vs_ride_pct"] = round(100 * (row["km"] - ride["km"]) / ride["km"], 2)
                row["vs_ride_riders"] = row["riders"] - ride["riders"]
            ok = row["feasible"] and not row["unassigned"]
            row["best_km"] = round(reference / 1000, 2) if reference else None
            row["gap_pct"] = (
                round(100 * (row["km"] * 1000 - reference) / reference, 2)
                if reference and ok
                else None
            )
            rows.append(row)
            print(
                f"  {row['solver']}: {row['km']:.1f} km, {row['riders']} riders"
                + ("" if row["feasible"] else " (breaks a rule)"),
                flush=True,
            )
        # A long run's days so far survive an interruption.
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
        if args.write_vrplib:
            path = write_vrplib(problem, args.write_vrplib, shortest[1] if shortest else None)
            print(f"  written {path}")
    if best_changed:
        save_best(best)
    print()
    header = (
        f"{'size':>5} {'seed':>4} {'solver':12} {'cores':>5} {'feasible':>8} {'riders':>6} "
        f"{'km':>8} {'km/meal':>8} {'gap':>7} {'vs ride':>12} {'late':>5} {'seconds':>7} "
        f"{'load':>5}"
    )
    print(header)
    for row in rows:
        gap = "-" if row["gap_pct"] is None else f"{row['gap_pct']:.2f}%"
        feasible = "yes" if row["feasible"] else "NO"
        if row["unassigned"]:
            feasible += f"-{row['unassigned']}"
        versus = (
            f"{row['vs_ride_pct']:+.1f}% {row['vs_ride_riders']:+d}r"
            if "vs_ride_pct" in row
            else "-"
        )
        print(
            f"{row['size']:>5} {row['seed']:>4} {row['solver']:12} {row['cores']:>5} "
            f"{feasible:>8} {row['riders']:>6} {row['km']:>8.1f} {row['km_per_meal']:>8.3f} "
            f"{gap:>7} {versus:>12} {row['ride_late']:>5} {row['seconds']:>7.1f} "
            f"{row['load']:>5.2f}"
        )
    print("\n'late': meals over the 45-minute ride limit (PyVRP and VROOM are not given it);")
    print("gap: against the stored best-known distance for the day (negative: shorter);")
    print("vs ride: ours against pyvrp-ride on the same day, km over it and riders more.")
    write_json(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
