"""Stored minutes of a session: written whole by whoever derived them, read back as records."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import (
    delete,
    func,
    insert,
    select,
)

from memory import timeline
from memory.minutes import records as minutes_records
from memory.minutes.records import Minutes
from memory.schema import (
    EventRow,
    MinutesItemRow,
    MinutesRow,
)
from memory.store import Store
from perception.events import EventKind

log = logging.getLogger(__name__)


class MinutesStore(Store):
    """Minutes as stored rows (see memory.minutes for how they are derived)."""

    def store_minutes(self, session_id: str, minutes: Minutes) -> None:
        """Store ``minutes`` as the session's minutes (replacing any stored before)."""
        rows = minutes_records.to_rows(minutes)
        with self.engine.begin() as conn:
            timeline.require_session(conn, session_id)
            conn.execute(delete(MinutesItemRow).where(MinutesItemRow.session_id == session_id))
            conn.execute(delete(MinutesRow).where(MinutesRow.session_id == session_id))
            conn.execute(
                insert(MinutesRow).values(
                    session_id=session_id,
                    method=minutes.method,
                    through=float(minutes.through),
                    built_at=datetime.now(UTC),
                )
            )
            if rows:
                conn.execute(
                    insert(MinutesItemRow), [{**row, "session_id": session_id} for row in rows]
                )

    def minutes(self, session_id: str) -> Minutes | None:
        """The session's stored minutes; ``None`` if none were ever built."""
        with self._reads.connect() as conn:
            head = conn.execute(
                select(MinutesRow.method, MinutesRow.through).where(
                    MinutesRow.session_id == session_id
                )
            ).first()
            if head is None:
                timeline.require_session(conn, session_id)
                return None
            rows = conn.execute(
                select(
                    MinutesItemRow.kind,
                    MinutesItemRow.start_time,
                    MinutesItemRow.end_time,
                    MinutesItemRow.text,
                    MinutesItemRow.speaker,
                    MinutesItemRow.details,
                )
                .where(MinutesItemRow.session_id == session_id)
                .order_by(MinutesItemRow.start_time, MinutesItemRow.id)
            ).all()
        return minutes_records.from_rows(
            session_id, head.method, float(head.through), [tuple(r) for r in rows]
        )

    def last_transcript_end(self, session_id: str) -> float:
        """End of the session's last transcript segment (0 when nothing was said)."""
        with self._reads.connect() as conn:
            last = conn.execute(
                select(func.max(EventRow.end_time)).where(
                    EventRow.session_id == session_id, EventRow.kind == str(EventKind.TRANSCRIPT)
                )
            ).scalar()
        return float(last or 0.0)
