"""What the `transit tickets` commands share: the --catalog and --now options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CatalogOption = Annotated[
    Path | None,
    typer.Option("--catalog", help="A catalog TOML (default: TRANSIT_TICKET_CATALOG or the shipped one)"),
]
NowOption = Annotated[
    str | None, typer.Option("--now", help="Run as at this instant (ISO 8601 with offset); default: now")
]
