"""Sort a batch of raw MQTT messages into usable pings and rejections (pure core).

Every message ends up somewhere: as pings to store, or as rejections with a reason for the dead-letter
store. Nothing here depends on the order of messages between batches or workers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from transit.telemetry.model import Ping, PingRules, Rejected, RejectReason
from transit.telemetry.pings import check_ping, parse_pings
from transit.telemetry.speed import SpeedGuard

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes


@dataclass(slots=True)
class Triage:
    """The outcome of one batch: pings to store and (message index, rejection) pairs to dead-letter."""

    pings: list[Ping] = field(default_factory=list)
    rejected: list[tuple[int, Rejected]] = field(default_factory=list)

    def count_by_reason(self) -> Counter[RejectReason]:
        return Counter(r.reason for _, r in self.rejected)


def triage(
    messages: Sequence[Message],
    prefix: str,
    rules: PingRules,
    now_for: Callable[[Sequence[Ping]], dt.datetime],
    guard: SpeedGuard,
) -> Triage:
    """Parse and check every message of a batch.

    `now_for` gives the time to judge timestamps against, from the batch's parsed pings: wall time in
    production, the stream's own time when replaying history (see `StreamClock`).
    """
    parsed = [
        (index, result)
        for index, message in enumerate(messages)
        for result in parse_pings(message.topic, message.payload, prefix)
    ]
    now = now_for([result for _, result in parsed if isinstance(result, Ping)])
    out = Triage()
    for index, result in parsed:
        if isinstance(result, Ping):
            result = check_ping(result, rules, now)
        if isinstance(result, Ping):
            result = guard.check(result)
        if isinstance(result, Ping):
            out.pings.append(result)
        else:
            out.rejected.append((index, result))
    return out


class StreamClock:
    """The stream's own time: the newest timestamp of each batch that the bulk of the batch reaches.

    A replayed burst may span hours and cross the night's pause in service (4 h in a real recorded day), so
    the clock moves to the newest ping that is joined to the batch's median by pings no more than `gap`
    apart. One bogus timestamp (a tracker set to 2099) stands apart from the rest, so it cannot drag the clock
    forward: it stays ahead and is rejected as in the future. The price: in a replay, a tracker clock wrong
    by less than `gap` is not caught. The clock never moves backwards.
    """

    def __init__(self, gap: dt.timedelta = dt.timedelta(hours=12)) -> None:
        self.now: dt.datetime | None = None
        self.gap = gap

    def __call__(self, pings: Sequence[Ping]) -> dt.datetime:
        if pings:
            stamps = sorted(p.timestamp for p in pings)
            newest = len(stamps) // 2
            while newest + 1 < len(stamps) and stamps[newest + 1] - stamps[newest] <= self.gap:
                newest += 1
            if self.now is None or stamps[newest] > self.now:
                self.now = stamps[newest]
        return self.now if self.now is not None else _EPOCH  # no ping yet: nothing is judged by it
