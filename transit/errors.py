"""The one base class for errors that a user's input or a missing record can cause."""

from __future__ import annotations


class TransitError(Exception):
    """A situation the caller can act on; the CLI prints its message and exits 2, never a traceback."""


class FeedInvalid(TransitError):
    """A GTFS feed has errors that stop it from being used; `findings` lists every one."""

    def __init__(self, source: str, findings: list[object]) -> None:
        self.source = source
        self.findings = findings
        super().__init__(f"{source}: the feed has {len(findings)} error(s)")


class FeedNotFound(TransitError):
    """No stored feed version is in force on the requested date."""


class BadParameter(TransitError):
    """A command-line or API parameter has a value that cannot be used."""
