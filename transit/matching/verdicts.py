"""Verdicts: what the data supports about each final trip instance; counts per carrier (DESIGN.md section 5).

The rule behind `no_data` is the simulator's (docs/simulate.md): the data shows `coverage`; what the service
could not see (its own ingest down, or the carrier's fleet dark) could add up to the blind share of the trip.
If the verdict of `coverage` and that of `coverage + blind share` differ, the data supports no verdict.
See docs/verdicts.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

KEY = ["service_date", "trip_id", "start_time"]
PLAN_OUTPUT_COLUMNS = (
    "service_date", "trip_id", "start_time", "end_time", "start_at", "end_at", "route_id", "agency_id",
    "carrier_id",
)  # fmt: skip
EVIDENCE_COLUMNS = (
    "vehicle_ids", "first_ping_at", "last_ping_at", "stops_reached", "stops_total", "lost_distance_m",
    "start_delay_s",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "carrier_id",
    "scheduled",
    "performed",
    "partial",
    "missed",
    "no_data",
    "exempt",
    "missed_pct",
)
_ROUND = 9  # blind shares are sums of floats: 1 - 0.8 must count as 0.2


class Verdict(StrEnum):
    """What happened to a trip instance, as far as the data shows."""

    PERFORMED = "performed"
    PARTIAL = "partial"
    MISSED = "missed"
    NO_DATA = "no_data"
    EXEMPT = "exempt"


class Reason(StrEnum):
    """Why a trip instance got its verdict; docs/verdicts.md has the table."""

    COVERED = "covered"  # performed
    SHORT_TURN = "short_turn"  # partial: the vehicle stopped early and never resumed
    PARTIAL_COVERAGE = "partial_coverage"  # partial: otherwise
    NO_VEHICLE_OBSERVED = "no_vehicle_observed"  # missed: telemetry flowing, no vehicle seen on it
    STARTED_OUTSIDE_WINDOW = "started_outside_window"  # missed: run, but started outside the start window
    SERVICE_GAP = "service_gap"  # no_data: our ingest was down over what could change the verdict
    CARRIER_FLEET_DARK = "carrier_fleet_dark"  # no_data: too few of the carrier's vehicles reporting
    EXEMPTION = "exemption"  # exempt: an exemption granted by the city
    CANCELED_BY_AGENCY = "canceled_by_agency"  # exempt: a GTFS-realtime CANCELED trip
    SERVICE_ALERT = "service_alert"  # exempt: a NO_SERVICE or DETOUR alert


VERDICT_OF: dict[Reason, Verdict] = {
    Reason.COVERED: Verdict.PERFORMED,
    Reason.SHORT_TURN: Verdict.PARTIAL,
    Reason.PARTIAL_COVERAGE: Verdict.PARTIAL,
    Reason.NO_VEHICLE_OBSERVED: Verdict.MISSED,
    Reason.STARTED_OUTSIDE_WINDOW: Verdict.MISSED,
    Reason.SERVICE_GAP: Verdict.NO_DATA,
    Reason.CARRIER_FLEET_DARK: Verdict.NO_DATA,
    Reason.EXEMPTION: Verdict.EXEMPT,
    Reason.CANCELED_BY_AGENCY: Verdict.EXEMPT,
    Reason.SERVICE_ALERT: Verdict.EXEMPT,
}
EXEMPT_REASONS = frozenset(r for r, v in VERDICT_OF.items() if v is Verdict.EXEMPT)


@dataclass(frozen=True, slots=True)
class VerdictRules:
    """Thresholds of the verdicts; defaults from DESIGN.md section 5 unless noted."""

    performed_min_coverage: float = 0.8  # DESIGN 5: "cover at least 80% of its path"
    partial_min_coverage: float = 0.2  # DESIGN 5: "coverage between 20% and 80%"
    grace_seconds: int = 30 * 60  # DESIGN 5: "grace period (default 30 min)"
    start_window_early_seconds: int = 10 * 60  # DESIGN 5: "start window -10/+20 min"
    start_window_late_seconds: int = 20 * 60
    # DESIGN 5 asks for "enough" of the carrier's needed vehicles; two thirds is ours (docs/verdicts.md).
    min_fleet_reporting_share: float = 2 / 3

    def __post_init__(self) -> None:
        if not 0.0 < self.partial_min_coverage <= self.performed_min_coverage <= 1.0:
            raise ValueError("need 0 < partial_min_coverage <= performed_min_coverage <= 1")
        if min(self.grace_seconds, self.start_window_early_seconds, self.start_window_late_seconds) < 0:
            raise ValueError("grace and start window seconds must not be negative")
        if not 0.0 <= self.min_fleet_reporting_share <= 1.0:
            raise ValueError("min_fleet_reporting_share must lie in 0..1")


def decide(
    plan: pd.DataFrame,
    evidence: pd.DataFrame,
    service_up: pd.DataFrame,
    fleet: pd.DataFrame,
    as_of: dt.datetime,
    rules: VerdictRules = VerdictRules(),  # noqa: B008 (frozen, so a shared default is safe)
) -> pd.DataFrame:
    """The verdict of every trip instance of `plan` that is final at `as_of` (end_at + grace <= as_of).

    All frames are keyed by the trip instance (service_date, trip_id, start_time); keys must be unique.
    - plan: the day plan (transit.gtfs.dayplan): start_at, end_at (aware UTC), carrier_id, ...; optional
      `exempt_reason` (a Reason of the exempt verdict, or null) and `stop_count`, `distance_m` (fill the
      evidence of trips the matcher never saw).
    - evidence: one row per instance the matcher saw: coverage (0..1 of the path), vehicle_ids,
      first_ping_at, last_ping_at, stops_reached, stops_total, lost_distance_m, start_delay_s (actual minus
      scheduled start, seconds; NaN if unknown); optional `ended_early` (bool: its vehicle kept reporting
      elsewhere after its last matched progress, i.e. a short turn). Missing instances have coverage 0.
    - service_up: service_up_share, the share of [start_at, end_at] during which our ingest was up.
    - fleet: fleet_reporting_share, the lowest share over the trip's time of the carrier's vehicles needed
      then that were reporting at all; optional `fleet_dark_share`, the share of the trip's time during
      which that share was below `rules.min_fleet_reporting_share` (more exact where given).
    A share that is missing counts as nothing seen, so it can only turn a verdict into no_data.
    Returns the plan's output columns, verdict, reason, coverage and the evidence columns, in plan order.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    final = plan.loc[plan["end_at"] + pd.Timedelta(seconds=rules.grace_seconds) <= as_of]
    frame = _join(final, evidence, service_up, fleet)
    _fill_unseen(frame)
    verdict, reason = _judge(frame, rules)
    columns = [c for c in PLAN_OUTPUT_COLUMNS if c in frame.columns]
    out = frame[columns].copy()
    out["verdict"], out["reason"] = verdict, reason
    out["coverage"] = frame["coverage"]
    for column in EVIDENCE_COLUMNS:
        out[column] = frame[column]
    return out.reset_index(drop=True)


def _join(
    plan: pd.DataFrame, evidence: pd.DataFrame, service_up: pd.DataFrame, fleet: pd.DataFrame
) -> pd.DataFrame:
    """The plan with the matching evidence, service_up and fleet columns (left joins on the key)."""
    frame = plan
    parts = [
        (evidence, ["coverage", *EVIDENCE_COLUMNS, "ended_early"]),
        (service_up, ["service_up_share"]),
        (fleet, ["fleet_reporting_share", "fleet_dark_share"]),
    ]
    for part, wanted in parts:
        if part.duplicated(KEY).any():
            raise ValueError(f"duplicate trip instances in the input with columns {list(part.columns)}")
        present = [c for c in wanted if c in part.columns]
        dropped = frame.drop(columns=[c for c in present if c in frame.columns])
        frame = dropped.merge(part[KEY + present], on=KEY, how="left", validate="one_to_one")
        for column in set(wanted) - set(present):
            frame[column] = np.nan
    return frame


def _fill_unseen(frame: pd.DataFrame) -> None:
    """Evidence of instances the matcher never saw: nothing covered, all of the path lost."""
    unseen = frame["coverage"].isna()
    frame["coverage"] = frame["coverage"].astype(float).fillna(0.0).clip(0.0, 1.0)
    if "stop_count" in frame.columns:
        frame["stops_total"] = frame["stops_total"].where(~unseen, frame["stop_count"])
        frame.loc[unseen, "stops_reached"] = 0
    if "distance_m" in frame.columns:
        frame["lost_distance_m"] = frame["lost_distance_m"].where(~unseen, frame["distance_m"])


def _judge(frame: pd.DataFrame, rules: VerdictRules) -> tuple[list[Verdict], list[Reason]]:
    """Verdict and reason per row, first matching rule wins (docs/verdicts.md)."""
    coverage = frame["coverage"].to_numpy(dtype=float)
    delay = frame["start_delay_s"].astype(float).to_numpy()
    outside = (delay < -rules.start_window_early_seconds) | (delay > rules.start_window_late_seconds)
    seen = np.where(outside, 0.0, coverage)  # a run outside the window cannot be its trip
    service_blind = np.clip(1.0 - _shares(frame, "service_up_share"), 0.0, 1.0)
    fleet_blind = _fleet_blind(frame, rules)
    could_be = np.minimum(seen + service_blind + fleet_blind, 1.0).round(_ROUND).astype(np.float64)
    hidden = _category(seen, rules) != _category(could_be, rules)
    exempt = _exempt_reasons(frame)
    category = _category(seen, rules)
    ended_early = frame["ended_early"].eq(True).to_numpy(dtype=bool)
    choices: list[tuple[npt.NDArray[np.bool_], Reason]] = [
        (exempt.notna().to_numpy(), Reason.EXEMPTION),  # replaced by the row's own reason below
        (hidden & (service_blind > 0), Reason.SERVICE_GAP),
        (hidden, Reason.CARRIER_FLEET_DARK),
        (category == 2, Reason.COVERED),
        ((category == 1) & ended_early, Reason.SHORT_TURN),
        (category == 1, Reason.PARTIAL_COVERAGE),
        (outside, Reason.STARTED_OUTSIDE_WINDOW),
    ]
    picked = np.select([c for c, _ in choices], [str(r) for _, r in choices], str(Reason.NO_VEHICLE_OBSERVED))
    reasons = [Reason(e) if isinstance(e, str) else Reason(p) for p, e in zip(picked, exempt, strict=True)]
    return [VERDICT_OF[r] for r in reasons], reasons


def _shares(frame: pd.DataFrame, column: str) -> npt.NDArray[np.float64]:
    """A share column as floats in 0..1; missing is 0 (nothing seen)."""
    return np.clip(frame[column].astype(float).fillna(0.0).to_numpy(), 0.0, 1.0)


def _fleet_blind(frame: pd.DataFrame, rules: VerdictRules) -> npt.NDArray[np.float64]:
    """Share of the trip the carrier's fleet was dark: fleet_dark_share where given, else all or nothing."""
    dark = _shares(frame, "fleet_reporting_share") < rules.min_fleet_reporting_share
    given = frame["fleet_dark_share"].astype(float)
    return np.where(given.notna(), np.clip(given.fillna(0.0).to_numpy(), 0.0, 1.0), dark.astype(float))


def _category(share: npt.NDArray[np.float64], rules: VerdictRules) -> npt.NDArray[np.int64]:
    """0 below partial, 1 partial, 2 performed."""
    partial = share >= rules.partial_min_coverage
    return partial.astype(np.int64) + (share >= rules.performed_min_coverage)


def _exempt_reasons(frame: pd.DataFrame) -> pd.Series:
    """The exempt reason per row (None where not exempt); an unknown reason is an error."""
    if "exempt_reason" not in frame.columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    text = frame["exempt_reason"].astype("string").str.strip()
    text = text.where(text.notna() & (text != ""), None).astype(object)
    unknown = set(text.dropna()) - {str(r) for r in EXEMPT_REASONS}
    if unknown:
        raise ValueError(f"unknown exempt_reason values: {sorted(unknown)}")
    return text


def summarise_carriers(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per carrier: scheduled, counts per verdict, missed_pct = missed / (scheduled - no_data - exempt).

    missed_pct is a share (0..1), NaN (null in JSON) where no trip was judgeable; carriers sorted by id.
    """
    verdict = pd.Categorical(verdicts["verdict"].astype(str), categories=[str(v) for v in Verdict])
    dummies = pd.get_dummies(pd.Series(verdict, index=verdicts.index), dtype=np.int64)
    counts = dummies.groupby(verdicts["carrier_id"].astype(object), dropna=False).sum()
    counts.insert(0, "scheduled", counts.sum(axis=1).astype(np.int64))
    judgeable = (counts["scheduled"] - counts["no_data"] - counts["exempt"]).astype(float)
    counts["missed_pct"] = counts["missed"] / judgeable.where(judgeable > 0)
    out = counts.rename_axis(index="carrier_id", columns=None).reset_index()
    return out.sort_values("carrier_id", kind="stable").reset_index(drop=True)[list(SUMMARY_COLUMNS)]
