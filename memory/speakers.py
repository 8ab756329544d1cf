"""Who spoke: speaker ids and names, renames, talk time, and regrouping ids over a session."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import (
    and_,
    select,
    update,
)
from sqlalchemy.orm import Session

from memory import timeline
from memory.errors import MemoryStoreError
from memory.records import (
    SpeakerTalkTime,
)
from memory.schema import (
    SpeakerRow,
    TalkTimeRow,
)
from memory.speaker_refinement import ReclusterResult, recluster_session
from memory.timeline_queries import TimelineQueries
from perception.events import EventKind, TranscriptSegment

log = logging.getLogger(__name__)


class SpeakerQueries(TimelineQueries):
    """Speakers of a session: names, talk time, what each said."""

    def _speaker_ids(self, session_id: str, speakers: Sequence[str]) -> set[str]:
        names = self.speaker_names(session_id)  # one read for every name asked about
        ids = set()
        for name in speakers:
            found = _resolve(names, name)
            if found is None:
                known = ", ".join(sorted(names)) or "none"
                raise MemoryStoreError(
                    f"no speaker {name!r} in session {session_id!r}; known speakers: {known}"
                )
            ids.add(found)
        return ids

    def resolve_speaker(self, session_id: str, name: str) -> str | None:
        """The speaker id meant by ``name``: an id (``S2``, any case) or a display name
        (``Alice``, any case); ``None`` if the session has no such speaker."""
        return _resolve(self.speaker_names(session_id), name)

    def transcript_by_speaker(
        self,
        session_id: str,
        speakers: Sequence[str],
        start: float = 0.0,
        end: float = float("inf"),
    ) -> list[TranscriptSegment]:
        """What ``speakers`` (ids or display names) said in [start, end], in order."""
        ids = self._speaker_ids(session_id, speakers)
        return [s for s in self.transcript_between(session_id, start, end) if s.speaker in ids]

    def speaker_names(self, session_id: str) -> dict[str, str]:
        """Speaker id -> display name (the id itself when nobody named the speaker)."""
        with Session(self.engine) as db:
            rows = db.execute(
                select(SpeakerRow.speaker, SpeakerRow.display_name).where(
                    SpeakerRow.session_id == session_id
                )
            ).all()
        return {speaker: name or speaker for speaker, name in rows}

    def rename_speaker(self, session_id: str, speaker: str, display_name: str) -> None:
        """Give a speaker id (``S1``) a name (``Alice``) used in exports and answers."""
        display_name = display_name.replace("\x00", "").strip()
        if not display_name:
            raise MemoryStoreError("a speaker's display name cannot be empty")
        with self.engine.begin() as conn:
            timeline.require_session(conn, session_id)
            changed = conn.execute(
                update(SpeakerRow)
                .where(SpeakerRow.session_id == session_id, SpeakerRow.speaker == speaker)
                .values(display_name=display_name)
            ).rowcount
            if not changed:
                known = (
                    conn.execute(
                        select(SpeakerRow.speaker)
                        .where(SpeakerRow.session_id == session_id)
                        .order_by(SpeakerRow.speaker)
                    )
                    .scalars()
                    .all()
                )
                raise MemoryStoreError(
                    f"no speaker {speaker!r} in session {session_id!r}; known speakers: "
                    + (", ".join(known) or "none")
                )

    def recluster_speakers(self, session_id: str) -> ReclusterResult:
        """Regroup the session's speaker ids over the whole session from the stored voice
        embeddings (see memory/speaker_refinement.py); returns what changed."""
        result = recluster_session(self.engine, session_id)
        # Cached vectors carry each segment's speaker, which regrouping may have rewritten.
        self._vectors.forget(session_id)
        self._sentence_vectors.forget(session_id)
        return result

    def speakers_with_talk_time(self, session_id: str) -> list[SpeakerTalkTime]:
        """Who spoke and how much, most talkative first.

        Talk time comes from diarisation turns when the session has any, else from
        transcript segments attributed to a speaker.
        """
        named = and_(
            SpeakerRow.session_id == TalkTimeRow.session_id,
            SpeakerRow.speaker == TalkTimeRow.speaker,
        )
        with self._reads.connect() as conn:
            rows = conn.execute(
                select(
                    TalkTimeRow.kind,
                    TalkTimeRow.speaker,
                    SpeakerRow.display_name,
                    TalkTimeRow.seconds,
                    TalkTimeRow.turns,
                    TalkTimeRow.first_start,
                    TalkTimeRow.last_end,
                )
                .outerjoin(SpeakerRow, named)
                .where(TalkTimeRow.session_id == session_id, TalkTimeRow.turns > 0)
                .order_by(TalkTimeRow.seconds.desc(), TalkTimeRow.speaker)
            ).all()
            if not rows:
                timeline.require_session(conn, session_id)
        has_turns = any(row.kind == EventKind.SPEAKER for row in rows)
        kind = str(EventKind.SPEAKER if has_turns else EventKind.TRANSCRIPT)
        return [
            SpeakerTalkTime(
                speaker=speaker,
                display_name=name or speaker,
                talk_seconds=float(seconds),
                turns=int(turns),
                first_start=float(first),
                last_end=float(last),
            )
            for row_kind, speaker, name, seconds, turns, first, last in rows
            if row_kind == kind
        ]


def _resolve(names: dict[str, str], name: str) -> str | None:
    """Ids match first (``s2`` is S2), then display names (``alice`` is Alice's id)."""
    wanted = name.strip().casefold()
    for speaker in sorted(names):
        if speaker.casefold() == wanted:
            return speaker
    for speaker, display in sorted(names.items()):
        if display.casefold() == wanted:
            return speaker
    return None
