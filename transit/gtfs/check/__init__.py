"""Check the text tables of a feed against the part of the GTFS reference the service relies on.

`check_feed` takes the string tables that `source.read_raw_feed` produced and returns findings that name
the file, the physical line and the field of each defect. Every check runs on whole columns: a column is
factorized once, its distinct values are validated (a 1.5-million-row stop_times.txt has a few thousand
distinct times), and the verdicts are mapped back to rows with numpy. No Python loop runs over rows or trips.

A check whose input is missing (a file, a column, an unreadable file) is skipped: the missing input is already
a finding of its own, and piling its consequences on top would bury it.
"""

from __future__ import annotations

from transit.gtfs.check.columns import check_files, check_table
from transit.gtfs.check.keys import check_primary_key, check_references, check_service_references
from transit.gtfs.check.required import (
    check_agencies,
    check_calendar_ranges,
    check_route_names,
    check_stop_ids,
    check_stops,
)
from transit.gtfs.check.service import check_service
from transit.gtfs.check.trips import check_frequencies, check_stop_times
from transit.gtfs.check.values import CheckedTable, FeedCheck
from transit.gtfs.findings import Findings
from transit.gtfs.model import Finding, RawFeed

__all__ = ["check_feed"]


def check_feed(raw: RawFeed) -> list[Finding]:
    """Validate the text tables of a feed; each finding names the file, line and field of one defect."""
    ctx = FeedCheck(raw, Findings(), {name: CheckedTable.of(table) for name, table in raw.tables.items()})
    check_files(ctx)
    for table in ctx.tables.values():
        check_table(ctx, table)
    check_agencies(ctx)
    check_stops(ctx)
    check_route_names(ctx)
    check_stop_ids(ctx)
    check_calendar_ranges(ctx)
    for table in ctx.tables.values():
        check_primary_key(ctx, table)
    check_references(ctx)
    check_service_references(ctx)
    check_stop_times(ctx)
    check_frequencies(ctx)
    check_service(ctx)
    return list(ctx.findings)
