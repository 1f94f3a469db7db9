"""Carriers, contracts and their policies (pure): what the city agreed with each carrier.

Words: a *violation* is one verdict that breaks a contract (a missed trip; a dark fleet where the policy
says so); a *warning* is the notice the policy issues for violations (by default one per service day with
any); *termination* follows `warnings_to_terminate` warnings within `window_days`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

LANGUAGES = ("ru", "kk", "en")


class WarnOn(StrEnum):
    """What raises a warning."""

    MISSED_DAY = "missed_day"  # each service day with at least one violation (default)
    MISSED_TRIP = "missed_trip"  # each violation
    MISSED_SHARE = "missed_share"  # a period whose missed share is above missed_share_threshold
    LOST_DISTANCE = "lost_distance"  # a service day whose lost distance is above lost_distance_km


@dataclass(frozen=True, slots=True)
class Policy:
    """How a contract is enforced (DESIGN section 6); the defaults are the city's standard terms."""

    warn_on: WarnOn = WarnOn.MISSED_DAY
    missed_share_threshold: float = (
        0.05  # with missed_share: share of judged trips (no_data, exempt left out)
    )
    share_period_days: int = 7  # with missed_share: periods of this many days from the contract's start
    lost_distance_km: float = 50.0  # with lost_distance: per service day, missed and partial trips together
    count_partial: bool = False  # partial trips are violations too
    dark_fleet_is_violation: bool = True  # no_data / carrier_fleet_dark counts (no escape by going dark)
    warnings_to_terminate: int = 3
    window_days: int = 90
    dispute_working_days: int = 5
    termination_waits_for_disputes: bool = False


@dataclass(frozen=True, slots=True)
class Channels:
    """Where a carrier's notices go; MQTT is the topic {prefix}/carriers/{carrier_id}/notices."""

    webhook: str | None = None
    email: str | None = None
    mqtt: bool = True

    def enabled(self) -> list[str]:
        """The channels a notice goes to, in a fixed order."""
        return [
            name for name, on in (("webhook", self.webhook), ("email", self.email), ("mqtt", self.mqtt)) if on
        ]


@dataclass(frozen=True, slots=True)
class Carrier:
    carrier_id: str
    name: str
    language: str = "ru"
    agency_ids: tuple[str, ...] = ()
    channels: Channels = field(default_factory=Channels)


@dataclass(frozen=True, slots=True)
class Contract:
    contract_id: str
    carrier_id: str
    start: dt.date
    end: dt.date
    routes: tuple[str, ...] = ()  # route_ids; empty: every route of agency_id
    agency_id: str | None = None
    policy: Policy = field(default_factory=Policy)

    def covers(self, route_id: str, agency_id: str | None, on: dt.date) -> bool:
        """Whether a trip of this route (and agency) on this date is owed under this contract."""
        if not self.start <= on <= self.end:
            return False
        if self.routes:
            return route_id in self.routes
        return agency_id is not None and agency_id == self.agency_id


@dataclass(frozen=True, slots=True)
class Department:
    """The transport department: who it is, its time zone (notices show local times), where copies go."""

    name: str = "Transport department"
    timezone: str = "UTC"
    email: str | None = None
    webhook: str | None = None
    language: str = "ru"


@dataclass(frozen=True, slots=True)
class ContractBook:
    """Everything a contracts file declares."""

    department: Department
    carriers: tuple[Carrier, ...]
    contracts: tuple[Contract, ...]
