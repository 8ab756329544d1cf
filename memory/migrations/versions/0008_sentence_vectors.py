"""Sentence embeddings of transcript segments (sentence_vectors), for search by meaning.

Filled after ingestion (memory/sentences.py): by the recorder when a recording ends, and
for stored segments the first time their session is searched. A migration does not
compute them: that needs the sentence model, which a schema change should not depend on.

Revision ID: 0008_sentence_vectors
Revises: 0007_minutes
Create Date: 2025-01-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_sentence_vectors"
down_revision = "0007_minutes"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sentence_vectors",
        sa.Column(
            "event_pk", RowId, sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )
    op.create_index(
        "ix_sentence_vectors_session_event", "sentence_vectors", ["session_id", "event_pk"]
    )


def downgrade() -> None:
    op.drop_index("ix_sentence_vectors_session_event", table_name="sentence_vectors")
    op.drop_table("sentence_vectors")
