"""API keys (their SHA-256, never the secret; role, owner, carrier) and the index of a carrier's verdicts

Revision ID: 0008_api_key
Revises: 0007_notice_document
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_api_key"
down_revision = "0007_notice_document"
branch_labels = None
depends_on = None

APP_ROLE = "transit_app"
TABLE = "api_key"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("key_id", sa.String(length=20), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("owner_staff_id", sa.String(length=100), nullable=True),
        sa.Column("owner_contact", sa.String(length=200), nullable=True),
        sa.Column("carrier_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.Column("replaced_by", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_api_key_secret_sha256")),
    )
    # A carrier's verdicts in order, a page at a time (the API's trip lists), without sorting a month.
    op.create_index(
        "ix_verdict_carrier_key", "verdict", ["carrier_id", "service_date", "trip_id", "start_time", "id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        # Revoking a key updates its row; nobody deletes one (its creation and revocation are ledger events).
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {TABLE} TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index("ix_verdict_carrier_key", table_name="verdict")
    op.drop_table(TABLE)
