"""Enforcement rules (pure): violations, warnings per policy, termination, reversals; the contracts file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from transit.contracts.config import ContractsInvalid, parse_contract_book
from transit.contracts.model import Carrier, Contract, Policy, WarnOn
from transit.contracts.rules import DayInput, Step, add_working_days, enforce_day, settle
from transit.contracts.state import (
    CONTRACT_TERMINATED,
    TERMINATION_REVERSED,
    VIOLATION_RECORDED,
    VIOLATION_VOIDED,
    WARNING_ISSUED,
    WARNING_REVERSED,
    ContractState,
)

D1 = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 10, 12, tzinfo=dt.UTC)


def state_with(policy: Policy = Policy(), routes: tuple[str, ...] = ()) -> ContractState:  # noqa: B008
    state = ContractState()
    state.carriers["AP1"] = Carrier("AP1", "Avtopark 1")
    state.contracts["C1"] = Contract(
        "C1", "AP1", dt.date(2026, 1, 1), dt.date(2027, 12, 31), routes, None if routes else "AP1", policy
    )
    return state


def trips(
    *verdicts: tuple[str, str], route: str = "1", agency: str = "AP1", lost: float = 5000.0
) -> pd.DataFrame:
    rows = [
        {"trip_id": f"T{i}", "start_time": f"0{i % 10}:00:00", "route_id": route, "agency_id": agency,
         "verdict": verdict, "reason": reason, "coverage": 0.0, "lost_distance_m": lost}
        for i, (verdict, reason) in enumerate(verdicts)
    ]  # fmt: skip
    return pd.DataFrame(rows)


MISSED = ("missed", "no_vehicle_observed")
PERFORMED = ("performed", "")
DARK = ("no_data", "carrier_fleet_dark")
GAP = ("no_data", "service_gap")


def run(state: ContractState, day: dt.date, frame: pd.DataFrame, **extra: Any) -> list[Step]:
    """Enforce a day and fold its steps into the state, as recording them would."""
    steps = enforce_day(state, DayInput(day, frame, frozenset(extra.get("exempt", ())), NOW.date(), NOW,
                                        extra.get("period")))  # fmt: skip
    for step in steps:
        state.apply(step.kind, step.payload, at=NOW)
    return steps


def kinds(steps: list[Step]) -> list[str]:
    return [s.kind for s in steps]


def test_a_day_with_missed_trips_gets_one_warning_and_a_second_run_adds_nothing() -> None:
    state = state_with()
    steps = run(state, D1, trips(MISSED, MISSED, PERFORMED))
    assert kinds(steps) == [VIOLATION_RECORDED, VIOLATION_RECORDED, WARNING_ISSUED]
    assert steps[-1].payload["number"] == 1 and len(steps[-1].payload["violation_ids"]) == 2
    assert run(state, D1, trips(MISSED, MISSED, PERFORMED)) == []


def test_a_service_gap_exempt_trips_and_other_agencies_never_violate() -> None:
    state = state_with()
    frame = pd.concat([trips(GAP, ("exempt", "canceled_by_agency"), PERFORMED), trips(MISSED, agency="AP9")])
    assert run(state, D1, frame) == []
    assert run(state, D1, trips(MISSED), exempt={("T0", "00:00:00")}) == []


def test_a_dark_fleet_violates_only_where_the_policy_says_so() -> None:
    assert kinds(run(state_with(), D1, trips(DARK))) == [VIOLATION_RECORDED, WARNING_ISSUED]
    assert run(state_with(Policy(dark_fleet_is_violation=False)), D1, trips(DARK)) == []


def test_the_third_warning_in_the_window_terminates_and_flags_the_routes() -> None:
    state = state_with(routes=("1", "1A"))
    for day in (D1, D1 + dt.timedelta(days=1)):
        assert CONTRACT_TERMINATED not in kinds(run(state, day, trips(MISSED)))
    steps = run(state, D1 + dt.timedelta(days=40), trips(MISSED))
    assert kinds(steps)[-2:] == [CONTRACT_TERMINATED, "routes_flagged_for_tender"]
    assert steps[-1].payload["routes"] == ["1", "1A"] and state.is_terminated("C1")
    # A terminated contract owes nothing after its termination.
    assert run(state, D1 + dt.timedelta(days=41), trips(MISSED)) == []


def test_warnings_outside_the_window_do_not_add_up() -> None:
    state = state_with(Policy(window_days=30))
    for offset in (0, 31, 62):
        assert CONTRACT_TERMINATED not in kinds(run(state, D1 + dt.timedelta(days=offset), trips(MISSED)))


def test_missed_trip_policy_warns_per_trip() -> None:
    steps = run(
        state_with(Policy(warn_on=WarnOn.MISSED_TRIP, warnings_to_terminate=5)), D1, trips(MISSED, MISSED)
    )
    assert kinds(steps).count(WARNING_ISSUED) == 2


def test_lost_distance_policy_warns_above_its_threshold_only() -> None:
    policy = Policy(warn_on=WarnOn.LOST_DISTANCE, lost_distance_km=8.0)
    assert WARNING_ISSUED not in kinds(run(state_with(policy), D1, trips(("partial", ""), lost=7000.0)))
    steps = run(state_with(policy), D1, trips(("partial", ""), MISSED, lost=5000.0))
    assert steps[-1].kind == WARNING_ISSUED and steps[-1].payload["lost_distance_km"] == 10.0


def test_missed_share_policy_decides_on_the_period_s_last_day() -> None:
    policy = Policy(warn_on=WarnOn.MISSED_SHARE, share_period_days=7, missed_share_threshold=0.2)
    state = state_with(policy)
    start = dt.date(2026, 1, 1)  # periods from the contract's start: Jan 1-7, 8-14, …
    week = trips(MISSED, PERFORMED, PERFORMED)  # a third missed

    def period(first: dt.date, last: dt.date) -> pd.DataFrame:
        return pd.concat([week] * ((last - first).days + 1))

    assert WARNING_ISSUED not in kinds(run(state, start + dt.timedelta(days=5), week, period=period))
    steps = run(state, start + dt.timedelta(days=6), week, period=period)
    assert steps[-1].kind == WARNING_ISSUED and steps[-1].payload["missed_share"] == pytest.approx(
        1 / 3, abs=1e-3
    )


def test_voided_violations_reverse_their_warning_and_then_the_termination() -> None:
    state = state_with(Policy(warnings_to_terminate=2))
    run(state, D1, trips(MISSED))
    run(state, D1 + dt.timedelta(days=1), trips(MISSED, MISSED))
    assert state.is_terminated("C1")
    # Late pings: both of day 2's trips were run after all; re-enforcing the day voids and reverses.
    steps = run(state, D1 + dt.timedelta(days=1), trips(PERFORMED, PERFORMED))
    assert kinds(steps) == [VIOLATION_VOIDED, VIOLATION_VOIDED, WARNING_REVERSED, TERMINATION_REVERSED]
    assert not state.is_terminated("C1")


def test_termination_can_wait_for_the_dispute_window() -> None:
    state = state_with(
        Policy(warnings_to_terminate=1, termination_waits_for_disputes=True, dispute_working_days=5)
    )
    early = enforce_day(state, DayInput(D1, trips(MISSED), frozenset(), D1, NOW, None))
    assert CONTRACT_TERMINATED not in kinds(early)
    for step in early:
        state.apply(step.kind, step.payload, at=dt.datetime(2026, 12, 1, 20, tzinfo=dt.UTC))
    emitted: list[str] = []
    settle(state, state.contracts["C1"], dt.date(2026, 12, 9), lambda kind, *_: emitted.append(kind))
    assert CONTRACT_TERMINATED in emitted  # 5 working days after Tuesday 1 December is Tuesday 8 December


def test_working_days_skip_weekends() -> None:
    assert add_working_days(dt.date(2026, 12, 4), 1) == dt.date(2026, 12, 7)  # Friday -> Monday
    assert add_working_days(dt.date(2026, 12, 1), 5) == dt.date(2026, 12, 8)


GOOD = """
[department]
timezone = "Asia/Almaty"
[[carrier]]
id = "AP1"
name = "Avtopark 1"
[[contract]]
id = "C1"
carrier = "AP1"
routes = ["1", "2"]
start = 2026-01-01
end = 2026-12-31
[contract.policy]
warn_on = "missed_trip"
warnings_to_terminate = 2
"""


def test_the_contracts_file_reads_into_carriers_contracts_and_policies() -> None:
    book = parse_contract_book(GOOD)
    assert book.department.timezone == "Asia/Almaty"
    (contract,) = book.contracts
    assert contract.routes == ("1", "2") and contract.policy.warn_on is WarnOn.MISSED_TRIP
    assert contract.policy.warnings_to_terminate == 2 and contract.policy.window_days == 90


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("start = 2026-01-01", 'start = "soon"'), "[[contract]] #1 (C1): field 'start' must be a date"),
        (('carrier = "AP1"', 'carrier = "AP7"'), "names 'AP7', which no [[carrier]] declares"),
        (('routes = ["1", "2"]', 'routes = ["1"]\nagency_id = "AP1"'), "either 'routes'"),
        (
            ("warnings_to_terminate = 2", "warnings_to_terminate = 0"),
            "'warnings_to_terminate' must be a whole number",
        ),
        (('warn_on = "missed_trip"', 'warn_on = "sometimes"'), "'warn_on' must be one of"),
        (('timezone = "Asia/Almaty"', 'timezone = "Mars/Olympus"'), "[department]: field 'timezone'"),
        (("end = 2026-12-31", "end = 2025-12-31"), "field 'end' is before its start"),
        (('name = "Avtopark 1"', 'name = "Avtopark 1"\nfax = "1"'), "unknown field 'fax'"),
        (("[[contract]]", "[[contract]\n"), "not valid TOML"),
    ],
)
def test_mistakes_in_the_contracts_file_name_the_table_and_field(
    change: tuple[str, str], message: str
) -> None:
    with pytest.raises(ContractsInvalid) as raised:
        parse_contract_book(GOOD.replace(*change), "contracts.toml")
    assert message in str(raised.value) and "contracts.toml" in str(raised.value)
