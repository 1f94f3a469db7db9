"""Apply the Alembic migrations shipped inside the package (ADAPTER)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from transit.db import make_engine
from transit.errors import BadParameter

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`."""
    command.upgrade(_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config("sqlite://")).get_current_head()


def require_head(database_url: str) -> None:
    """Refuse to work on a database without the current schema (BadParameter naming the fix)."""
    current, head = current_revision(database_url), head_revision()
    if current != head:
        raise BadParameter(
            f"the database is at revision {current or '(none)'}, not {head}: run `transit db upgrade` first"
        )
