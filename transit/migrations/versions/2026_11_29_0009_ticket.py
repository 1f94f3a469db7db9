"""109 tickets: the ticket (its current state, a projection of its ledger events), its reporter's personal
data (kept apart, erasable) and its notes (append-only)

Revision ID: 0009_ticket
Revises: 0008_api_key
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_ticket"
down_revision = "0008_api_key"
branch_labels = None
depends_on = None

APP_ROLE = "transit_app"
NOTES = "ticket_note"


def upgrade() -> None:
    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_code", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sector", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("address_id", sa.String(length=200), nullable=True),
        sa.Column("zipcode", sa.String(length=20), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("media_url", sa.String(length=2000), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
    )
    op.create_index("ix_ticket_requested_at", "ticket", ["requested_at", "id"])
    op.create_index("ix_ticket_updated_at", "ticket", ["updated_at"])
    op.create_index("ix_ticket_open_service", "ticket", ["status", "service_code", "lat", "lon"])
    op.create_table(
        "ticket_reporter",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("device_id", sa.String(length=200), nullable=True),
        sa.Column("account_id", sa.String(length=200), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_reporter")),
    )
    op.create_table(
        NOTES,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_note")),
    )
    op.create_index("ix_ticket_note_ticket", NOTES, ["ticket_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {NOTES}_append_only BEFORE UPDATE OR DELETE ON {NOTES} "
            "FOR EACH ROW EXECUTE FUNCTION transit_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {NOTES}_no_truncate BEFORE TRUNCATE ON {NOTES} "
            "FOR EACH STATEMENT EXECUTE FUNCTION transit_append_only()"
        )
        op.execute(f"GRANT SELECT, INSERT ON {NOTES} TO {APP_ROLE}")
        # The ticket row is the current state (every change is also a ledger event); nobody deletes one.
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON ticket TO {APP_ROLE}")
        # Personal data is erased by UPDATE (to NULL) after the retention period, never by DELETE.
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON ticket_reporter TO {APP_ROLE}")
        op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {NOTES}_no_{action.lower()} BEFORE {action} ON {NOTES} "
                f"BEGIN SELECT RAISE(ABORT, '{NOTES} is append-only: {action} refused'); END"
            )


def downgrade() -> None:
    op.drop_table(NOTES)
    op.drop_table("ticket_reporter")
    op.drop_table("ticket")
