"""The speed guard: a ping implying an impossible jump from its vehicle's nearest ping in time is rejected.

The rule (docs/pings.md): a ping is IMPOSSIBLE_SPEED when, against the accepted ping of the same vehicle
that is nearest to it in time (before or after: pings arrive out of order), it is both farther than
`min_jump_m` and faster than `max_speed_mps`. Its limit: a guard knows only the pings it saw. With shared
subscriptions each worker sees part of each vehicle's pings and compares against a sparser history; and an
accepted outlier blocks the pings that disagree with it for up to distance / max_speed_mps of ping time.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np

from transit.gtfs.geo import haversine_m
from transit.telemetry.model import Ping, PingRules, Rejected, RejectReason

_Fix = tuple[float, float, float]  # (epoch seconds, latitude, longitude) of an accepted ping
_SECONDS = itemgetter(0)


@dataclass(slots=True)
class _Track:
    fixes: list[_Fix] = field(default_factory=list)  # sorted by time, at most `history` long
    last_seen_seconds: float = float("-inf")


class SpeedGuard:
    """Per-vehicle memory of recently accepted pings; `check` them one at a time, after `check_ping`.

    Memory is bounded: the latest `history` accepted pings per vehicle by timestamp, and vehicles not seen for
    `forget_after_seconds` of ping time (the latest timestamp seen) are forgotten.
    """

    def __init__(self, rules: PingRules, history: int = 16, forget_after_seconds: float = 3600.0) -> None:
        self.rules = rules
        self.history = history
        self.forget_after_seconds = forget_after_seconds
        self._tracks: dict[str, _Track] = {}
        self._latest_seconds = float("-inf")
        self._next_sweep_seconds = float("-inf")

    def __len__(self) -> int:
        return len(self._tracks)

    def check(self, ping: Ping) -> Ping | Rejected:
        """The ping if it is plausible (and then remembered), else IMPOSSIBLE_SPEED; duplicates pass."""
        seconds = ping.timestamp.timestamp()
        self._forget_stale(seconds)
        track = self._tracks.get(ping.vehicle_id)
        if track is None or seconds - track.last_seen_seconds > self.forget_after_seconds:
            track = self._tracks[ping.vehicle_id] = _Track()
        track.last_seen_seconds = max(track.last_seen_seconds, seconds)
        fixes = track.fixes
        index = bisect_left(fixes, seconds, key=_SECONDS)
        if index < len(fixes) and fixes[index][0] == seconds:
            return ping  # a duplicate: storage makes it idempotent, so it is no evidence of a jump
        problem = self._jump(fixes, index, seconds, ping)
        if problem is not None:
            return Rejected(RejectReason.IMPOSSIBLE_SPEED, problem, ping.vehicle_id)
        fixes.insert(index, (seconds, ping.latitude, ping.longitude))
        if len(fixes) > self.history:
            del fixes[0]
        return ping

    def _jump(self, fixes: list[_Fix], index: int, seconds: float, ping: Ping) -> str | None:
        """What is impossible about the step from the nearest accepted fix in time, or None."""
        candidates = [fixes[i] for i in (index - 1, index) if 0 <= i < len(fixes)]
        if not candidates:
            return None
        nearest = min(candidates, key=lambda fix: abs(fix[0] - seconds))
        here = np.array([ping.latitude]), np.array([ping.longitude])
        distance_m = float(haversine_m(np.array([nearest[1]]), np.array([nearest[2]]), *here)[0])
        gap_seconds = abs(nearest[0] - seconds)
        rules = self.rules
        if distance_m <= rules.min_jump_m or distance_m <= rules.max_speed_mps * gap_seconds:
            return None
        return (
            f"{distance_m:.0f} m in {gap_seconds:.0f} s ({distance_m / gap_seconds:.1f} m/s) from the "
            f"vehicle's ping at {dt.datetime.fromtimestamp(nearest[0], dt.UTC).isoformat()}"
        )

    def _forget_stale(self, seconds: float) -> None:
        """Drop vehicles unseen for `forget_after_seconds` of ping time, sweeping every quarter of it."""
        self._latest_seconds = max(self._latest_seconds, seconds)
        if self._latest_seconds < self._next_sweep_seconds:
            return
        horizon = self._latest_seconds - self.forget_after_seconds
        self._tracks = {vid: t for vid, t in self._tracks.items() if t.last_seen_seconds >= horizon}
        self._next_sweep_seconds = self._latest_seconds + self.forget_after_seconds / 4
