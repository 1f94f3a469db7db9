"""The API's resources (pydantic): what each endpoint returns or accepts. Read models are `...Out`, request
bodies `...Create`; field names follow GTFS and the domain (docs/glossary.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from transit.access.model import Role

Text = Field(min_length=1, max_length=2000)


class MeOut(BaseModel):
    key_id: str
    role: Role
    owner_name: str
    owner_staff_id: str | None = None
    carrier_id: str | None = None


class FeedOut(BaseModel):
    id: int
    content_sha256: str
    source_name: str
    loaded_at: dt.datetime
    valid_from: dt.date
    valid_to: dt.date
    feed_version: str | None = None
    trip_count: int
    agency_ids: list[str]


class PlannedTripOut(BaseModel):
    service_date: dt.date
    trip_id: str
    start_time: str
    end_time: str
    start_at: dt.datetime
    end_at: dt.datetime
    route_id: str
    route_short_name: str | None = None
    agency_id: str | None = None
    carrier_id: str | None = None
    service_id: str | None = None
    direction_id: int | None = None
    block_id: str | None = None
    shape_id: str | None = None
    stop_count: int | None = None
    distance_m: float | None = None


class VehicleOut(BaseModel):
    vehicle_id: str
    carrier_id: str | None = None
    last_seen_at: dt.datetime
    latitude: float
    longitude: float
    bearing: float | None = None
    speed: float | None = None
    trip_id: str | None = Field(None, description="The trip its tracker reports (a claim, not a verdict)")
    route_id: str | None = None
    start_time: str | None = None


class TripVerdictOut(BaseModel):
    """The verdict of one trip instance, with its evidence and the decision that stored it."""

    service_date: dt.date
    trip_id: str
    start_time: str
    end_time: str | None = None
    start_at: dt.datetime
    end_at: dt.datetime
    route_id: str | None = None
    agency_id: str | None = None
    carrier_id: str | None = None
    verdict: Literal["performed", "partial", "missed", "no_data", "exempt"]
    reason: str
    vehicle_ids: str | None = None
    coverage: float | None = None
    lost_distance_m: float | None = None
    first_ping_at: dt.datetime | None = None
    last_ping_at: dt.datetime | None = None
    stops_reached: int | None = None
    stops_total: int | None = None
    revision: int
    event: str
    feed_version_id: int
    decided_at: dt.datetime
    decided_by: str
    source: str
    payload_sha256: str


class TripHistoryOut(BaseModel):
    current: TripVerdictOut
    revisions: list[TripVerdictOut]


class CarrierOut(BaseModel):
    carrier_id: str
    name: str
    language: str
    agency_ids: list[str]


class ContractOut(BaseModel):
    contract_id: str
    carrier_id: str
    start: dt.date
    end: dt.date
    routes: list[str]
    agency_id: str | None = None
    policy: dict[str, Any]
    status: Literal["active", "terminated", "ended", "not_started"]
    routes_flagged_for_tender: list[str]


class ViolationOut(BaseModel):
    violation_id: str
    contract_id: str
    carrier_id: str
    service_date: dt.date
    kind: str
    trip: dict[str, Any]
    seq: int
    voided: str | None = None
    voided_seq: int | None = None


class WarningOut(BaseModel):
    warning_id: str
    contract_id: str
    carrier_id: str
    unit_date: dt.date
    number: int
    violation_ids: list[str]
    issued_at: dt.datetime
    seq: int
    reversed: str | None = None
    reversed_seq: int | None = None


class TerminationOut(BaseModel):
    contract_id: str
    carrier_id: str
    service_date: dt.date
    at: dt.datetime
    warning_ids: list[str]
    seq: int
    reversed: str | None = None


class DisputeOut(BaseModel):
    dispute_id: str
    violation_id: str
    contract_id: str
    carrier_id: str
    reason: str
    opened_by: str
    opened_at: dt.datetime
    seq: int
    ruling: str | None = None
    ruled_by: str | None = None
    ruling_reason: str | None = None
    ruled_seq: int | None = None


class DisputeCreate(BaseModel):
    violation_id: str = Field(min_length=1, max_length=400)
    reason: str = Text


class RulingCreate(BaseModel):
    ruling: Literal["upheld", "rejected"]
    reason: str = Text


class NoticeOut(BaseModel):
    notice_id: str
    kind: str
    carrier_id: str
    contract_id: str | None = None
    queued_at: dt.datetime
    seq: int
    document_sha256: str
    channels: list[str]
    delivered: dict[str, bool]
    attempts: dict[str, int]


class ExemptionOut(BaseModel):
    exemption_id: str
    reason: str
    first_date: dt.date
    last_date: dt.date
    trips: list[tuple[str, str | None]]
    routes: list[str]
    from_time: str | None = None
    to_time: str | None = None
    area: list[float] | None = None
    stop_ids: list[str]


_TIME = r"^\d{1,2}:\d{2}(:\d{2})?$"


class TripRef(BaseModel):
    trip_id: str = Field(min_length=1, max_length=200)
    start_time: str | None = Field(None, pattern=_TIME, description="HH:MM:SS; omit for every start")


class ExemptionCreate(BaseModel):
    """What to exempt, from `date` (to `until`, inclusive): trips, routes, a start-time range, an area."""

    date: dt.date
    until: dt.date | None = None
    reason: str = Text
    trips: list[TripRef] = Field(default_factory=list, max_length=10_000)
    routes: list[str] = Field(default_factory=list, max_length=1_000)
    from_time: str | None = Field(None, pattern=_TIME)
    to_time: str | None = Field(None, pattern=_TIME)
    area: list[float] | None = Field(
        None, min_length=4, max_length=4, description="min_lat,min_lon,max_lat,max_lon"
    )


class ExemptionGranted(BaseModel):
    exemption_id: str
    seq: int


class LedgerEventOut(BaseModel):
    seq: int
    at: dt.datetime
    actor: str
    os_user: str
    kind: str
    subject: str
    payload: Any
    prev_hash: str
    hash: str


class ProblemAt(BaseModel):
    seq: int
    message: str


class VerificationOut(BaseModel):
    ok: bool
    events: int
    heads_checked: int
    first_bad_seq: int | None = None
    problems: list[ProblemAt]


class CheckpointOut(BaseModel):
    """A signed head, as `transit ledger checkpoint --out` exports it (verifiable offline)."""

    origin: str
    tree_size: int
    root_hash: str
    at: str = Field(description="UTC, exactly as signed (YYYY-MM-DDTHH:MM:SS.ffffffZ)")
    key_id: str
    signature: str
    public_key: str


class InclusionProofOut(BaseModel):
    """RFC 9162 inclusion proof of one event's entry in the tree of the first `tree_size` events."""

    seq: int
    leaf_index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    audit_path: list[str]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
