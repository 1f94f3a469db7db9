"""trip signals: early warnings about trip instances (not_started), once per kind

Revision ID: 0005_trip_signal
Revises: 0004_verdict
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_trip_signal"
down_revision = "0004_verdict"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trip_signal",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("trip_id", sa.String(length=200), nullable=False),
        sa.Column("start_time", sa.String(length=9), nullable=False),
        sa.Column("feed_version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("carrier_id", sa.String(length=200), nullable=True),
        sa.Column("signalled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_version_id"], ["feed_version.id"], name=op.f("fk_trip_signal_feed_version_id_feed_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trip_signal")),
        sa.UniqueConstraint(
            "service_date", "trip_id", "start_time", "feed_version_id", "kind",
            name=op.f("uq_trip_signal_service_date"),
        ),  # fmt: skip
    )


def downgrade() -> None:
    op.drop_table("trip_signal")
