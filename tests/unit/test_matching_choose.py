"""Which runs of one vehicle stand: a run mostly inside a better run's time goes, consecutive trips stay."""

from __future__ import annotations

import numpy as np
import pandas as pd

from transit.matching.choose import ChoiceRules, Instances, _kept_runs, choose_pairs
from transit.matching.coverage import group_medians

MINUTE = 60.0


def runs(*rows: dict[str, float]) -> pd.DataFrame:
    """Pairs of vehicle 0, one per run: times in minutes; terminals far apart unless given."""
    frame = pd.DataFrame(rows)
    for column in ("core_from_s", "core_to_s", "active_from_s", "active_to_s", "first_s", "last_s"):
        frame[column] = frame[column] * MINUTE
    frame["vehicle"] = 0
    for column, default in (("x0", 0.0), ("y0", 0.0), ("x1", 5000.0), ("y1", 0.0)):
        if column not in frame:
            frame[column] = default
    return frame


def trip(run: int, base: float, core: tuple[float, float], active: tuple[float, float]) -> dict[str, float]:
    return {
        "run": run,
        "base": base,
        "core_from_s": core[0],
        "core_to_s": core[1],
        "active_from_s": active[0],
        "active_to_s": active[1],
        "first_s": active[0],
        "last_s": active[1],
    }


def test_a_run_inside_a_better_runs_time_is_dropped() -> None:
    # A bus on its own trip (minutes 0-30) passes along 8 minutes of another route's path.
    pairs = runs(trip(1, 1.2, (1, 29), (0, 30)), trip(2, 0.4, (10, 18), (9, 19)))
    assert list(_kept_runs(pairs, ChoiceRules())) == [1]


def test_a_late_trip_stays_when_the_next_trip_crawls_along_its_end() -> None:
    # Trip 1 ran late (minutes 16-31); the next trip's path shares trip 1's last stretch, so its first steps
    # began at minute 21, while the bus was still on trip 1; its core (5%-95% of its distance) is 32-47.
    # The next trip scores better, but it does not claim the ten minutes it crawled before its core.
    pairs = runs(trip(1, 0.99, (16.5, 30.9), (16, 31.4)), trip(2, 1.02, (32.2, 47.2), (21.5, 52)))
    assert sorted(_kept_runs(pairs, ChoiceRules()).tolist()) == [1, 2]


def test_group_medians_are_the_medians_of_each_group() -> None:
    rng = np.random.default_rng(3)
    group = np.sort(rng.integers(0, 50, 2000))
    values = rng.normal(0, 500, 2000)
    groups, medians = group_medians(group, values)
    expected = pd.Series(values).groupby(group).median()
    assert list(groups) == list(expected.index)
    assert np.allclose(medians, expected.to_numpy(), atol=1e-9)


def scored_pair(
    vehicle: int, instance: int, coverage: float, minutes: tuple[float, float]
) -> dict[str, float]:
    t0, t1 = minutes[0] * MINUTE, minutes[1] * MINUTE
    return {
        "vehicle": vehicle,
        "instance": instance,
        "coverage": coverage,
        "lag_s": 0.0,
        "id_share": 0.0,
        **dict.fromkeys(("first_s", "active_from_s", "core_from_s"), t0),
        **dict.fromkeys(("last_s", "active_to_s", "core_to_s"), t1),
    }


def test_a_partial_run_of_another_duty_by_a_vehicle_that_keeps_its_own_is_a_deadhead() -> None:
    # Vehicle 0 runs block 0's trips 0 and 1 (path 0) and, between them, covers 40% of trip 2 of block 1
    # (path 1) running empty along it. Vehicle 1 runs trip 3 of block 1 in full: a vehicle keeping to block 1.
    instances = Instances(
        path=np.array([0, 0, 1, 1]),
        block=np.array([0, 0, 1, 1]),
        terminals=np.array([[0.0, 0.0, 5000.0, 0.0]] * 4),
    )
    scored = pd.DataFrame(
        [
            scored_pair(0, 0, 1.0, (0, 30)),
            scored_pair(0, 2, 0.4, (35, 45)),
            scored_pair(0, 1, 1.0, (50, 80)),
            scored_pair(1, 3, 1.0, (0, 30)),
        ]
    )
    chosen = scored.loc[choose_pairs(scored, instances), "instance"].tolist()
    assert sorted(chosen) == [0, 1, 3]
    without = choose_pairs(scored, instances, rules=ChoiceRules(foreign_partial_penalty=0.0))
    assert sorted(scored.loc[without, "instance"].tolist()) == [0, 1, 2, 3]


def test_a_late_bus_keeps_its_inferred_chain_rather_than_the_next_chains_trip() -> None:
    # A feed without blocks: trips 0, 1, 2 form one chain (one bus in turn), trip 3 the next chain's trip,
    # starting 25 minutes after trip 2. Vehicle 0 ran trips 0 and 1, then trip 2 twenty minutes late: its
    # run fits trip 3 with a 5-minute lead just as well. Its chain keeps it on trip 2, as its tracker says.
    instances = Instances(
        path=np.array([0, 0, 0, 0]),
        block=np.array([0, 0, 0, 0]),  # the route: the duty of a feed without blocks
        terminals=np.array([[0.0, 0.0, 0.0, 0.0]] * 4),
        chain=np.array([0, 0, 0, 1]),
    )
    late, early = scored_pair(0, 2, 1.0, (120, 150)), scored_pair(0, 3, 0.9, (120, 150))
    late["lag_s"], early["lag_s"] = 20 * MINUTE, -5 * MINUTE
    scored = pd.DataFrame([scored_pair(0, 0, 1.0, (0, 30)), scored_pair(0, 1, 1.0, (60, 90)), late, early])
    chosen = scored.loc[choose_pairs(scored, instances), "instance"].tolist()
    assert sorted(chosen) == [0, 1, 2]
    without = choose_pairs(scored, instances, rules=ChoiceRules(chain_bonus=0.0))
    assert sorted(scored.loc[without, "instance"].tolist()) == [0, 1, 3]


def test_an_inferred_chain_is_the_duty_of_the_bus_that_runs_most_of_it_not_of_a_passer_by() -> None:
    from transit.matching.choose import _vehicle_blocks

    # Vehicle 0 ran 6 trips of chain 7; vehicle 1, a rapid bus on a shared corridor, was given 2 of them
    # (a third of its own trips) in the first pass; vehicle 2 took over the chain's last 4 (a swap).
    chosen = pd.DataFrame(
        {"vehicle": [0] * 6 + [1] * 2 + [1] * 4 + [2] * 4, "chain": [7] * 8 + [9] * 4 + [7] * 4}
    )
    rules = ChoiceRules()
    assert set(_vehicle_blocks(chosen, rules, column="chain")) == {(0, 7), (1, 7), (1, 9), (2, 7)}
    assert set(_vehicle_blocks(chosen, rules, column="chain", sole=True)) == {(0, 7), (1, 9), (2, 7)}


def test_a_partial_run_on_another_buses_chain_is_a_deadhead_and_on_nobodys_chain_a_partial_trip() -> None:
    # A feed without blocks (one route: one duty). Vehicle 0 keeps to chain 0 (trips 0-2), vehicle 1 to chain
    # 1 (trips 3, 4). Trip 5 of chain 1 was missed; vehicle 0 covers 40% of it between two of its own trips
    # (running empty): a deadhead. Trip 6 belongs to chain 2, which no vehicle keeps to: vehicle 0's 40% of it
    # is a partial trip.
    instances = Instances(
        path=np.zeros(7, dtype=np.int64),
        block=np.zeros(7, dtype=np.int64),
        terminals=np.array([[0.0, 0.0, 5000.0, 0.0]] * 7),
        chain=np.array([0, 0, 0, 1, 1, 1, 2]),
    )
    scored = pd.DataFrame(
        [
            scored_pair(0, 0, 1.0, (0, 30)),
            scored_pair(0, 1, 1.0, (60, 90)),
            scored_pair(0, 5, 0.4, (95, 105)),
            scored_pair(0, 2, 1.0, (120, 150)),
            scored_pair(0, 6, 0.4, (200, 210)),
            scored_pair(1, 3, 1.0, (0, 30)),
            scored_pair(1, 4, 1.0, (60, 90)),
        ]
    )
    chosen = scored.loc[choose_pairs(scored, instances), "instance"].tolist()
    assert sorted(chosen) == [0, 1, 2, 3, 4, 6]
    without = choose_pairs(scored, instances, rules=ChoiceRules(foreign_partial_penalty=0.0))
    assert sorted(scored.loc[without, "instance"].tolist()) == [0, 1, 2, 3, 4, 5, 6]
