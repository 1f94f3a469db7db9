"""verdicts: append-only, one row per decision (final, then revisions), each a ledger-ready event

Revision ID: 0004_verdict
Revises: 0003_feed_last_loaded
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_verdict"
down_revision = "0003_feed_last_loaded"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verdict",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("trip_id", sa.String(length=200), nullable=False),
        sa.Column("start_time", sa.String(length=9), nullable=False),
        sa.Column("feed_version_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("route_id", sa.String(length=200), nullable=True),
        sa.Column("agency_id", sa.String(length=200), nullable=True),
        sa.Column("carrier_id", sa.String(length=200), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("lost_distance_m", sa.Float(), nullable=True),
        sa.Column("vehicle_ids", sa.String(length=1000), nullable=True),
        sa.Column("first_ping_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ping_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stops_reached", sa.Integer(), nullable=True),
        sa.Column("stops_total", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_version_id"], ["feed_version.id"], name=op.f("fk_verdict_feed_version_id_feed_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verdict")),
        sa.UniqueConstraint(
            "service_date", "trip_id", "start_time", "feed_version_id", "revision", name=op.f("uq_verdict_service_date")
        ),
    )
    op.create_index("ix_verdict_carrier_date", "verdict", ["carrier_id", "service_date"])


def downgrade() -> None:
    op.drop_index("ix_verdict_carrier_date", table_name="verdict")
    op.drop_table("verdict")
