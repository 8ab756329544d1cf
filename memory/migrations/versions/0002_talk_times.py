"""Running talk-time totals per speaker (talk_times), back-filled from stored events.

Revision ID: 0002_talk_times
Revises: 0001_initial
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_talk_times"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "talk_times",
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("speaker", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("first_start", sa.Double(), nullable=False),
        sa.Column("last_end", sa.Double(), nullable=False),
    )
    op.execute(
        "INSERT INTO talk_times (session_id, speaker, kind, seconds, turns, first_start, last_end) "
        "SELECT session_id, speaker, kind, sum(end_time - start_time), count(*), "
        "min(start_time), max(end_time) FROM events "
        "WHERE speaker IS NOT NULL AND kind IN ('speaker', 'transcript') "
        "GROUP BY session_id, speaker, kind"
    )


def downgrade() -> None:
    op.drop_table("talk_times")
