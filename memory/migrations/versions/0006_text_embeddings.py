"""Content-word embeddings of transcript segments (segment_vectors), for semantic search.

Segments stored before this revision get their vectors the first time their session is
searched (memory/semantic.py): computing them needs the word vectors of the embedding
package, which a schema migration should not depend on.

Revision ID: 0006_text_embeddings
Revises: 0005_speaker_embeddings
Create Date: 2025-01-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_text_embeddings"
down_revision = "0005_speaker_embeddings"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "segment_vectors",
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
        "ix_segment_vectors_session_event", "segment_vectors", ["session_id", "event_pk"]
    )


def downgrade() -> None:
    op.drop_index("ix_segment_vectors_session_event", table_name="segment_vectors")
    op.drop_table("segment_vectors")
