"""Which vehicle ran which trip instance: candidate pairs grouped into runs, runs matched to instances.

A bus running one trip at 10-minute headways also fits the instances just before and after it, so the
candidate pairs of one vehicle on one path that see the same pings are one physical *run* seen against
several instances. Only pairs that could matter are eligible: coverage of at least 20%, and not more than
10 minutes ahead of the schedule. A run that better runs of the same vehicle (and the layovers between them)
mostly cover in time is dropped: the shared end of one trip and start of the next can look like a run of a
third route. Then, path by path, runs and instances are matched one to one (an optimal assignment,
`scipy.optimize.linear_sum_assignment`) maximising

    coverage - delay_weight * (lag / delay_scale)^2 + trip_id_bonus * id_share + block_bonus * same_duty
             + chain_bonus * same_chain

where lag is how far the run is behind the instance's schedule (median over its pings), id_share the share
of its pings whose payload names the instance, same_duty whether the instance belongs to a duty (its
block, or its route in a feed without blocks) the vehicle keeps to, and same_chain, in a feed without blocks,
whether it belongs to the inferred block (`Instances.chain`) the vehicle keeps to. A partial run (under 80%
coverage) loses 1 when its vehicle keeps to another duty, or keeps to a chain while another vehicle keeps to
the trip's (a deadhead along the route between two of its own trips). A pair scoring under 0 is left out.
Duties are learnt from a first assignment without them: a vehicle keeps to a duty holding at least
`min_block_runs` of its trips and `min_block_share` of them. A late bus then keeps its own trip rather than
the next one of another block, as real trackers, which label a bus by its block, report it.
"""

from __future__ import annotations

import math
from bisect import insort
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from transit.matching.coverage import MIN_COVERAGE
from transit.matching.projection import FloatArray, IntArray


@dataclass(frozen=True, slots=True)
class ChoiceRules:
    """Weights of the run-to-instance assignment (module docstring)."""

    earliest_lag_s: float = -600.0  # DESIGN 5's start window opens 10 minutes early
    min_coverage: float = MIN_COVERAGE  # below it a pair cannot change a verdict, only tip others
    delay_scale_s: float = 1200.0
    delay_weight: float = 0.5
    trip_id_bonus: float = 0.3
    block_bonus: float = 0.5
    chain_bonus: float = 0.5
    min_block_runs: int = 2
    min_block_share: float = 0.25
    overlap_share: float = 0.5
    layover_s: float = 900.0
    layover_m: float = 300.0
    claim_slack_s: float = 300.0
    foreign_partial_penalty: float = 1.0
    foreign_partial_below: float = 0.8


@dataclass(frozen=True, slots=True)
class Instances:
    """Per trip instance: its path and block (codes, -1 for none), and where its first and last stops lie
    (x0, y0, x1, y1 in local metres). `chain`: where the feed has no block, the inferred one (`assign`'s
    chaining of a route's trips, -1 for none)."""

    path: IntArray
    block: IntArray
    terminals: FloatArray
    chain: IntArray | None = None


def choose_pairs(
    scored: pd.DataFrame,
    instances: Instances,
    *,
    use_trip_ids: bool = True,
    rules: ChoiceRules = ChoiceRules(),  # noqa: B008 (frozen)
) -> IntArray:
    """Index labels of the chosen rows of `scored` (one per trip instance at most, one per run at most).

    `scored`: one row per candidate pair with vehicle, instance, coverage, first_s, last_s, lag_s, id_share,
    and the active and core spans (assign._ACTIVE_COLUMNS).
    """
    eligible = (scored["coverage"] >= rules.min_coverage) & scored["core_from_s"].notna()
    eligible &= ~(scored["lag_s"] < rules.earliest_lag_s)  # a bus this far ahead runs another trip
    pairs = scored[eligible].copy()
    if pairs.empty:
        return np.zeros(0, dtype=np.int64)
    instance = pairs["instance"].to_numpy(dtype=np.int64)
    pairs["path"] = instances.path[instance]
    pairs["block"] = instances.block[instance]
    pairs["chain"] = -1 if instances.chain is None else instances.chain[instance]
    for k, column in enumerate(("x0", "y0", "x1", "y1")):
        pairs[column] = instances.terminals[instance, k]
    lag = pairs["lag_s"].astype(float).fillna(rules.delay_scale_s * 4).to_numpy()
    pairs["base"] = pairs["coverage"] - rules.delay_weight * (lag / rules.delay_scale_s) ** 2
    if use_trip_ids:
        pairs["base"] += rules.trip_id_bonus * pairs["id_share"]
    pairs["run"] = _runs(pairs)
    chosen = _assign(pairs[pairs["run"].isin(_kept_runs(pairs, rules))], pairs["base"])
    # Again, now that the blocks are known: a vehicle's block also decides which of two runs is its own.
    blocks = _vehicle_blocks(pairs.loc[chosen], rules)
    same = pd.MultiIndex.from_arrays([pairs["vehicle"], pairs["block"]]).isin(blocks)
    pairs["base"] += rules.block_bonus * same
    # Without blocks in the feed, a duty is a route; its trips chained as one bus can run them in turn tell
    # which of the route's trips are the vehicle's own (a late bus keeps its chain, as trackers report it).
    chains = _vehicle_blocks(pairs.loc[chosen], rules, column="chain", sole=True)
    same_chain = pd.MultiIndex.from_arrays([pairs["vehicle"], pairs["chain"]]).isin(chains)
    pairs["base"] += rules.chain_bonus * same_chain
    # A vehicle that keeps to a duty and covers only part of another duty's trip was most likely running
    # empty along it between two of its own trips (a deadhead), not running it; so is one that keeps to an
    # inferred chain, on a trip of a chain another vehicle keeps to.
    dutiful = pairs["vehicle"].isin(blocks.get_level_values("vehicle"))
    owned = pairs["chain"].isin(chains.get_level_values("chain"))
    chained = pairs["vehicle"].isin(chains.get_level_values("vehicle"))
    foreign = (dutiful & ~same) | (chained & owned & ~same_chain)
    foreign &= pairs["coverage"] < rules.foreign_partial_below
    pairs["base"] -= rules.foreign_partial_penalty * foreign
    return np.asarray(
        _assign(pairs[pairs["run"].isin(_kept_runs(pairs, rules))], pairs["base"]), dtype=np.int64
    )


def _runs(pairs: pd.DataFrame) -> IntArray:
    """A run id per pair: pairs of one vehicle and path whose matched pings mostly overlap in time share it.

    Pairs by when their matched pings start; a pair opens a new run unless the run so far reaches over at
    least half of its own span (pairs of one bus against neighbouring instances see nearly the same pings).
    """
    ordered = pairs.sort_values(["vehicle", "path", "core_from_s"], kind="stable")
    vehicle, path = ordered["vehicle"].to_numpy(), ordered["path"].to_numpy()
    t0, t1 = ordered["core_from_s"].to_numpy(dtype=float), ordered["core_to_s"].to_numpy(dtype=float)
    same = np.r_[False, (vehicle[1:] == vehicle[:-1]) & (path[1:] == path[:-1])]
    group = np.cumsum(~same)
    reach = pd.Series(t1).groupby(group).cummax().to_numpy()
    before = np.r_[-np.inf, reach[:-1]]
    fresh = ~same | (before - t0 < 0.5 * np.maximum(t1 - t0, 1.0))
    run = pd.Series(np.cumsum(fresh), index=ordered.index)
    return np.asarray(run.reindex(pairs.index).to_numpy(), dtype=np.int64)


def _kept_runs(pairs: pd.DataFrame, rules: ChoiceRules) -> IntArray:
    """Runs not mostly at the same time as a better run of the same vehicle (on another path).

    A run's core is when its best pair covered the middle 90% of its distance. A kept run claims the time
    from its departure from the first stop to its arrival at the last, within its first and last step;
    a stand at a terminal between two claims is claimed too. A run goes when claims of better runs cover
    more than `overlap_share` of its core: the shared end of one trip, the layover and the shared start of
    the next can look like a run of a third route.
    """
    best = pairs.sort_values("base", ascending=False, kind="stable").drop_duplicates("run")
    spans = ["core_from_s", "core_to_s", "active_from_s", "active_to_s", "first_s", "last_s"]
    runs = best.set_index("run")[["vehicle", "base", *spans, "x0", "y0", "x1", "y1"]]
    runs = runs.sort_values(["vehicle", "base"], ascending=[True, False], kind="stable")
    first, last = runs["first_s"].to_numpy(dtype=float), runs["last_s"].to_numpy(dtype=float)
    began, ended = runs["active_from_s"].to_numpy(dtype=float), runs["active_to_s"].to_numpy(dtype=float)
    core_from, core_to = runs["core_from_s"].to_numpy(dtype=float), runs["core_to_s"].to_numpy(dtype=float)
    # The ends of a run outside its core (5% of its distance each) at its core's pace, plus a stand: a
    # run whose first steps crawl for long (the vehicle still on its previous trip, along a shared
    # stretch) does not claim that previous trip's time.
    reach = (core_to - core_from) / 18.0 + rules.claim_slack_s
    claim_from = np.maximum(np.minimum(np.fmax(first, began), core_from), core_from - reach)
    claim_to = np.minimum(np.maximum(np.fmin(last, ended), core_to), core_to + reach)
    runs = runs.assign(claim_from=claim_from, claim_to=claim_to)
    columns = ["core_from_s", "core_to_s", "claim_from", "claim_to", "x0", "y0", "x1", "y1"]
    vehicle, rows = runs["vehicle"].to_numpy(), runs[columns].to_numpy(dtype=float).tolist()
    heads = [*np.flatnonzero(np.r_[True, vehicle[1:] != vehicle[:-1]]).tolist(), len(rows)]
    keep = np.zeros(len(rows), dtype=bool)
    # Plain Python per vehicle: a few dozen runs each, where numpy's per-call cost would dominate.
    for head, tail in zip(heads[:-1], heads[1:], strict=True):
        claims: list[Claim] = []  # kept so far, in order of their start
        stretches: list[tuple[float, float]] = []  # their union, bridged (changes only when a run is kept)
        for k in range(head, tail):
            t0, t1, c0, c1, x0, y0, x1, y1 = rows[k]
            covered = sum(max(0.0, min(hi, t1) - max(lo, t0)) for lo, hi in stretches if hi > t0 and lo < t1)
            if covered <= rules.overlap_share * max(t1 - t0, 1.0):
                keep[k] = True
                insort(claims, (c0, c1, x0, y0, x1, y1))
                stretches = _bridged(claims, rules)
    return np.asarray(runs.index[keep], dtype=np.int64)


Claim = tuple[float, float, float, float, float, float]  # from, to (s); first and last stop x, y (m)


def _bridged(claims: list[Claim], rules: ChoiceRules) -> list[tuple[float, float]]:
    """The union of claims (sorted by start), with a layover between two claims filled: under `layover_s`,
    from the last stop of one to the first stop of the next within `layover_m` (the vehicle stood at a
    terminal). A claim joins the stretch before it when it starts before the previous claim ends."""
    out: list[tuple[float, float]] = []
    previous: Claim | None = None
    for claim in claims:
        lo, hi = claim[0], claim[1]
        if previous is not None:
            gap = lo - previous[1]
            stood = (
                gap <= rules.layover_s
                and math.hypot(claim[2] - previous[4], claim[3] - previous[5]) <= rules.layover_m
            )
            if gap <= 0 or stood:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
                previous = claim
                continue
        out.append((lo, hi))
        previous = claim
    return out


def _assign(pairs: pd.DataFrame, score: pd.Series) -> pd.Index:
    """Per path, the one-to-one matching of runs and instances of greatest total score (only scores > 0)."""
    chosen: list[pd.Index] = []
    frame = pairs[["path", "run", "instance"]].assign(score=score.reindex(pairs.index))
    # Per run and instance only the best of its pairs (a run meets an instance once).
    frame = frame.sort_values("score", ascending=False, kind="stable")
    frame = frame[~frame.duplicated(["run", "instance"])]
    for _path, group in frame[frame["score"] > 0].groupby("path", sort=False):
        runs, run_code = np.unique(group["run"].to_numpy(), return_inverse=True)
        instances, instance_code = np.unique(group["instance"].to_numpy(), return_inverse=True)
        matrix = np.full((len(runs), len(instances) + len(runs)), -1.0)
        matrix[run_code, instance_code] = group["score"].to_numpy()
        matrix[np.arange(len(runs)), len(instances) + np.arange(len(runs))] = 0.0  # left unassigned
        label = np.zeros(matrix.shape, dtype=np.int64)  # the pair behind each cell
        label[run_code, instance_code] = group.index.to_numpy(dtype=np.int64)
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        taken = cols < len(instances)
        chosen.append(pd.Index(label[rows[taken], cols[taken]]))
    return chosen[0].append(chosen[1:]) if chosen else pd.Index([], dtype=np.int64)


def _vehicle_blocks(
    chosen: pd.DataFrame, rules: ChoiceRules, column: str = "block", sole: bool = False
) -> pd.MultiIndex:
    """(vehicle, block) pairs where the block (or another duty `column`) holds enough of the vehicle's
    chosen trips. `sole`: a duty one bus runs at a time (an inferred chain) goes only to vehicles with at
    least half as many of its trips as the one with most (two halves of a swap, not a passer-by)."""
    counts = chosen.groupby(["vehicle", column]).size()
    total = chosen.groupby("vehicle").size()
    share = counts / total.reindex(counts.index.get_level_values("vehicle")).to_numpy()
    enough = (counts >= rules.min_block_runs) & (share >= rules.min_block_share)
    if sole:
        most = counts.groupby(level=column).transform("max")
        enough &= counts >= most / 2
    found = counts[enough & (counts.index.get_level_values(column) >= 0)]
    return pd.MultiIndex.from_tuples(list(found.index), names=["vehicle", column])
