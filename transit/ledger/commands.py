"""`transit ledger verify|checkpoint|show|public-key`: entry points."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from transit import migrate
from transit.clock import SystemClock
from transit.console import FormatOption, emit, sessions_for, user_errors
from transit.errors import BadParameter
from transit.ledger.checkpoint import Checkpoint, from_export, to_export
from transit.ledger.keys import load_public_key, load_signing_key, public_pem
from transit.ledger.service import make_checkpoint, verify
from transit.ledger.store import iter_events, list_checkpoints
from transit.render import OutputFormat, render_json, render_records
from transit.settings import Settings

ledger_app = typer.Typer(
    help="The tamper-evident ledger: verify it, sign its head, list it.", no_args_is_help=True
)
EVENT_COLUMNS = ("seq", "at", "actor", "os_user", "kind", "subject", "payload", "hash")
FAILED = 1  # verify found damage (2 stays "bad input")


@ledger_app.command("verify")
@user_errors
def verify_command(
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="A head exported earlier (transit ledger checkpoint --out)"),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="PEM public key of the ledger (default: the key file's)"),
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Check the chain, the Merkle tree and every signed head; exit 1 naming the first bad event."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    exported, embedded = _exported_head(checkpoint)
    key = _verifying_key(public_key, settings, embedded)
    with sessions_for(settings)() as session:
        if key is None and list_checkpoints(session):
            raise BadParameter(
                "signed heads are stored but there is no public key to check them with: pass --public-key, "
                f"or set TRANSIT_LEDGER_KEY_FILE ({settings.ledger_key_file} does not exist)"
            )
        found = verify(session, key, exported)
    if fmt is OutputFormat.JSON:
        problems = [{"seq": p.seq, "message": p.message} for p in found.problems]
        document = {"ok": found.ok, "events": found.size, "heads_checked": found.heads_checked}
        emit(render_json(document | {"first_bad_seq": found.first_bad_seq, "problems": problems}) + "\n")
    elif found.ok:
        emit(f"ledger verified: {found.size} events, {found.heads_checked} signed head(s) consistent\n")
    else:
        for problem in found.problems:
            emit(f"event {problem.seq}: {problem.message}\n")
        first = found.first_bad_seq
        emit(f"ledger FAILED verification: first bad event {first} ({len(found.problems)} problem(s))\n")
    if not found.ok:
        raise typer.Exit(FAILED)


def _exported_head(path: Path | None) -> tuple[Checkpoint | None, Ed25519PublicKey | None]:
    if path is None:
        return None, None
    try:
        return from_export(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadParameter(f"--checkpoint {path}: {exc}") from exc


def _verifying_key(
    path: Path | None, settings: Settings, embedded: Ed25519PublicKey | None
) -> Ed25519PublicKey | None:
    """--public-key, else the key file's public half, else the key an exported head carries (or none)."""
    if path is not None:
        return load_public_key(path)
    if settings.ledger_key_file.exists():
        return load_public_key(settings.ledger_key_file)
    return embedded


@ledger_app.command("checkpoint")
@user_errors
def checkpoint_command(
    out: Annotated[Path | None, typer.Option("--out", help="Also write the signed head to this file")] = None,
) -> None:
    """Sign the ledger's current head (size and Merkle root), keep it, and export it for auditors."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    key = signing_key(settings)
    with sessions_for(settings).begin() as session:
        head = make_checkpoint(session, key, SystemClock().now())
    if out is not None:
        out.write_text(to_export(head, key.public_key()), encoding="utf-8")
    where = f", written to {out}" if out else ""
    emit(f"signed head: {head.tree_size} events, root {head.root_hash}, key {head.key_id}{where}\n")


def signing_key(settings: Settings) -> Any:
    """The ledger's private key (created on first use, with a notice on stderr)."""
    key, created = load_signing_key(settings.ledger_key_file)
    if created:
        typer.echo(
            f"created the ledger signing key {settings.ledger_key_file}: keep it outside the database, "
            "back it up, and give auditors `transit ledger public-key`",
            err=True,
        )
    return key


@ledger_app.command("public-key")
@user_errors
def public_key_command() -> None:
    """Print the ledger's public key (PEM), for auditors to verify exported heads with."""
    emit(public_pem(load_public_key(Settings().ledger_key_file)))


@ledger_app.command("show")
@user_errors
def show_command(
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only events of this kind (repeatable)")
    ] = None,
    subject: Annotated[str, typer.Option("--subject", help="Only subjects starting with this")] = "",
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """List the ledger's events in order."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    with sessions_for(settings)() as session:
        records = [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "os_user": e.os_user,
                "kind": e.kind,
                "subject": e.subject,
                "payload": e.payload,
                "hash": e.hash,
            }
            for e in iter_events(session, kinds=kind or [], subject_prefix=subject)
        ]
    emit(render_records(records, EVENT_COLUMNS, fmt))
