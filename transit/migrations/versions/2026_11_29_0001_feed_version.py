"""feed versions and their agencies

Revision ID: 0001_feed_version
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_feed_version"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_version",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("feed_version", sa.String(length=200), nullable=True),
        sa.Column("trip_count", sa.Integer(), nullable=False),
        sa.Column("archive", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_version")),
        sa.UniqueConstraint("content_sha256", name=op.f("uq_feed_version_content_sha256")),
    )
    op.create_index(op.f("ix_feed_version_valid_from"), "feed_version", ["valid_from"])
    op.create_index(op.f("ix_feed_version_valid_to"), "feed_version", ["valid_to"])
    op.create_table(
        "feed_agency",
        sa.Column("feed_version_id", sa.Integer(), nullable=False),
        sa.Column("carrier_id", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.String(length=200), nullable=True),
        sa.Column("agency_name", sa.String(length=500), nullable=False),
        sa.Column("agency_timezone", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_version_id"], ["feed_version.id"], name=op.f("fk_feed_agency_feed_version_id_feed_version")
        ),
        sa.PrimaryKeyConstraint("feed_version_id", "carrier_id", name=op.f("pk_feed_agency")),
    )


def downgrade() -> None:
    op.drop_table("feed_agency")
    op.drop_index(op.f("ix_feed_version_valid_to"), table_name="feed_version")
    op.drop_index(op.f("ix_feed_version_valid_from"), table_name="feed_version")
    op.drop_table("feed_version")
