"""Helpers for tests: where the real data lives, and the CLI as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TRANSIT_SHARED_DATA") or ROOT.parent / "shared" / "data")
IN_CI = os.environ.get("CI", "").lower() == "true"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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


def as_owner(url: str) -> str:
    """The same database as the database's owner (the test server's administrator); unchanged on SQLite."""
    if url.startswith("sqlite"):
        return url
    admin = make_url(os.environ.get("TRANSIT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    return (
        make_url(url)
        .set(username=admin.username, password=admin.password)
        .render_as_string(hide_password=False)
    )


def rogue(database_url: str, *statements: str, table: str = "ledger_event") -> None:
    """Play a rogue administrator: run statements as the database's owner, with the append-only guards of
    `table` switched off first (dropped on SQLite, disabled on PostgreSQL)."""
    engine = create_engine(as_owner(database_url))
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for action in ("update", "delete"):
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
        else:
            connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        for statement in statements:
            connection.exec_driver_sql(statement)
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
    engine.dispose()


def stop_process(process: subprocess.Popen[bytes], seconds: float = 10.0) -> None:
    """Terminate a server process and wait for it; kill it if it does not stop within `seconds`."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
