"""Reader for VRPLIB CVRPTW instances and their .sol files (Solomon, Gehring & Homberger)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from routing.model import Depot, Matrices, Mode, PlanePoint, Problem, Rider, Stop, TimeWindow

# DIMACS convention: arc lengths truncated to one decimal; times 10 makes them exact integers.
SCALE = 10
DEPOT_ID = "depot"


@dataclass(frozen=True, slots=True)
class Instance:
    """A parsed instance: the routing problem plus what the file said about itself."""

    name: str
    problem: Problem
    vehicles: int
    capacity: int


@dataclass(frozen=True, slots=True)
class Solution:
    """A parsed .sol file: routes of customer numbers (1..n) and the stated cost."""

    routes: tuple[tuple[int, ...], ...]
    cost: float | None


def dimacs_distance(ax: float, ay: float, bx: float, by: float) -> int:
    """floor(10 * d) as an integer, i.e. the DIMACS distance scaled by 10."""
    # The epsilon guards against 10*d landing a hair below an integer through rounding.
    return math.floor(SCALE * math.hypot(ax - bx, ay - by) + 1e-9)


def stop_id(customer: int) -> str:
    return f"c{customer}"


def customer_number(stop: str) -> int:
    return int(stop[1:])


def _sections(text: str) -> tuple[dict[str, str], dict[str, list[list[str]]]]:
    header: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if line.endswith("_SECTION"):
            current = line
            sections[current] = []
        elif ":" in line and current is None:
            key, value = line.split(":", 1)
            header[key.strip()] = value.strip()
        elif current is not None:
            sections[current].append(line.split())
        else:
            raise ValueError(f"vrplib: unexpected line {line!r}")
    return header, sections


def read_instance(path: str | Path) -> Instance:
    """Parse a .vrp file into a Problem on the scaled integer model (no ride-time limit)."""
    path = Path(path)
    header, sections = _sections(path.read_text())
    if header.get("TYPE") != "CVRPTW":
        raise ValueError(f"TYPE: expected CVRPTW, got {header.get('TYPE')!r}")
    if header.get("EDGE_WEIGHT_TYPE") != "EUC_2D":
        raise ValueError(f"EDGE_WEIGHT_TYPE: expected EUC_2D, got {header.get('EDGE_WEIGHT_TYPE')}")
    dimension = int(header["DIMENSION"])
    vehicles = int(header["VEHICLES"])
    capacity = int(header["CAPACITY"])
    service = round(float(header.get("SERVICE_TIME", "0")) * SCALE)

    coords = {int(r[0]): (float(r[1]), float(r[2])) for r in sections["NODE_COORD_SECTION"]}
    demand = {int(r[0]): int(r[1]) for r in sections["DEMAND_SECTION"]}
    windows = {
        int(r[0]): (round(float(r[1]) * SCALE), round(float(r[2]) * SCALE))
        for r in sections["TIME_WINDOW_SECTION"]
    }
    depot_nodes = [int(r[0]) for r in sections["DEPOT_SECTION"] if int(r[0]) != -1]
    if depot_nodes != [1]:
        raise ValueError(f"DEPOT_SECTION: expected node 1 as the only depot, got {depot_nodes}")
    for name, table in (("NODE_COORD", coords), ("DEMAND", demand), ("TIME_WINDOW", windows)):
        if sorted(table) != list(range(1, dimension + 1)):
            raise ValueError(f"{name}_SECTION: expected nodes 1..{dimension}")

    nodes = list(range(1, dimension + 1))  # node 1 is the depot, node k+1 is customer k
    distance = [[dimacs_distance(*coords[a], *coords[b]) for b in nodes] for a in nodes]
    depot_open, depot_close = windows[1]
    depot = Depot(DEPOT_ID, PlanePoint(*coords[1]))
    stops = tuple(
        Stop(
            id=stop_id(node - 1),
            location=PlanePoint(*coords[node]),
            demand=demand[node],
            window=TimeWindow(*windows[node]),
            service=service,
        )
        for node in nodes[1:]
    )
    riders = tuple(
        Rider(
            id=f"v{k + 1:02d}",
            capacity=capacity,
            shift_start=depot_open,
            shift_end=depot_close,
            start=DEPOT_ID,
            mode=Mode.VAN,
        )
        for k in range(vehicles)
    )
    name = header.get("NAME", path.stem)
    problem = Problem(
        depots=(depot,),
        stops=stops,
        riders=riders,
        max_ride_time=None,
        # Travel time equals distance in the DIMACS convention.
        matrices=Matrices(distance=distance, time={Mode.VAN: distance}),
        name=name,
    )
    return Instance(name=name, problem=problem, vehicles=vehicles, capacity=capacity)


def read_solution(path: str | Path) -> Solution:
    """Parse a .sol file: `Route #k: c1 c2 ...` lines and a `Cost x` line."""
    routes: list[tuple[int, ...]] = []
    cost: float | None = None
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if line.startswith("Route"):
            _, _, customers = line.partition(":")
            routes.append(tuple(int(c) for c in customers.split()))
        elif line.lower().startswith("cost"):
            cost = float(line.split()[1])
    return Solution(routes=tuple(routes), cost=cost)


def write_solution(path: str | Path, routes: list[list[int]], cost: float) -> None:
    """Write routes of customer numbers in the same .sol format."""
    lines = [f"Route #{k}: {' '.join(map(str, route))}" for k, route in enumerate(routes, 1)]
    lines.append(f"Cost {cost:g}")
    Path(path).write_text("\n".join(lines) + "\n")
