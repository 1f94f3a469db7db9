"""`transit serve`: the HTTP API (uvicorn) and, unless --api-only, the live parts beside it: the ingest
(MQTT -> database) and the matcher (verdicts, not_started alerts, enforcement of finished days, signed heads,
notice delivery), each its own process so that one failing does not take the others down.

The API is loaded by its import string, so the library never imports the `api` package.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from transit import migrate
from transit.errors import BadParameter
from transit.settings import Settings

APP = "api.main:app_from_environment"


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="API processes")] = 1,
    api_only: Annotated[bool, typer.Option("--api-only", help="Only the API: no ingest, no matcher")] = False,
    match_interval: Annotated[
        float, typer.Option("--match-interval", min=1.0, help="Seconds between matcher passes")
    ] = 60.0,
) -> None:
    """Run the API (OpenAPI at /docs) with the ingest and the live matcher beside it."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    children: list[subprocess.Popen[bytes]] = []
    if not api_only:
        if not settings.mqtt_url:
            raise BadParameter("TRANSIT_MQTT_URL is not set: set it for the live parts, or pass --api-only")
        transit = str(Path(sys.executable).with_name("transit"))
        children.append(subprocess.Popen([transit, "ingest"]))
        children.append(subprocess.Popen([transit, "match", "--interval", str(match_interval)]))
    try:
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, log_level="info")
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
