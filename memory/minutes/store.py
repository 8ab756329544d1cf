"""Stored minutes of a session: written whole by whoever derived them, read back as records."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import UTC, datetime

from sqlalchemy import (
    Connection,
    Engine,
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
from memory.store import Store, aware_utc
from perception.events import EventKind

log = logging.getLogger(__name__)

# Minutes decoded from their rows, kept for this many sessions (the most recently read).
_CACHED_SESSIONS = 8

# What tells one stored version of a session's minutes from another: every write replaces
# the ``minutes`` row with a new ``built_at``, so a changed row means changed items.
_Version = tuple[str, float, datetime]


class _MinutesCache:
    """Decoded minutes per session with the version of the stored row they were read at.

    Decoding a long session's items (thousands of rows of JSON) costs far more than
    reading the one ``minutes`` row that says whether they changed; a write by this or
    another process gives that row a new ``built_at``, so a stale entry is never served.
    Safe across threads; the ``Minutes`` handed out are shared and must not be mutated."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[_Version, Minutes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str, version: _Version) -> Minutes | None:
        with self._lock:
            entry = self._entries.get(session_id)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(session_id)
            return entry[1]

    def put(self, session_id: str, version: _Version, minutes: Minutes) -> None:
        with self._lock:
            self._entries[session_id] = (version, minutes)
            self._entries.move_to_end(session_id)
            while len(self._entries) > _CACHED_SESSIONS:
                self._entries.popitem(last=False)

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._entries.pop(session_id, None)


class MinutesStore(Store):
    """Minutes as stored rows (see memory.minutes for how they are derived)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._decoded_minutes = _MinutesCache()

    def store_minutes(self, session_id: str, minutes: Minutes) -> None:
        """Store ``minutes`` as the session's minutes (replacing any stored before)."""
        rows = minutes_records.to_rows(minutes)
        self._decoded_minutes.forget(session_id)
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
            version = self._minutes_version(conn, session_id)
        if version is not None:
            # The rows as ``minutes`` reads them back (in time order, then as inserted), so
            # the next read of this version decodes nothing.
            in_order = sorted(
                ((r["kind"], r["start_time"], r["end_time"], r["text"], r["speaker"], r["details"])
                 for r in rows),
                key=lambda r: r[1],
            )  # fmt: skip
            stored = minutes_records.from_rows(session_id, version[0], version[1], in_order)
            self._decoded_minutes.put(session_id, version, stored)

    def minutes(self, session_id: str) -> Minutes | None:
        """The session's stored minutes; ``None`` if none were ever built.

        Their items are decoded once per stored version: while the ``minutes`` row is the
        one read before, the minutes read then are returned (shared: do not mutate them)."""
        with self._reads.connect() as conn:
            version = self._minutes_version(conn, session_id)
            if version is None:
                timeline.require_session(conn, session_id)
                return None
            cached = self._decoded_minutes.get(session_id, version)
            if cached is not None:
                return cached
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
        found = minutes_records.from_rows(
            session_id, version[0], version[1], [tuple(r) for r in rows]
        )
        self._decoded_minutes.put(session_id, version, found)
        return found

    @staticmethod
    def _minutes_version(conn: Connection, session_id: str) -> _Version | None:
        head = conn.execute(
            select(MinutesRow.method, MinutesRow.through, MinutesRow.built_at).where(
                MinutesRow.session_id == session_id
            )
        ).first()
        if head is None:
            return None
        return (head.method, float(head.through), aware_utc(head.built_at))

    def last_transcript_end(self, session_id: str) -> float:
        """End of the session's last transcript segment (0 when nothing was said)."""
        with self._reads.connect() as conn:
            last = conn.execute(
                select(func.max(EventRow.end_time)).where(
                    EventRow.session_id == session_id, EventRow.kind == str(EventKind.TRANSCRIPT)
                )
            ).scalar()
        return float(last or 0.0)
