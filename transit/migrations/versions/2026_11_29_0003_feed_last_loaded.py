"""feed versions remember their last load, so reloading an earlier feed puts it back in force

Revision ID: 0003_feed_last_loaded
Revises: 0002_telemetry
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_feed_last_loaded"
down_revision = "0002_telemetry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed_version") as batch:
        batch.add_column(sa.Column("last_loaded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE feed_version SET last_loaded_at = loaded_at")
    with op.batch_alter_table("feed_version") as batch:
        batch.alter_column("last_loaded_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.create_index(batch.f("ix_feed_version_last_loaded_at"), ["last_loaded_at"])


def downgrade() -> None:
    with op.batch_alter_table("feed_version") as batch:
        batch.drop_index(batch.f("ix_feed_version_last_loaded_at"))
        batch.drop_column("last_loaded_at")
