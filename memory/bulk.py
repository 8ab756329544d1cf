"""Fast, idempotent bulk inserts of events and words (the ingestion hot path).

Per-row parameter handling in SQLAlchemy costs more than the database's own work at
40k events a day, so batches go to the driver directly: one multi-row
``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per slice of events (only new rows come
back, which is what makes re-ingestion idempotent). A segment's words travel packed in its
row. The SQL is fixed text written here; values are always driver parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

EVENT_COLUMNS = (
    "session_id", "event_id", "kind", "start_time", "end_time", "text", "label", "speaker",
    "confidence", "window_id", "backend", "model", "details", "words", "speaker_embedding",
)  # fmt: skip
# Parameters per statement stay well below SQLite's limit (32766) and PostgreSQL's (65535).
EVENTS_PER_STATEMENT = 500


def _placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def insert_events(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> list[tuple[str, int]]:
    """Insert event rows (in ``EVENT_COLUMNS`` order, ``details`` and ``words`` as JSON
    text, see ``memory.rows.event_row``), skipping ones already stored; returns the
    ``(event_id, row id)`` of the new ones."""
    mark = _placeholder(conn)
    one_row = "(" + ", ".join([mark] * len(EVENT_COLUMNS)) + ")"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    inserted: list[tuple[str, int]] = []
    try:
        for lo in range(0, len(rows), EVENTS_PER_STATEMENT):
            chunk = rows[lo : lo + EVENTS_PER_STATEMENT]
            params: list[Any] = []
            for row in chunk:
                params += row
            cursor.execute(
                f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES "
                + ", ".join([one_row] * len(chunk))
                + " ON CONFLICT (session_id, event_id) DO NOTHING RETURNING event_id, id",
                params,
            )
            inserted += [(str(eid), int(pk)) for eid, pk in cursor.fetchall()]
    finally:
        cursor.close()
    return inserted


def insert_vectors(
    conn: Connection,
    session_id: str,
    vectors: Sequence[tuple[int, bytes]],
    table: str = "segment_vectors",
) -> None:
    """Store ``(event row id, vector bytes)`` pairs of one session in ``table``
    (segment_vectors or sentence_vectors)."""
    if table not in ("segment_vectors", "sentence_vectors"):
        raise ValueError(f"not a vector table: {table!r}")
    if not vectors:
        return
    mark = _placeholder(conn)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            f"INSERT INTO {table} (event_pk, session_id, vector) VALUES ({mark}, {mark}, {mark}) "
            "ON CONFLICT (event_pk) DO NOTHING",
            [(pk, session_id, blob) for pk, blob in vectors],
        )
    finally:
        cursor.close()
