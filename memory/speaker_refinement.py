"""Regroup a stored session's speakers from the voice embeddings kept with its segments.

Runs perception's whole-session re-clustering (perception.speaker_refinement) on the
``speaker_embedding`` of every transcript segment of the session, needs no audio, and
rewrites the ids in one transaction: segment rows and their packed words, other events
that name a speaker (turns, voice traits: by the segment they overlap most), the speakers
table and the talk-time totals. Ids keep their meaning where they can (a voice keeps the
id it was shown under), so names given with ``speakers --rename`` stay; a named id that
disappears (merged into another voice) hands its name to the id that took its speech, if
that one has none. Running it again on the same session changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from memory import timeline
from memory.bulk import insert_events
from memory.records import TALK_KINDS, talk_totals
from memory.rows import event_from_row, event_row, unpack_embedding
from memory.schema import EventRow, SpeakerRow, TalkTimeRow
from perception.events import EventKind
from perception.speaker_refinement import (
    RECLUSTER_THRESHOLD,
    Span,
    overlapping_speaker,
    relabel,
    turn_pieces,
)

log = logging.getLogger(__name__)


@dataclass
class ReclusterResult:
    """What a re-clustering changed."""

    segments: int = 0  # transcript segments with an embedding
    changed: int = 0  # events whose speaker id changed
    speakers_before: list[str] = field(default_factory=list)
    speakers_after: list[str] = field(default_factory=list)


def recluster_session(
    engine: Engine, session_id: str, threshold: float = RECLUSTER_THRESHOLD
) -> ReclusterResult:
    """Regroup the speakers of ``session_id`` in the memory database behind ``engine``."""
    result = ReclusterResult()
    with engine.begin() as conn:
        timeline.require_session(conn, session_id)
        segs = conn.execute(
            select(
                EventRow.id,
                EventRow.start_time,
                EventRow.end_time,
                EventRow.speaker,
                EventRow.speaker_embedding,
                EventRow.words,
            )
            .where(EventRow.session_id == session_id, EventRow.kind == str(EventKind.TRANSCRIPT))
            .order_by(EventRow.start_time, EventRow.id)
        ).all()
        spans = [
            Span(r.start_time, r.end_time, r.speaker, unpack_embedding(r.speaker_embedding))
            for r in segs
        ]
        result.segments = sum(s.embedding is not None for s in spans)
        result.speakers_before = sorted({s.speaker for s in spans if s.speaker})
        if not result.segments:
            result.speakers_after = result.speakers_before
            return result
        new_ids = relabel(spans, threshold)
        moved: dict[str, dict[str, float]] = {}  # old id -> new id -> seconds
        for row, span, new in zip(segs, spans, new_ids, strict=True):
            if span.speaker and new:
                into = moved.setdefault(span.speaker, {})
                into[new] = into.get(new, 0.0) + span.seconds
            if new == row.speaker:
                continue
            words = [[*w[:3], new, *w[4:]] for w in row.words] if row.words else row.words
            conn.execute(
                update(EventRow).where(EventRow.id == row.id).values(speaker=new, words=words)
            )
            result.changed += 1
        segment_timeline = [(s.start, s.end, n) for s, n in zip(spans, new_ids, strict=True)]
        others = conn.execute(
            select(EventRow.__table__).where(
                EventRow.session_id == session_id,
                EventRow.kind != str(EventKind.TRANSCRIPT),
                EventRow.speaker.is_not(None),
            )
        ).all()
        split: list[tuple[Any, ...]] = []
        for row in others:
            if row.kind == str(EventKind.SPEAKER):
                pieces = turn_pieces(row.start_time, row.end_time, segment_timeline)
                if len(pieces) > 1:  # a turn that turned out to hold two voices: one per voice
                    turn = event_from_row(row)
                    split += [
                        event_row(turn.model_copy(update={"start": a, "end": b, "speaker": who}))
                        for a, b, who in pieces
                    ]
                    conn.execute(delete(EventRow).where(EventRow.id == row.id))
                    result.changed += 1
                    continue
                new = pieces[0][2] if pieces else None
            else:
                new = overlapping_speaker(row.start_time, row.end_time, segment_timeline)
            if new is not None and new != row.speaker:
                conn.execute(update(EventRow).where(EventRow.id == row.id).values(speaker=new))
                result.changed += 1
        if split:
            insert_events(conn, split)
        _rewrite_speakers(conn, session_id, moved)
        _recount_talk_time(conn, session_id)
        result.speakers_after = sorted({n for n in new_ids if n})
    log.info(
        "re-clustered %s: %d segments, %d events changed, speakers %s -> %s",
        session_id,
        result.segments,
        result.changed,
        result.speakers_before,
        result.speakers_after,
    )
    return result


def _rewrite_speakers(
    conn: Connection, session_id: str, moved: dict[str, dict[str, float]]
) -> None:
    used: set[str] = {
        s
        for (s,) in conn.execute(
            select(EventRow.speaker)
            .where(EventRow.session_id == session_id, EventRow.speaker.is_not(None))
            .distinct()
        )
        if s
    }
    names: dict[str, str | None] = {
        speaker: name
        for speaker, name in conn.execute(
            select(SpeakerRow.speaker, SpeakerRow.display_name).where(
                SpeakerRow.session_id == session_id
            )
        )
    }
    for speaker in sorted(used - set(names)):
        conn.execute(insert(SpeakerRow).values(session_id=session_id, speaker=speaker))
        names[speaker] = None
    for speaker, name in list(names.items()):
        if speaker in used:
            continue
        heir = max(moved.get(speaker, {}).items(), key=lambda kv: kv[1], default=(None, 0.0))[0]
        if name and heir is not None and not names.get(heir):
            conn.execute(
                update(SpeakerRow)
                .where(SpeakerRow.session_id == session_id, SpeakerRow.speaker == heir)
                .values(display_name=name)
            )
            names[heir] = name
        conn.execute(
            delete(SpeakerRow).where(
                SpeakerRow.session_id == session_id, SpeakerRow.speaker == speaker
            )
        )


def _recount_talk_time(conn: Connection, session_id: str) -> None:
    conn.execute(delete(TalkTimeRow).where(TalkTimeRow.session_id == session_id))
    totals = talk_totals(
        conn.execute(
            select(EventRow.speaker, EventRow.kind, EventRow.start_time, EventRow.end_time).where(
                EventRow.session_id == session_id,
                EventRow.speaker.is_not(None),
                EventRow.kind.in_(TALK_KINDS),
            )
        ).tuples()
    )
    if totals:
        conn.execute(
            insert(TalkTimeRow),
            [
                {
                    "session_id": session_id,
                    "speaker": s,
                    "kind": k,
                    "seconds": t.seconds,
                    "turns": t.turns,
                    "first_start": t.first_start,
                    "last_end": t.last_end,
                }
                for (s, k), t in totals.items()
            ],
        )


__all__ = ["ReclusterResult", "recluster_session"]
