"""Finding what was said: full-text search and hybrid (full-text + semantic) passage search."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from memory import fulltext, passages, timeline
from memory.errors import unknown_session
from memory.records import (
    PassageSearch,
    TextHit,
)
from memory.speakers import SpeakerQueries
from perception.events import TranscriptSegment

log = logging.getLogger(__name__)


class SearchQueries(SpeakerQueries):
    """Search over a session's transcript, optionally by speaker and time."""

    def search_text(self, session_id: str, query: str, limit: int = 20) -> list[TextHit]:
        """Transcript segments matching the words of ``query``, best first.

        All words must match; if no segment has them all, segments with any of them are
        returned (ranked). Quotes, ``*``, ``NEAR``, SQL and the like are taken as words.
        """
        if "\x00" in session_id:
            raise unknown_session(session_id)
        with self._reads.connect() as conn:
            hits = fulltext.search_segment_ids(conn, session_id, query, limit)
            if not hits:
                timeline.require_session(conn, session_id)
                return []
            by_pk = timeline.events_by_pk(conn, [pk for pk, _ in hits])
            result = []
            for pk, score in hits:
                segment = by_pk.get(pk)  # gone if the session was deleted in between
                if not isinstance(segment, TranscriptSegment):
                    continue
                result.append(
                    TextHit(
                        segment=segment,
                        score=score,
                        snippet=fulltext.snippet(segment.text, query),
                    )
                )
            return result

    def search_passages(
        self,
        session_id: str,
        query: str,
        limit: int = 5,
        *,
        speakers: Sequence[str] | None = None,
        start: float | None = None,
        end: float | None = None,
        question: str | None = None,
    ) -> PassageSearch:
        """Transcript passages about ``query``: full-text and semantic search fused, best
        first, optionally only of ``speakers`` (ids or display names) and overlapping
        [start, end]. ``result.relevant`` is false when nothing relevant was said; then
        ``result.closest`` holds what came closest (see memory/passages.py). When ``query``
        is the subject of a question, ``question`` (the whole of it) helps find lines that
        answer it in other words."""
        if "\x00" in session_id:
            raise unknown_session(session_id)
        ids = self._speaker_ids(session_id, speakers) if speakers is not None else None
        with self._reads.connect() as conn:
            return passages.search(
                conn,
                self._vectors,
                session_id,
                query,
                limit,
                speakers=ids,
                start=start,
                end=end,
                sentences=self._sentence_vectors,
                question=question,
            )

    def index_meaning(self, session_id: str) -> int:
        """Compute the sentence vectors the session's segments lack (search would compute
        them on its first call otherwise); the number computed."""
        if "\x00" in session_id:
            raise unknown_session(session_id)
        with self._reads.connect() as conn:
            timeline.require_session(conn, session_id)
        return self._sentence_vectors.catch_up(session_id)
