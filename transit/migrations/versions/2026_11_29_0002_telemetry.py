"""pings, dead letters and ingest health intervals

Revision ID: 0002_telemetry
Revises: 0001_feed_version
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_telemetry"
down_revision = "0001_feed_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ping",
        sa.Column("vehicle_id", sa.String(length=100), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("trip_id", sa.String(length=200), nullable=True),
        sa.Column("route_id", sa.String(length=200), nullable=True),
        sa.Column("start_date", sa.String(length=8), nullable=True),
        sa.Column("start_time", sa.String(length=9), nullable=True),
        sa.Column("bearing", sa.Float(), nullable=True),
        sa.Column("speed", sa.Float(), nullable=True),
        sa.Column("carrier_id", sa.String(length=200), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_id", "timestamp", name=op.f("pk_ping")),
    )
    op.create_index("ix_ping_timestamp", "ping", ["timestamp"])
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.String(length=50), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("vehicle_id", sa.String(length=100), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_dead_letter_fingerprint")),
    )
    op.create_index(op.f("ix_dead_letter_received_at"), "dead_letter", ["received_at"])
    op.create_index(op.f("ix_dead_letter_reason"), "dead_letter", ["reason"])
    op.create_table(
        "ingest_interval",
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", "kind", "started_at", name=op.f("pk_ingest_interval")),
    )
    op.create_index(op.f("ix_ingest_interval_ended_at"), "ingest_interval", ["ended_at"])


def downgrade() -> None:
    op.drop_table("ingest_interval")
    op.drop_table("dead_letter")
    op.drop_index("ix_ping_timestamp", table_name="ping")
    op.drop_table("ping")
