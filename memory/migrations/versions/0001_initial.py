"""Initial schema: sessions, events, words, speakers, kind spans, agent turns, audio chunks,
plus full-text search (FTS5 on SQLite, GIN over to_tsvector on PostgreSQL).

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_FTS = [
    # External-content FTS5 index over events.text: the text is stored once, in events.
    "CREATE VIRTUAL TABLE events_fts USING fts5(text, content='events', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER events_fts_insert AFTER INSERT ON events WHEN new.text IS NOT NULL BEGIN "
    "INSERT INTO events_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER events_fts_delete AFTER DELETE ON events WHEN old.text IS NOT NULL BEGIN "
    "INSERT INTO events_fts(events_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER events_fts_update AFTER UPDATE OF text ON events BEGIN "
    "INSERT INTO events_fts(events_fts, rowid, text) SELECT 'delete', old.id, old.text "
    "WHERE old.text IS NOT NULL; "
    "INSERT INTO events_fts(rowid, text) SELECT new.id, new.text WHERE new.text IS NOT NULL; END",
]


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration", sa.Double(), nullable=False),
        sa.Column("backend", sa.String(100)),
        sa.Column("model", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sessions_title", "sessions", ["title"])

    op.create_table(
        "events",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start_time", sa.Double(), nullable=False),
        sa.Column("end_time", sa.Double(), nullable=False),
        sa.Column("text", sa.Text()),
        sa.Column("label", sa.String(200)),
        sa.Column("speaker", sa.String(100)),
        sa.Column("confidence", sa.Double()),
        sa.Column("window_id", sa.BigInteger()),
        sa.Column("backend", sa.String(100), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.UniqueConstraint("session_id", "event_id", name="uq_events_session_event"),
    )
    op.create_index(
        "ix_events_session_kind_start", "events", ["session_id", "kind", "start_time"]
    )

    op.create_table(
        "words",
        sa.Column(
            "event_pk",
            RowId,
            sa.ForeignKey("events.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("start_time", sa.Double(), nullable=False),
        sa.Column("end_time", sa.Double(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("speaker", sa.String(100)),
        sa.Column("confidence", sa.Double()),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "speakers",
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("speaker", sa.String(100), primary_key=True),
        sa.Column("display_name", sa.String(200)),
    )

    op.create_table(
        "kind_spans",
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("max_span", sa.Double(), nullable=False),
    )

    op.create_table(
        "agent_turns",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("tool_calls", sa.JSON(), nullable=False),
        sa.Column("reasoning", sa.JSON(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("session_time", sa.Double()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agent_turns_session_id", "agent_turns", ["session_id"])

    op.create_table(
        "audio_chunks",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("start_time", sa.Double(), nullable=False),
        sa.Column("end_time", sa.Double(), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("sample_count", sa.BigInteger(), nullable=False),
        sa.Column("codec", sa.String(16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("session_id", "start_time", name="uq_audio_chunks_session_start"),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(
            "CREATE INDEX ix_events_text_search ON events USING gin "
            "(to_tsvector('english'::regconfig, coalesce(text, '')))"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("events_fts_insert", "events_fts_delete", "events_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS events_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_events_text_search")
    for table in ("audio_chunks", "agent_turns", "kind_spans", "speakers", "words", "events", "sessions"):
        op.drop_table(table)
