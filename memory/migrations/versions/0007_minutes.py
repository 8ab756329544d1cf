"""Meeting minutes as derived, cited items (minutes, minutes_items).

Revision ID: 0007_minutes
Revises: 0006_text_embeddings
Create Date: 2025-01-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_minutes"
down_revision = "0006_text_embeddings"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "minutes",
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("through", sa.Double(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "minutes_items",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start_time", sa.Double(), nullable=False),
        sa.Column("end_time", sa.Double(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("speaker", sa.String(100)),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index(
        "ix_minutes_items_session_kind_start",
        "minutes_items",
        ["session_id", "kind", "start_time"],
    )


def downgrade() -> None:
    op.drop_index("ix_minutes_items_session_kind_start", table_name="minutes_items")
    op.drop_table("minutes_items")
    op.drop_table("minutes")
