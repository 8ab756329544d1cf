"""Words packed into their segment's row (events.words) instead of a table of their own.

A day of audio has ~200k words against ~40k events, and no query ever looks a word up
by itself: they are always read with their segment. One packed value per segment makes
ingestion write a fifth of the rows and lets a time-range query read a segment whole in
one round trip. The packed form is a JSON array of ``[start, end, text, speaker,
confidence]`` per word, in order (see memory/rows.py).

Revision ID: 0003_packed_words
Revises: 0002_talk_times
Create Date: 2025-01-03
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003_packed_words"
down_revision = "0002_talk_times"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_BATCH = 2000  # segments per UPDATE batch while moving words


def _words_by_event(bind: sa.Connection) -> Iterator[tuple[int, list[list[Any]]]]:
    """``(event pk, packed words)`` per segment, streamed in key order."""
    rows = bind.execute(
        sa.text(
            "SELECT event_pk, start_time, end_time, text, speaker, confidence FROM words "
            "ORDER BY event_pk, position"
        ).execution_options(yield_per=10_000)
    )
    current: int | None = None
    packed: list[list[Any]] = []
    for pk, start, end, text, speaker, confidence in rows:
        if pk != current:
            if current is not None:
                yield current, packed
            current, packed = pk, []
        packed.append([start, end, text, speaker, confidence])
    if current is not None:
        yield current, packed


def upgrade() -> None:
    op.add_column("events", sa.Column("words", sa.JSON()))
    bind = op.get_bind()
    # Python's float repr round-trips exactly; SQL json functions may print fewer digits.
    encode = json.JSONEncoder(separators=(",", ":")).encode
    update = sa.text("UPDATE events SET words = :words WHERE id = :pk")
    batch: list[dict[str, Any]] = []
    for pk, packed in _words_by_event(bind):
        batch.append({"pk": pk, "words": encode(packed)})
        if len(batch) >= _BATCH:
            bind.execute(update, batch)
            batch = []
    if batch:
        bind.execute(update, batch)
    op.drop_table("words")


def downgrade() -> None:
    op.create_table(
        "words",
        sa.Column(
            "event_pk", RowId, sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("start_time", sa.Double(), nullable=False),
        sa.Column("end_time", sa.Double(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("speaker", sa.String(100)),
        sa.Column("confidence", sa.Double()),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    insert = sa.text(
        "INSERT INTO words (event_pk, position, start_time, end_time, text, speaker, confidence) "
        "VALUES (:pk, :position, :start, :end, :text, :speaker, :confidence)"
    )
    rows = bind.execute(sa.text("SELECT id, words FROM events WHERE words IS NOT NULL"))
    batch: list[dict[str, Any]] = []
    for pk, packed in rows.all():
        words = json.loads(packed) if isinstance(packed, str) else packed
        for position, (start, end, text, speaker, confidence) in enumerate(words):
            batch.append(
                {"pk": pk, "position": position, "start": start, "end": end, "text": text,
                 "speaker": speaker, "confidence": confidence}
            )  # fmt: skip
    for lo in range(0, len(batch), 10_000):
        bind.execute(insert, batch[lo : lo + 10_000])
    # Plain ALTER TABLE (SQLite >= 3.35): a batch-mode table copy would drop the FTS triggers.
    op.drop_column("events", "words")
