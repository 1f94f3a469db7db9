"""notice documents: what each notice to a carrier said, exactly as sent (append-only)

Revision ID: 0007_notice_document
Revises: 0006_ledger
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_notice_document"
down_revision = "0006_ledger"
branch_labels = None
depends_on = None

APP_ROLE = "transit_app"
TABLE = "notice_document"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("notice_id", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("carrier_id", sa.String(length=200), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("notice_id", name=op.f("pk_notice_document")),
    )
    op.create_index(op.f("ix_notice_document_carrier_id"), TABLE, ["carrier_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION transit_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION transit_append_only()"
        )
        op.execute(f"GRANT SELECT, INSERT ON {TABLE} TO {APP_ROLE}")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {action} refused'); END"
            )


def downgrade() -> None:
    op.drop_table(TABLE)
