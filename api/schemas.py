"""The API's resources (pydantic): what each endpoint returns or accepts. Read models are `...Out`, request
bodies `...Create`; field names follow GTFS and the domain (docs/glossary.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


_GTFS_TIME = r"^\d{1,3}:\d{2}:\d{2}$"


class ScenarioOperation(BaseModel):
    """One operation of a scenario; fields by kind as in docs/routes.md (the same as the TOML file's)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Literal["drop", "truncate", "extend", "merge", "headway"]
    name: str | None = Field(None, max_length=200)
    route: str = Field(min_length=1, max_length=200, description="route_id or a unique route_short_name")
    into: str | None = Field(None, max_length=200)
    from_stop: str | None = Field(None, max_length=200)
    to_stop: str | None = Field(None, max_length=200)
    after_stop: str | None = Field(None, max_length=200)
    stops: list[str] | None = Field(None, max_length=500)
    minutes: float | None = Field(None, ge=1, le=240)
    from_time: str | None = Field(None, alias="from", pattern=_GTFS_TIME)
    to_time: str | None = Field(None, alias="to", pattern=_GTFS_TIME)


class ODRow(BaseModel):
    origin_stop_id: str = Field(min_length=1, max_length=200)
    destination_stop_id: str = Field(min_length=1, max_length=200)
    trips: float = Field(ge=0, le=1e7)


class ScenarioCreate(BaseModel):
    """A redesign to try on the feed in force on `date`; without `demand`, a proxy (docs/routes.md)."""

    date: dt.date
    name: str = Field("scenario", min_length=1, max_length=200)
    operations: list[ScenarioOperation] = Field(min_length=1, max_length=200)
    transfer_penalty_min: float = Field(5.0, ge=0, le=120)
    demand: list[ODRow] | None = Field(None, max_length=50_000)


class ScenarioFigures(BaseModel):
    trips: int
    vehicle_hours: float
    vehicle_km: float
    peak_buses: int
    stops_served: int
    att: float | None = Field(
        description="Demand-weighted mean travel time, minutes (waits, penalties included)"
    )
    d0: float
    d1: float
    d2: float
    dun: float


class ScenarioOut(BaseModel):
    scenario: str
    service_date: dt.date
    feed_version_id: int
    operations: list[dict[str, Any]]
    routes_changed: list[str]
    transfer_penalty_min: float
    demand_source: str
    before: ScenarioFigures
    after: ScenarioFigures
    change: dict[str, float | None]
    att_served_both: dict[str, float | None] = Field(
        description="Mean travel time (min) before and after of the demand that can travel both times"
    )
    stops_losing_service: list[str]
    people_losing_service: int | None = None
    demand_losing_service: float


class RouteSetCreate(BaseModel):
    """A route set on a benchmark instance (docs/routes.md): link times in minutes (null: no link), demand,
    routes as 1-based node ids."""

    network: list[list[float | None]] = Field(min_length=2, max_length=1000)
    demand: list[list[float]] = Field(min_length=2, max_length=1000)
    routes: list[list[int]] = Field(min_length=1, max_length=1000)
    transfer_penalty: float = Field(5.0, ge=0, le=120)


class RouteSetOut(BaseModel):
    ATT: float | None
    TRT: float
    d0: float
    d1: float
    d2: float
    dun: float


class OverlapPairOut(BaseModel):
    route_a: str
    route_b: str
    shared_stops: int
    shared_segments: int
    share_a: float
    share_b: float
    shape_share_a: float
    shape_share_b: float
    shared_km: float
    trips_shared: int
    kind: Literal["duplicate", "near_duplicate", "collinear", "overlap"]


class OverlapCandidateOut(BaseModel):
    action: Literal["merge", "drop", "cut_back"]
    route_id: str
    other_route_id: str
    share: float
    shared_km: float
    trips: int
    duplicated_vehicle_km: float
    reason: str


class OverlapOut(BaseModel):
    feed_version_id: int
    service_date: dt.date
    pairs: list[OverlapPairOut]
    clusters: list[list[str]]
    candidates: list[OverlapCandidateOut]


class TicketNoteOut(BaseModel):
    at: dt.datetime
    actor: str
    kind: str
    public: bool
    state: str | None = None
    department: str | None = None
    text: str


class ReporterOut(BaseModel):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    erased_at: dt.datetime | None = None


class TicketOut(BaseModel):
    ticket_id: int
    service_code: str
    kind: str
    sector: str
    department: str
    state: str
    status: Literal["open", "closed"]
    requested_at: dt.datetime
    updated_at: dt.datetime
    expected_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    lat: float | None = None
    long: float | None = None
    address: str | None = None
    description: str | None = None
    attributes: dict[str, Any]
    duplicate_of: int | None = None
    escalations: int
    channel: str
    notes: list[TicketNoteOut] | None = Field(None, description="The whole history (one ticket only)")
    reporter: ReporterOut | None = Field(None, description="The department only, until erased")


class TicketStateCreate(BaseModel):
    state: Literal["routed", "in_progress", "done", "rejected"]
    text: str = Text
    department: str | None = Field(None, max_length=100, description="With routed: the department")
    public: bool = Field(True, description="Shown to the reporter (and sent to them)")


class TicketNoteCreate(BaseModel):
    text: str = Text
    public: bool = False
