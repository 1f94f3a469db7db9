"""What every command shares: turning user errors into exit 2, dates, output formats, sessions."""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import sys
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from transit.db import make_engine, make_session_factory
from transit.errors import BadParameter, FeedInvalid, TransitError
from transit.gtfs.model import Finding
from transit.render import OutputFormat
from transit.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="table, json or csv")]


def user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a user can cause into a message on stderr and exit status 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except FeedInvalid as exc:
            print_findings_to_stderr(exc)
            raise typer.Exit(2) from None
        except TransitError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except (ArgumentError, NoSuchModuleError) as exc:
            typer.echo(f"error: TRANSIT_DATABASE_URL is not a usable database URL: {exc}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:  # a path the user named cannot be written or read
            typer.echo(f"error: {exc.filename or ''}: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None
        except DBAPIError as exc:
            hint = (
                " (has `transit db upgrade` been run?)"
                if "no such table" in str(exc) or "does not exist" in str(exc)
                else ""
            )
            typer.echo(f"error: database failure{hint}: {exc.orig}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def print_findings_to_stderr(exc: FeedInvalid) -> None:
    findings = [f for f in exc.findings if isinstance(f, Finding)]
    typer.echo(f"error: {exc.source}: the feed is not valid ({len(findings)} error(s)):", err=True)
    for f in findings:
        typer.echo(f"  {finding_line(f)}", err=True)


def finding_line(f: Finding) -> str:
    where = ":".join(str(x) for x in (f.file, f.line) if x is not None)
    field = f" [{f.field}]" if f.field else ""
    return f"{f.severity.upper()} {f.code} {where}{field}: {f.message}"


def parse_date_option(value: str, name: str = "--date", timezone: str | None = None) -> dt.date:
    """A YYYY-MM-DD date, or 'today' in `timezone` (the feed's local service date)."""
    if value == "today":
        return dt.datetime.now(ZoneInfo(timezone) if timezone else dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadParameter(f"{name}: {value!r} is not a date; expected YYYY-MM-DD or 'today'") from None


def sessions_for(settings: Settings) -> sessionmaker[Session]:
    return make_session_factory(make_engine(settings.database_url))


def emit(text: str) -> None:
    sys.stdout.write(text)


def cli_actor(actor: str | None) -> str:
    """Who acts from the command line: `--actor` when given, else cli:<OS user>."""
    return actor.strip() if actor and actor.strip() else f"cli:{getpass.getuser()}"
