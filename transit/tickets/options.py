"""What the `transit tickets` commands share: the --catalog option."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CatalogOption = Annotated[
    Path | None,
    typer.Option("--catalog", help="A catalog TOML (default: TRANSIT_TICKET_CATALOG or the shipped one)"),
]
