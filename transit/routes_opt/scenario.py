"""Network redesign scenarios (pure): a day's services, the operations planners try on them, and what changes
for the operator and for passengers.

A *service* is one stop pattern of a route in one direction with the day's departures: its stops, each stop's
departure offset from the first (seconds) and the start times. Operations change services:

- drop: the route no longer runs;
- truncate: the route runs only between two of its stops (each pattern keeps its longest run of stops between
  them on the route's longest pattern through both, in either direction);
- extend: past `after_stop`, the route goes on to new stops (patterns ending there go on; patterns starting
  there start at the last new stop); the new legs run at the route's own mean speed;
- merge: `route` stops running and its departures run on `into`'s busiest pattern in the matching direction
  (the one whose first stop is nearest), so riders keep their departure times on the kept path;
- headway: in a time window (default: the direction's whole day), one departure every `minutes` on the
  direction's busiest pattern replaces the window's departures.

Operator figures: trips, vehicle-hours (trip run times), vehicle-km (straight lines between stops: a lower
bound, the same before and after), peak buses (most trips running at once; layovers and deadheads are not
counted, so it is a lower bound too) and stops served.

Passenger figures use the benchmark evaluator's journeys (passenger.journeys_over): stops within a walking
cluster are one node; each service is a one-way line whose ride times are its scheduled ones; boarding waits
half the mean headway of the route's direction (at most `max_wait_s`) and each change of vehicle costs the
transfer penalty. ATT and the d0/d1/d2/dun shares are those of the literature, over the demand given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from transit.errors import BadParameter
from transit.gtfs.times import parse_gtfs_times
from transit.routes_opt.network import WALK_CLUSTER_M, cluster_stops, local_xy, origin_of
from transit.routes_opt.passenger import Journeys, Line, journey_shares, journeys_over

FloatArray = npt.NDArray[np.float64]
WALK_M = 400.0  # the walking distance to a stop (a 5-minute walk), for people losing service
MAX_WAIT_S = 1800.0
PROXY_STOPS = 1500


@dataclass(frozen=True, slots=True)
class Service:
    """One pattern of a route in one direction and its departures (module docstring)."""

    route_id: str
    direction_id: int
    stops: tuple[str, ...]
    offsets: tuple[int, ...]
    starts: tuple[int, ...]

    @property
    def run_s(self) -> int:
        return self.offsets[-1]


@dataclass(frozen=True, slots=True)
class Places:
    """Where stops are: each stop's walking cluster and its local metres (network.local_xy)."""

    cluster: Mapping[str, str]
    xy: Mapping[str, tuple[float, float]]
    origin: tuple[float, float] = (0.0, 0.0)  # lat, lon of the local metres' origin

    def distance_m(self, a: str, b: str) -> float:
        (xa, ya), (xb, yb) = self.xy[a], self.xy[b]
        return float(np.hypot(xa - xb, ya - yb))


def places_of(stops: pd.DataFrame, walk_m: float = WALK_CLUSTER_M) -> Places:
    """The walking clusters and local metres of a feed's stops (those with coordinates)."""
    placed = stops[pd.to_numeric(stops["stop_lat"], errors="coerce").notna()
                   & pd.to_numeric(stops["stop_lon"], errors="coerce").notna()]  # fmt: skip
    origin = origin_of(placed)
    xy = local_xy(placed["stop_lat"].astype(float), placed["stop_lon"].astype(float), origin)
    ids = placed["stop_id"].astype(str).tolist()
    located = dict(zip(ids, map(tuple, xy.tolist()), strict=True))
    clusters = {str(k): str(v) for k, v in cluster_stops(placed, walk_m).items()}
    return Places(clusters, located, origin)


@dataclass(frozen=True, slots=True)
class Drop:
    name: str
    route: str


@dataclass(frozen=True, slots=True)
class Truncate:
    name: str
    route: str
    from_stop: str
    to_stop: str


@dataclass(frozen=True, slots=True)
class Extend:
    name: str
    route: str
    after_stop: str
    stops: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Merge:
    name: str
    route: str
    into: str


@dataclass(frozen=True, slots=True)
class Headway:
    name: str
    route: str
    minutes: float
    start: int | None = None  # seconds of the service day; None: the direction's first departure
    end: int | None = None  # exclusive; None: after the direction's last departure


Operation = Drop | Truncate | Extend | Merge | Headway


@dataclass(frozen=True, slots=True)
class Figures:
    """One side of a scenario (module docstring); travel time in minutes, shares in percent."""

    trips: int
    vehicle_hours: float
    vehicle_km: float
    peak_buses: int
    stops_served: int
    att: float
    d0: float
    d1: float
    d2: float
    dun: float


@dataclass(frozen=True, slots=True)
class ScenarioReport:
    before: Figures
    after: Figures
    lost_stops: list[str]
    people_losing: int | None  # None without a population grid
    demand_losing: float
    demand_source: str
    routes_changed: list[str] = field(default_factory=list)
    # Mean travel time (minutes) before and after of the demand that can travel both before and after: the
    # change riders who keep a journey feel (ATT alone improves when slow journeys become impossible).
    att_served_both: tuple[float | None, float | None] = (None, None)


def build_services(plan: pd.DataFrame, stop_times: pd.DataFrame) -> list[Service]:
    """The services of a day plan (trip instances: trip_id, route_id, direction_id, start_time), each
    pattern's offsets the median over its trips."""
    templates = stop_times[stop_times["trip_id"].isin(set(plan["trip_id"]))]
    ordered = templates.sort_values(["trip_id", "stop_sequence"], kind="stable")
    departure = parse_gtfs_times(ordered["departure_time"])
    arrival = parse_gtfs_times(ordered["arrival_time"])
    seconds = pd.Series(np.where(departure >= 0, departure, arrival), index=ordered.index, dtype=np.float64)
    missing = seconds < 0
    if missing.any():  # times only at timepoints: interpolate in each trip that lacks some
        gaps = ordered["trip_id"].isin(set(ordered.loc[missing, "trip_id"]))
        seconds[missing] = np.nan
        seconds[gaps] = (
            seconds[gaps]
            .groupby(ordered.loc[gaps, "trip_id"])
            .transform(lambda s: s.interpolate(limit_direction="both"))
        )
    first = seconds.groupby(ordered["trip_id"]).transform("first")
    offsets = (seconds - first).round().astype(np.int64)
    per_trip = pd.DataFrame(
        {"stops": ordered["stop_id"].astype(str).groupby(ordered["trip_id"]).agg(tuple),
         "offsets": offsets.groupby(ordered["trip_id"]).agg(tuple)}
    )  # fmt: skip
    instances = plan[["trip_id", "route_id", "direction_id", "start_time"]].merge(
        per_trip, left_on="trip_id", right_index=True
    )
    instances = instances[instances["stops"].map(len) >= 2]
    instances = instances.assign(
        start=parse_gtfs_times(instances["start_time"]),
        direction_id=pd.to_numeric(instances["direction_id"], errors="coerce").fillna(0).astype(int),
    )
    services = []
    for (route, direction, _), group in instances.groupby(["route_id", "direction_id", "stops"], sort=True):
        median = np.median(np.array(group["offsets"].tolist(), dtype=np.float64), axis=0)
        services.append(
            Service(str(route), int(str(direction)), tuple(group["stops"].iloc[0]),
                    tuple(int(v) for v in np.round(median)),
                    tuple(sorted(int(v) for v in group["start"])))
        )  # fmt: skip
    return services


def apply_operations(
    services: list[Service], operations: Sequence[Operation], places: Places
) -> list[Service]:
    """The services after every operation, in order."""
    for operation in operations:
        if not any(s.route_id == operation.route for s in services):
            raise BadParameter(f"operation {operation.name!r}: route {operation.route} has no service left")
        services = _apply(services, operation, places)
    return services


def _apply(services: list[Service], op: Operation, places: Places) -> list[Service]:
    mine = [s for s in services if s.route_id == op.route]
    others = [s for s in services if s.route_id != op.route]
    if isinstance(op, Drop):
        return others
    if isinstance(op, Truncate):
        return others + _truncate(mine, op, places)
    if isinstance(op, Extend):
        return others + _extend(mine, op, places)
    if isinstance(op, Merge):
        return _merge(mine, others, op, places)
    return others + _headway(mine, op)


def _truncate(mine: list[Service], op: Truncate, places: Places) -> list[Service]:
    at = places.cluster
    through = [s for s in mine if {at[op.from_stop], at[op.to_stop]} <= {at[x] for x in s.stops}]
    if not through:
        raise BadParameter(f"operation {op.name!r}: no pattern of route {op.route} passes both "
                           f"{op.from_stop} and {op.to_stop}")  # fmt: skip
    main = max(through, key=lambda s: len(s.stops))
    clusters = [at[x] for x in main.stops]
    i, j = sorted((clusters.index(at[op.from_stop]), clusters.index(at[op.to_stop])))
    kept = set(clusters[i : j + 1])
    out = []
    for service in mine:
        start, stop = _longest_run([at[x] in kept for x in service.stops])
        if stop - start >= 2:
            shift = service.offsets[start]
            out.append(replace(
                service, stops=service.stops[start:stop],
                offsets=tuple(o - shift for o in service.offsets[start:stop]),
                starts=tuple(t + shift for t in service.starts),
            ))  # fmt: skip
    return out


def _longest_run(flags: Sequence[bool]) -> tuple[int, int]:
    best, start = (0, 0), None
    for position, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = position
        elif not flag and start is not None:
            if position - start > best[1] - best[0]:
                best = (start, position)
            start = None
    return best


def _extend(mine: list[Service], op: Extend, places: Places) -> list[Service]:
    at = places.cluster
    speed = _speed_m_per_s(mine, places)
    path = [op.after_stop, *op.stops]
    legs = [round(places.distance_m(a, b) / speed) for a, b in zip(path[:-1], path[1:], strict=True)]
    added = np.cumsum(legs).tolist()
    out, touched = [], False
    for service in mine:
        if at[service.stops[-1]] == at[op.after_stop]:
            touched = True
            end = service.offsets[-1]
            service = replace(service, stops=service.stops + op.stops,
                              offsets=service.offsets + tuple(end + a for a in added))  # fmt: skip
        elif at[service.stops[0]] == at[op.after_stop]:
            touched = True
            lead = int(added[-1])
            before = tuple(lead - a for a in added)[::-1]
            service = replace(
                service, stops=op.stops[::-1] + service.stops,
                offsets=before + tuple(lead + o for o in service.offsets),
                starts=tuple(t - lead for t in service.starts),
            )  # fmt: skip
        out.append(service)
    if not touched:
        raise BadParameter(f"operation {op.name!r}: no pattern of route {op.route} starts or ends at "
                           f"{op.after_stop}")  # fmt: skip
    return out


def _speed_m_per_s(services: Sequence[Service], places: Places) -> float:
    metres = sum(_length_m(s, places) * len(s.starts) for s in services)
    seconds = sum(s.run_s * len(s.starts) for s in services)
    return metres / seconds if metres > 0 and seconds > 0 else 5.0


def _merge(mine: list[Service], others: list[Service], op: Merge, places: Places) -> list[Service]:
    kept = [s for s in others if s.route_id == op.into]
    if not kept:
        raise BadParameter(f"operation {op.name!r}: route {op.into} (into) has no service to merge into")
    targets = {
        d: _busiest([s for s in kept if s.direction_id == d]) for d in sorted({s.direction_id for s in kept})
    }
    moved: dict[int, list[int]] = defaultdict(list)
    for direction in sorted({s.direction_id for s in mine}):
        own = [s for s in mine if s.direction_id == direction]
        first = _busiest(own).stops[0]
        nearest = min(targets, key=lambda d: places.distance_m(first, targets[d].stops[0]))
        moved[nearest] += [t for s in own for t in s.starts]
    out = [s for s in others if s not in targets.values()]
    for direction, target in targets.items():
        out.append(replace(target, starts=tuple(sorted(target.starts + tuple(moved[direction])))))
    return out


def _busiest(services: Sequence[Service]) -> Service:
    return max(services, key=lambda s: (len(s.starts), len(s.stops)))


def _headway(mine: list[Service], op: Headway) -> list[Service]:
    step = round(op.minutes * 60)
    out = []
    for direction in sorted({s.direction_id for s in mine}):
        own = [s for s in mine if s.direction_id == direction]
        every = sorted(t for s in own for t in s.starts)
        low = every[0] if op.start is None else op.start
        high = every[-1] + 1 if op.end is None else op.end
        inside = [replace(s, starts=tuple(t for t in s.starts if low <= t < high)) for s in own]
        if not any(s.starts for s in inside):
            out += own
            continue
        main = max(inside, key=lambda s: (len(s.starts), len(s.stops)))
        for service, window in zip(own, inside, strict=True):
            outside = tuple(t for t in service.starts if not low <= t < high)
            starts = outside + (tuple(range(low, high, step)) if window is main else ())
            if starts:
                out.append(replace(service, starts=tuple(sorted(starts))))
    return out


def operator_figures(services: Sequence[Service], places: Places) -> tuple[int, float, float, int, int]:
    """Trips, vehicle-hours, vehicle-km, peak buses and stops served (module docstring)."""
    trips = sum(len(s.starts) for s in services)
    hours = sum(s.run_s * len(s.starts) for s in services) / 3600.0
    km = sum(_length_m(s, places) * len(s.starts) for s in services) / 1000.0
    events = sorted(
        (t + off, step) for s in services for t in s.starts for off, step in ((0, 1), (s.run_s, -1))
    )
    running = np.cumsum([step for _, step in events]) if events else np.zeros(1)
    stops = len({x for s in services if s.starts for x in s.stops})
    return trips, round(hours, 2), round(km, 2), int(running.max()), stops


def _length_m(service: Service, places: Places) -> float:
    return sum(places.distance_m(a, b) for a, b in zip(service.stops[:-1], service.stops[1:], strict=True))


def evaluate_scenario(
    services: list[Service],
    operations: Sequence[Operation],
    places: Places,
    demand: pd.DataFrame | None = None,
    population: pd.DataFrame | None = None,
    transfer_penalty_min: float = 5.0,
) -> ScenarioReport:
    """Before and after `operations`: operator and passenger figures, stops losing all service and the
    people (population cells with no served stop within WALK_M any more) and demand they served.

    `demand`: origin_stop_id, destination_stop_id, trips (per day); without it, a proxy (demand_proxy).
    `population`: x, y (local metres), population."""
    after = apply_operations(services, operations, places)
    od = demand_proxy(services, places) if demand is None else demand
    stops = (
        {x for s in services + after for x in s.stops}
        | set(od["origin_stop_id"])
        | set(od["destination_stop_id"])
    )
    nodes = sorted({places.cluster[x] for x in stops})
    wanted = _demand_matrix(od, places, nodes)
    before_fig, before_trips = _figures(services, places, wanted, nodes, transfer_penalty_min)
    after_fig, after_trips = _figures(after, places, wanted, nodes, transfer_penalty_min)
    both = wanted * (before_trips.transfers >= 0) * (after_trips.transfers >= 0)
    served_before = {x for s in services if s.starts for x in s.stops}
    served_after = {x for s in after if s.starts for x in s.stops}
    lost = sorted(served_before - served_after)
    lost_set = set(lost)
    touching = od["origin_stop_id"].isin(lost_set) | od["destination_stop_id"].isin(lost_set)
    changed = sorted(
        {op.route for op in operations} | {op.into for op in operations if isinstance(op, Merge)}
    )
    return ScenarioReport(
        before=before_fig,
        after=after_fig,
        lost_stops=lost,
        people_losing=None if population is None else _people_losing(population, lost, served_after, places),
        demand_losing=round(float(od.loc[touching, "trips"].sum()), 1),
        demand_source="proxy: departures at each stop" if demand is None else "origin-destination file",
        routes_changed=changed,
        att_served_both=(_mean_minutes(before_trips, both), _mean_minutes(after_trips, both)),
    )


def _mean_minutes(journeys: Journeys, weights: FloatArray) -> float | None:
    total = float(weights.sum())
    if not total:
        return None
    return round(float((weights * np.where(weights > 0, journeys.time, 0.0)).sum()) / total / 60.0, 2)


def demand_proxy(services: Sequence[Service], places: Places) -> pd.DataFrame:
    """Without an OD file: trips between every two stops in proportion to the product of their departures
    (a gravity model without distance), so busy stops weigh more; the PROXY_STOPS busiest stop clusters."""
    calls: dict[str, int] = defaultdict(int)
    for s in services:
        for x in s.stops:
            calls[places.cluster[x]] += len(s.starts)
    ids = np.array(sorted(sorted(calls, key=lambda x: -calls[x])[:PROXY_STOPS]))
    weight = np.array([calls[x] for x in ids], dtype=np.float64)
    a, b = np.meshgrid(np.arange(ids.size), np.arange(ids.size), indexing="ij")
    keep = a != b
    trips = np.outer(weight, weight)[keep] / weight.sum()
    return pd.DataFrame({"origin_stop_id": ids[a[keep]], "destination_stop_id": ids[b[keep]], "trips": trips})


def _demand_matrix(od: pd.DataFrame, places: Places, nodes: list[str]) -> FloatArray:
    index = {cluster: k for k, cluster in enumerate(nodes)}
    origin = od["origin_stop_id"].map(places.cluster).map(index).to_numpy(dtype=np.int64)
    target = od["destination_stop_id"].map(places.cluster).map(index).to_numpy(dtype=np.int64)
    wanted = np.zeros((len(nodes), len(nodes)))
    np.add.at(wanted, (origin, target), od["trips"].to_numpy(dtype=np.float64))
    np.fill_diagonal(wanted, 0.0)  # both ends in one walking cluster: no ride
    return wanted


def _figures(
    services: list[Service], places: Places, wanted: FloatArray, nodes: list[str], penalty_min: float
) -> tuple[Figures, Journeys]:
    trips, hours, km, peak, stops = operator_figures(services, places)
    index = {cluster: k for k, cluster in enumerate(nodes)}
    lines = [
        Line([index[places.cluster[x]] for x in s.stops], np.diff(s.offsets).tolist(), wait, both_ways=False)
        for s, wait in zip(services, _waits(services), strict=True)
        if s.starts
    ]
    origins = np.flatnonzero(wanted.sum(axis=1) > 0)
    journeys = journeys_over(len(nodes), lines, penalty_min * 60.0, origins=origins)
    att, d0, d1, d2, dun = journey_shares(journeys, wanted)
    figures = Figures(trips, hours, km, peak, stops, round(att / 60.0, 2), round(d0, 2), round(d1, 2),
                      round(d2, 2), round(dun, 2))  # fmt: skip
    return figures, journeys


def _waits(services: Sequence[Service]) -> list[float]:
    """Half the mean headway of each service's route and direction, whole seconds, at most MAX_WAIT_S."""
    starts: dict[tuple[str, int], list[int]] = defaultdict(list)
    for s in services:
        starts[(s.route_id, s.direction_id)] += s.starts
    wait = {}
    for key, times in starts.items():
        span = max(times) - min(times) if times else 0
        wait[key] = min(MAX_WAIT_S, round(span / (len(times) - 1) / 2)) if len(times) > 1 else MAX_WAIT_S
    return [float(wait[(s.route_id, s.direction_id)]) for s in services]


def _people_losing(population: pd.DataFrame, lost: list[str], served: set[str], places: Places) -> int:
    if not lost:
        return 0
    cells = population[["x", "y"]].to_numpy(dtype=np.float64)
    near_lost = _within(cells, [places.xy[x] for x in lost])
    near_served = _within(cells, [places.xy[x] for x in served]) if served else np.zeros(len(cells), bool)
    return int(population["population"].to_numpy()[near_lost & ~near_served].sum())


def _within(points: FloatArray, stops: list[tuple[float, float]]) -> npt.NDArray[np.bool_]:
    distance, _ = cKDTree(np.asarray(stops, dtype=np.float64)).query(points, distance_upper_bound=WALK_M)
    return np.asarray(np.isfinite(distance), dtype=bool)
