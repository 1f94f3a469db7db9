"""Verdicts from evidence, ingest uptime and fleet reporting: each rule and boundary, the carrier counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transit.matching.verdicts import (
    EXEMPT_REASONS,
    VERDICT_OF,
    Reason,
    Verdict,
    VerdictRules,
    decide,
    summarise_carriers,
)

DAY = dt.date(2026, 3, 3)
START_AT = dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC)
END_AT = START_AT + dt.timedelta(minutes=40)
FINAL = END_AT + dt.timedelta(minutes=30)
KEY = ["service_date", "trip_id", "start_time"]


def make_plan(n: int = 1, **columns: list[Any]) -> pd.DataFrame:
    plan = pd.DataFrame(
        {
            "service_date": [DAY] * n,
            "trip_id": [f"t{k}" for k in range(n)],
            "start_time": [8 * 3600] * n,
            "end_time": [8 * 3600 + 2400] * n,
            "start_at": pd.to_datetime([START_AT] * n, utc=True),
            "end_at": pd.to_datetime([END_AT] * n, utc=True),
            "route_id": ["r1"] * n,
            "agency_id": ["a1"] * n,
            "carrier_id": ["c1"] * n,
            "stop_count": [12] * n,
            "distance_m": [5000.0] * n,
        }
    )
    for name, values in columns.items():
        plan[name] = values
    return plan


def make_evidence(
    plan: pd.DataFrame, coverage: float, start_delay_s: float = 0.0, **extra: Any
) -> pd.DataFrame:
    evidence = plan[KEY].copy()
    evidence["coverage"] = coverage
    evidence["vehicle_ids"] = "bus-001"
    evidence["first_ping_at"] = plan["start_at"]
    evidence["last_ping_at"] = plan["end_at"]
    evidence["stops_reached"] = round(12 * coverage)
    evidence["stops_total"] = 12
    evidence["lost_distance_m"] = 5000.0 * (1 - coverage)
    evidence["start_delay_s"] = start_delay_s
    for name, value in extra.items():
        evidence[name] = value
    return evidence


def shares(plan: pd.DataFrame, column: str, value: float) -> pd.DataFrame:
    frame = plan[KEY].copy()
    frame[column] = value
    return frame


def decide_one(
    coverage: float | None,
    start_delay_s: float = 0.0,
    up: float = 1.0,
    fleet: float = 1.0,
    plan: pd.DataFrame | None = None,
    **extra: Any,
) -> tuple[str, str]:
    plan = make_plan() if plan is None else plan
    evidence = make_evidence(plan, coverage, start_delay_s, **extra) if coverage is not None else plan[KEY]
    out = decide(
        plan,
        evidence,
        shares(plan, "service_up_share", up),
        shares(plan, "fleet_reporting_share", fleet),
        FINAL,
    )
    return str(out.at[0, "verdict"]), str(out.at[0, "reason"])


@pytest.mark.parametrize(
    ("coverage", "expected"),
    [
        (1.0, ("performed", "covered")),
        (0.8, ("performed", "covered")),
        (0.7999, ("partial", "partial_coverage")),
        (0.2, ("partial", "partial_coverage")),
        (0.1999, ("missed", "no_vehicle_observed")),
        (0.0, ("missed", "no_vehicle_observed")),
        (None, ("missed", "no_vehicle_observed")),  # the matcher never saw it
    ],
)
def test_coverage_thresholds_decide_in_full_view(coverage: float | None, expected: tuple[str, str]) -> None:
    assert decide_one(coverage) == expected


@pytest.mark.parametrize(
    ("delay_s", "coverage", "expected"),
    [
        (-600, 0.95, ("performed", "covered")),  # the early edge is inside
        (-601, 0.95, ("missed", "started_outside_window")),
        (1200, 0.95, ("performed", "covered")),  # the late edge is inside (simulator: delay <= 20 min)
        (1201, 0.95, ("missed", "started_outside_window")),
        (1500, 0.5, ("missed", "started_outside_window")),
        (float("nan"), 0.95, ("performed", "covered")),  # unknown delay is not held against it
    ],
)
def test_start_window_edges(delay_s: float, coverage: float, expected: tuple[str, str]) -> None:
    assert decide_one(coverage, delay_s) == expected


@pytest.mark.parametrize(
    ("coverage", "up", "expected"),
    [
        (0.0, 0.81, ("missed", "no_vehicle_observed")),  # what was hidden could not reach 0.2
        (0.0, 0.8, ("no_data", "service_gap")),  # 20% hidden: it could have been partial
        (0.1, 0.85, ("no_data", "service_gap")),
        (0.0, 0.0, ("no_data", "service_gap")),
        (0.5, 0.7, ("no_data", "service_gap")),  # a partial that could have been performed
        (0.5, 0.9, ("partial", "partial_coverage")),
        (0.85, 0.5, ("performed", "covered")),  # covered before the outage stays performed
        (0.0, float("nan"), ("no_data", "service_gap")),  # unknown uptime: nothing can be claimed
    ],
)
def test_service_gap_only_where_it_could_change_the_verdict(
    coverage: float, up: float, expected: tuple[str, str]
) -> None:
    assert decide_one(coverage, up=up) == expected


@pytest.mark.parametrize(
    ("coverage", "fleet", "expected"),
    [
        (0.0, 2 / 3, ("missed", "no_vehicle_observed")),  # exactly the minimum share reporting
        (0.0, 0.66, ("no_data", "carrier_fleet_dark")),
        (0.0, 0.0, ("no_data", "carrier_fleet_dark")),
        (0.5, 0.0, ("no_data", "carrier_fleet_dark")),
        (0.9, 0.0, ("performed", "covered")),
        (0.0, float("nan"), ("no_data", "carrier_fleet_dark")),
    ],
)
def test_dark_fleet_is_no_data_never_missed(coverage: float, fleet: float, expected: tuple[str, str]) -> None:
    assert decide_one(coverage, fleet=fleet) == expected


def test_service_gap_wins_over_dark_fleet() -> None:
    assert decide_one(0.0, up=0.5, fleet=0.0) == ("no_data", "service_gap")


def test_started_outside_window_during_outage_is_no_data() -> None:
    assert decide_one(0.9, 1500, up=0.5) == ("no_data", "service_gap")


@pytest.mark.parametrize(
    ("dark_share", "expected"),
    [
        (0.1, ("missed", "no_vehicle_observed")),  # dark over 10% of the trip: cannot reach 0.2
        (0.3, ("no_data", "carrier_fleet_dark")),
    ],
)
def test_fleet_dark_share_is_used_where_given(dark_share: float, expected: tuple[str, str]) -> None:
    plan = make_plan()
    fleet = shares(plan, "fleet_reporting_share", 0.0)
    fleet["fleet_dark_share"] = dark_share
    out = decide(plan, make_evidence(plan, 0.0), shares(plan, "service_up_share", 1.0), fleet, FINAL)
    assert (out.at[0, "verdict"], out.at[0, "reason"]) == expected


def test_short_turn_when_the_matcher_saw_it_end_early() -> None:
    assert decide_one(0.5, ended_early=True) == ("partial", "short_turn")
    assert decide_one(0.9, ended_early=True) == ("performed", "covered")


@pytest.mark.parametrize("reason", ["exemption", "canceled_by_agency", "service_alert"])
@pytest.mark.parametrize(("coverage", "up", "fleet"), [(0.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)])
def test_exempt_wins_over_every_other_rule(reason: str, coverage: float, up: float, fleet: float) -> None:
    plan = make_plan(exempt_reason=[reason])
    assert decide_one(coverage, up=up, fleet=fleet, plan=plan) == ("exempt", reason)


def test_blank_exempt_reason_is_not_exempt_and_unknown_one_raises() -> None:
    assert decide_one(1.0, plan=make_plan(exempt_reason=[" "])) == ("performed", "covered")
    with pytest.raises(ValueError, match="exempt_reason"):
        decide_one(1.0, plan=make_plan(exempt_reason=["weather"]))


def test_trips_not_yet_final_are_left_out() -> None:
    plan = make_plan(2)
    plan["end_at"] = plan["end_at"] + pd.to_timedelta([0, 1], unit="s")
    out = decide(
        plan,
        make_evidence(plan, 1.0),
        shares(plan, "service_up_share", 1.0),
        shares(plan, "fleet_reporting_share", 1.0),
        FINAL,  # exactly end + grace of t0: final
    )
    assert out["trip_id"].tolist() == ["t0"]


def test_output_carries_plan_keys_and_evidence_and_fills_unseen_trips() -> None:
    plan = make_plan(2)
    evidence = make_evidence(plan.iloc[[0]], 0.9)
    out = decide(
        plan,
        evidence,
        shares(plan, "service_up_share", 1.0),
        shares(plan, "fleet_reporting_share", 1.0),
        FINAL,
    )
    assert {"service_date", "trip_id", "start_time", "carrier_id", "verdict", "reason", "coverage"} <= set(
        out
    )
    assert {"vehicle_ids", "first_ping_at", "lost_distance_m", "stops_reached", "start_delay_s"} <= set(out)
    unseen = out.iloc[1]
    assert (unseen["coverage"], unseen["stops_total"], unseen["lost_distance_m"]) == (0.0, 12, 5000.0)


def test_duplicate_evidence_rows_raise() -> None:
    plan = make_plan()
    evidence = pd.concat([make_evidence(plan, 0.9)] * 2)
    with pytest.raises(ValueError, match="duplicate"):
        decide(
            plan,
            evidence,
            shares(plan, "service_up_share", 1),
            shares(plan, "fleet_reporting_share", 1),
            FINAL,
        )


def test_naive_as_of_raises() -> None:
    plan = make_plan()
    with pytest.raises(ValueError, match="timezone"):
        decide(plan, plan[KEY], plan[KEY], plan[KEY], FINAL.replace(tzinfo=None))


def test_every_reason_belongs_to_one_verdict() -> None:
    assert set(VERDICT_OF) == set(Reason)
    assert {VERDICT_OF[r] for r in EXEMPT_REASONS} == {Verdict.EXEMPT}


def test_rules_reject_inconsistent_thresholds() -> None:
    with pytest.raises(ValueError):
        VerdictRules(performed_min_coverage=0.1)


def test_summary_counts_and_missed_pct() -> None:
    verdicts = pd.DataFrame(
        {
            "carrier_id": ["b", "a", "a", "a", "a", "a", "b"],
            "verdict": ["no_data", "performed", "missed", "partial", "no_data", "exempt", "exempt"],
        }
    )
    out = summarise_carriers(verdicts).set_index("carrier_id")
    assert out.loc["a"].drop("missed_pct").tolist() == [5, 1, 1, 1, 1, 1]
    assert out.loc["a", "missed_pct"] == pytest.approx(1 / 3)
    assert pd.isna(out.loc["b", "missed_pct"])  # nothing judgeable: null, not 0 or inf


def test_summary_of_no_verdicts_is_empty() -> None:
    out = summarise_carriers(pd.DataFrame({"carrier_id": [], "verdict": []}))
    assert out.empty
    assert list(out.columns)[0] == "carrier_id"


def test_summary_all_missed_is_one() -> None:
    out = summarise_carriers(pd.DataFrame({"carrier_id": ["a", "a"], "verdict": ["missed", "missed"]}))
    assert out.at[0, "missed_pct"] == 1.0


trip_inputs = st.tuples(
    st.sampled_from(["c1", "c2", "c3"]),
    st.one_of(st.none(), st.floats(0.0, 1.0)),
    st.one_of(st.just(float("nan")), st.floats(-3600, 3600)),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.sampled_from([None, None, None, "exemption", "canceled_by_agency"]),
    st.integers(-3600, 3600),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(trip_inputs, min_size=0, max_size=30))
def test_verdict_counts_add_up_to_scheduled_per_carrier(trips: list[tuple[Any, ...]]) -> None:
    n = len(trips)
    carriers, coverage, delay, up, fleet, exempt, end_shift = ([t[k] for t in trips] for k in range(7))
    plan = make_plan(n, carrier_id=carriers, exempt_reason=exempt)
    plan["end_at"] = plan["end_at"] + pd.to_timedelta(end_shift, unit="s")
    seen = [k for k in range(n) if coverage[k] is not None]
    evidence = plan.iloc[seen][KEY].assign(
        coverage=[coverage[k] for k in seen], start_delay_s=[delay[k] for k in seen]
    )
    up_frame = plan[KEY].assign(service_up_share=up)
    fleet_frame = plan[KEY].assign(fleet_reporting_share=fleet)
    out = decide(plan, evidence, up_frame, fleet_frame, FINAL)
    assert len(out) == int((np.asarray(end_shift, dtype=int) <= 0).sum())
    assert all(VERDICT_OF[Reason(r)] == v for v, r in zip(out["verdict"], out["reason"], strict=True))
    summary = summarise_carriers(out)
    parts = summary[["performed", "partial", "missed", "no_data", "exempt"]].sum(axis=1)
    assert (parts == summary["scheduled"]).all()
    assert summary["scheduled"].sum() == len(out)
    assert summary["missed_pct"].dropna().between(0, 1).all()
