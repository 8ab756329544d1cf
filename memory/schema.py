"""The tables, as SQLAlchemy 2.x typed ORM models.

Times are seconds from the start of the session's audio (double precision, so event times
round-trip exactly). Every table carries ``session_id`` and every index starts with it:
all queries are scoped to one session.

Full-text search lives next to ``events.text``: an FTS5 external-content table kept in
step by triggers on SQLite; on PostgreSQL a stored generated column
``search_vector = to_tsvector('english', text)`` with a GIN index. Both are created by
the migrations and left out of these models (see memory/fulltext.py for the queries).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite needs exactly INTEGER PRIMARY KEY for a rowid alias (which FTS5 content_rowid uses).
RowId = BigInteger().with_variant(Integer(), "sqlite")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(400), index=True)
    source: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration: Mapped[float] = mapped_column(Double, default=0.0)
    backend: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class EventRow(Base):
    """One perception event; fields without a column of their own are kept in ``details``."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sessions.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[float] = mapped_column(Double)
    end_time: Mapped[float] = mapped_column(Double)
    text: Mapped[str | None] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(200))
    speaker: Mapped[str | None] = mapped_column(String(100))
    confidence: Mapped[float | None] = mapped_column(Double)
    window_id: Mapped[int | None] = mapped_column(BigInteger)
    backend: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A transcript segment's timed words, packed: one ``[start, end, text, speaker,
    # confidence]`` array per word, in order (memory/rows.py). Words are only ever read
    # with their segment, so one value per segment beats a row per word.
    words: Mapped[list[Any] | None] = mapped_column()
    # A transcript segment's voice embedding (float32 bytes), so the session's speakers can
    # be regrouped later without the audio (memory/speaker_refinement.py).
    speaker_embedding: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (
        UniqueConstraint("session_id", "event_id", name="uq_events_session_event"),
        Index("ix_events_session_kind_start", "session_id", "kind", "start_time"),
    )


class SpeakerRow(Base):
    """A speaker id as perception labels it (``S1``) and the name a person gave it."""

    __tablename__ = "speakers"

    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    speaker: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))


class TalkTimeRow(Base):
    """Running totals of how long each speaker talked, per kind of event that says so.

    Kept up to date by ingestion (only new events count), so "who spoke most" reads a few
    rows instead of aggregating a day of events. ``kind`` is ``speaker`` (diarisation
    turns) or ``transcript`` (segments attributed to a speaker).
    """

    __tablename__ = "talk_times"

    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    speaker: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    seconds: Mapped[float] = mapped_column(Double)
    turns: Mapped[int] = mapped_column(Integer)
    first_start: Mapped[float] = mapped_column(Double)
    last_end: Mapped[float] = mapped_column(Double)


class KindSpanRow(Base):
    """The longest event of each kind in a session.

    A time-range query needs every event with ``start < t1 and end > t0``; knowing the
    longest span lets it also bound ``start >= t0 - span``, so the (session, kind, start)
    index is scanned over a short range instead of from the beginning of the session.
    """

    __tablename__ = "kind_spans"

    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    max_span: Mapped[float] = mapped_column(Double)


class AgentTurnRow(Base):
    __tablename__ = "agent_turns"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    tool_calls: Mapped[list[Any]] = mapped_column(default=list)
    reasoning: Mapped[list[Any]] = mapped_column(default=list)
    citations: Mapped[list[Any]] = mapped_column(default=list)
    session_time: Mapped[float | None] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class AudioChunkRow(Base):
    """A compressed (FLAC) piece of the session's audio, 16 kHz mono."""

    __tablename__ = "audio_chunks"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sessions.id", ondelete="CASCADE")
    )
    start_time: Mapped[float] = mapped_column(Double)
    end_time: Mapped[float] = mapped_column(Double)
    sample_rate: Mapped[int] = mapped_column(Integer)
    sample_count: Mapped[int] = mapped_column(BigInteger)
    codec: Mapped[str] = mapped_column(String(16), default="flac")
    data: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        UniqueConstraint("session_id", "start_time", name="uq_audio_chunks_session_start"),
    )


class _SegmentVector:
    """Columns of a table holding one vector per transcript segment."""

    event_pk: Mapped[int] = mapped_column(
        RowId, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sessions.id", ondelete="CASCADE")
    )
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class SegmentVectorRow(_SegmentVector, Base):
    """The content-word embedding of one transcript segment (memory/embeddings.py).

    Computed once, when the segment is stored, so semantic search over a day of audio
    reads vectors instead of re-embedding text. ``vector`` is ``DIM`` float16 values.
    """

    __tablename__ = "segment_vectors"
    __table_args__ = (Index("ix_segment_vectors_session_event", "session_id", "event_pk"),)


class SentenceVectorRow(_SegmentVector, Base):
    """The sentence embedding of one transcript segment (memory/sentences.py).

    Computed after ingestion (by the recorder, or when a search finds it missing), since
    it costs milliseconds a segment. ``vector`` is 384 float16 values.
    """

    __tablename__ = "sentence_vectors"
    __table_args__ = (Index("ix_sentence_vectors_session_event", "session_id", "event_pk"),)


class MinutesRow(Base):
    """Which minutes a session has: who wrote them and how far into the audio they reach."""

    __tablename__ = "minutes"

    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    method: Mapped[str] = mapped_column(String(200))
    through: Mapped[float] = mapped_column(Double)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class MinutesItemRow(Base):
    """One derived, cited item of a session's minutes: a topic, decision, action item,
    open question, disagreement or the next meeting (memory/minutes/records.py)."""

    __tablename__ = "minutes_items"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sessions.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[float] = mapped_column(Double)
    end_time: Mapped[float] = mapped_column(Double)
    text: Mapped[str] = mapped_column(Text)
    speaker: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_minutes_items_session_kind_start", "session_id", "kind", "start_time"),
    )
