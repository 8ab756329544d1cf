"""Questions about time: what was said between two moments, around one, in the last minutes."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from memory import timeline
from memory.sessions import SessionStore
from perception.events import Event, EventKind, TranscriptSegment


def _kind_names(kinds: Sequence[EventKind | str] | None) -> list[str] | None:
    return None if kinds is None else [str(EventKind(k)) for k in kinds]


log = logging.getLogger(__name__)


class TimelineQueries(SessionStore):
    """Events and transcript by time, always within one session."""

    def transcript_between(self, session_id: str, t0: float, t1: float) -> list[TranscriptSegment]:
        """Transcript segments overlapping [t0, t1] seconds, ordered by start."""
        with self._reads.connect() as conn:
            events = timeline.events_overlapping(
                conn, session_id, t0, t1, [str(EventKind.TRANSCRIPT)]
            )
        return [e for e in events if isinstance(e, TranscriptSegment)]

    def transcript_at(
        self, session_id: str, t: float, before: float = 15.0, after: float = 15.0
    ) -> list[TranscriptSegment]:
        """What was being said around second ``t``: segments overlapping [t-before, t+after]."""
        return self.transcript_between(session_id, max(0.0, t - before), t + after)

    def events_between(
        self,
        session_id: str,
        t0: float,
        t1: float,
        kinds: Sequence[EventKind | str] | None = None,
    ) -> list[Event]:
        """Events (of ``kinds``, default all) overlapping [t0, t1], ordered by start."""
        with self._reads.connect() as conn:
            return timeline.events_overlapping(conn, session_id, t0, t1, _kind_names(kinds))

    def last_minutes(
        self, session_id: str, minutes: float, kinds: Sequence[EventKind | str] | None = None
    ) -> list[Event]:
        """Events of the last ``minutes`` of the session (before its end, not the clock)."""
        with Session(self.engine) as db:
            end = self._duration(db, session_id)
            return timeline.events_overlapping(
                db.connection(), session_id, max(0.0, end - minutes * 60.0), end, _kind_names(kinds)
            )

    def session_events(
        self, session_id: str, kinds: Sequence[EventKind | str] | None = None
    ) -> list[Event]:
        """Every event of the session (of ``kinds``), ordered by start (also any after a
        duration set shorter by ``set_duration``)."""
        with self._reads.connect() as conn:
            return timeline.events_overlapping(
                conn, session_id, 0.0, float("inf"), _kind_names(kinds)
            )
