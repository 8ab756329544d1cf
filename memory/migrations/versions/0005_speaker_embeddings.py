"""events.speaker_embedding: each transcript segment's voice embedding.

Kept so a session's speaker ids can be regrouped over the whole session (``moss-agent
speakers SESSION --recluster``, the end of ``record``) without its audio. float32 bytes,
768 per segment for CAM++; NULL for events without one.

Revision ID: 0005_speaker_embeddings
Revises: 0004_stored_search_vector
Create Date: 2025-01-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_speaker_embeddings"
down_revision = "0004_stored_search_vector"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("speaker_embedding", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("events", "speaker_embedding")
