"""Apply the Alembic migrations shipped inside the package (ADAPTER).

Every command that opens the database first checks that it is at the newest revision (`require_head`). That
check reads Alembic's version table and the revision files without Alembic itself: importing Alembic costs
a command a fifth of a second, so only `upgrade` loads it.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from transit.db import make_engine
from transit.errors import BadParameter

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default: env.py keeps it


def _config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (BadParameter for a revision Alembic does not know)."""
    from alembic import command
    from alembic.util import CommandError

    try:
        command.upgrade(_config(url), revision)
    except CommandError as exc:
        raise BadParameter(str(exc)) from None


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at; None before its first migration."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(VERSION_TABLE):
                return None
            found: str | None = connection.execute(
                text(f"SELECT version_num FROM {VERSION_TABLE}")
            ).scalar_one_or_none()
            return found
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped: the one that no other revision revises (the history is one line)."""
    revises: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        constants = _module_constants(path)
        revises[str(constants["revision"])] = constants["down_revision"]
    heads = set(revises) - set(revises.values())
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have more than one head: {sorted(heads)}")
    return heads.pop() if heads else None


def _module_constants(path: Path) -> dict[str, str | None]:
    """A revision file's `revision` and `down_revision`, read without running it."""
    constants: dict[str, str | None] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                    constants[target.id] = ast.literal_eval(node.value)
    return constants


def require_head(database_url: str) -> None:
    """Refuse to work on a database without the current schema (BadParameter naming the fix)."""
    current, head = current_revision(database_url), head_revision()
    if current != head:
        raise BadParameter(
            f"the database is at revision {current or '(none)'}, not {head}: run `transit db upgrade` first"
        )
