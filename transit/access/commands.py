"""`transit keys create|list|revoke|rotate`: API keys for the HTTP API (entry points).

A key's secret is printed once, at creation or rotation; the service keeps only its SHA-256.
"""

from __future__ import annotations

from typing import Annotated

import typer

from transit import migrate
from transit.access.model import Role
from transit.access.store import IssuedKey, Owner, create_key, list_keys, revoke_key, rotate_key
from transit.clock import SystemClock
from transit.console import FormatOption, cli_actor, emit, sessions_for, user_errors
from transit.contracts.service import read_state
from transit.errors import BadParameter
from transit.render import OutputFormat, render_json, render_records
from transit.settings import Settings

keys_app = typer.Typer(help="API keys: create, list, revoke, rotate.", no_args_is_help=True)
KEY_COLUMNS = (
    "key_id", "role", "owner_name", "owner_staff_id", "owner_contact", "carrier_id", "created_at",
    "created_by", "revoked_at", "replaced_by",
)  # fmt: skip
ActorOption = Annotated[str | None, typer.Option("--actor", help="Who does this (default: cli:<OS user>)")]


@keys_app.command("create")
@user_errors
def create_command(
    role: Annotated[Role, typer.Option("--role", help="department, carrier, planner, intake or auditor")],
    owner: Annotated[
        str, typer.Option("--owner", help="The person it belongs to (or the carrier's contact)")
    ],
    staff_id: Annotated[str | None, typer.Option("--staff-id", help="The owner's staff id")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="The owner's e-mail or phone")] = None,
    carrier: Annotated[str | None, typer.Option("--carrier", help="A carrier key's carrier_id")] = None,
    actor: ActorOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Make a key; its secret is shown now and never again."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    with sessions_for(settings).begin() as session:
        if carrier is not None and carrier not in read_state(session).carriers:
            raise BadParameter(
                f"--carrier: no carrier {carrier!r} is declared (see `transit contracts list`)"
            )
        issued = create_key(
            session, role, Owner(owner, staff_id, contact), carrier, _actor(actor), SystemClock().now()
        )
    _show_issued(issued, fmt)


@keys_app.command("list")
@user_errors
def list_command(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """Every key ever made (never a secret), revoked ones included."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    with sessions_for(settings)() as session:
        records = [{c: getattr(row, c) for c in KEY_COLUMNS} for row in list_keys(session)]
    emit(render_records(records, KEY_COLUMNS, fmt))


@keys_app.command("revoke")
@user_errors
def revoke_command(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `transit keys list`)")],
    actor: ActorOption = None,
) -> None:
    """Revoke a key at once and for good."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    with sessions_for(settings).begin() as session:
        revoke_key(session, key_id, _actor(actor), SystemClock().now())
    emit(f"revoked {key_id}\n")


@keys_app.command("rotate")
@user_errors
def rotate_command(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `transit keys list`)")],
    actor: ActorOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """A new key for the same owner, role and carrier; the old one is revoked."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    with sessions_for(settings).begin() as session:
        issued = rotate_key(session, key_id, _actor(actor), SystemClock().now())
    _show_issued(issued, fmt)


def _actor(actor: str | None) -> str:
    return cli_actor(actor)


def _show_issued(issued: IssuedKey, fmt: OutputFormat) -> None:
    principal = issued.principal
    document = {
        "key_id": issued.key_id,
        "secret": issued.secret,
        "role": str(principal.role),
        "owner_name": principal.owner_name,
        "carrier_id": principal.carrier_id,
    }
    if fmt is OutputFormat.TABLE:
        emit(
            f"key {issued.key_id} ({principal.role}, {principal.owner_name}"
            f"{', carrier ' + principal.carrier_id if principal.carrier_id else ''})\n"
            f"secret (shown once; send it as 'Authorization: Bearer <secret>'):\n{issued.secret}\n"
        )
    elif fmt is OutputFormat.JSON:
        emit(render_json(document) + "\n")
    else:
        emit(render_records([document], tuple(document), fmt))
