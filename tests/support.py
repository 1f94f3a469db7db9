"""Helpers for tests: where the real data lives, and the CLI as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TRANSIT_SHARED_DATA") or ROOT.parent / "shared" / "data")
IN_CI = os.environ.get("CI", "").lower() == "true"


def run_cli(
    *args: str,
    database_url: str | None = None,
    cwd: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `transit ARGS` as a real subprocess, as a user would, with only the given TRANSIT_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANSIT_")}
    if database_url is not None:
        env["TRANSIT_DATABASE_URL"] = database_url
    env |= extra_env or {}
    return subprocess.run(
        [str(Path(sys.executable).with_name("transit")), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
        check=False,
    )
