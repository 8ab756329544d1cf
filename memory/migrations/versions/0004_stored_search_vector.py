"""PostgreSQL: the search vector stored in a generated column (events.search_vector).

The GIN index used to be over the expression ``to_tsvector('english', text)``: it finds
matching rows, but ranking them (``ts_rank``) recomputed each hit's vector from its text.
A stored generated column is computed once, when the row is written, and indexed and
ranked as it is. SQLite's FTS5 index needs nothing of this.

Revision ID: 0004_stored_search_vector
Revises: 0003_packed_words
Create Date: 2025-01-04
"""

from __future__ import annotations

from alembic import op

revision = "0004_stored_search_vector"
down_revision = "0003_packed_words"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_events_text_search")
    op.execute(
        "ALTER TABLE events ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
        "(to_tsvector('english'::regconfig, coalesce(text, ''))) STORED"
    )
    # fastupdate off: without it new rows wait in a pending list that every search scans
    # until a vacuum merges it (a live recording keeps it full); inserts cost no more.
    op.execute(
        "CREATE INDEX ix_events_search_vector ON events USING gin (search_vector) "
        "WITH (fastupdate = off)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_events_search_vector")
    op.execute("ALTER TABLE events DROP COLUMN search_vector")
    op.execute(
        "CREATE INDEX ix_events_text_search ON events USING gin "
        "(to_tsvector('english'::regconfig, coalesce(text, '')))"
    )
