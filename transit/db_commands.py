"""`transit db ...`: the database's migrations (entry point)."""

from __future__ import annotations

from typing import Annotated

import typer

from transit import migrate
from transit.console import user_errors
from transit.settings import Settings

db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)


@db_app.command("upgrade")
@user_errors
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Apply the migrations to TRANSIT_DATABASE_URL."""
    settings = Settings()
    migrate.upgrade(settings.database_url, revision)
    typer.echo(f"database at revision {migrate.current_revision(settings.database_url)}")
