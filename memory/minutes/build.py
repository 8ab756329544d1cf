"""Deriving a session's minutes from its transcript, and keeping them stored."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING

from memory.embeddings import default_embedder
from memory.minutes import rules
from memory.minutes.records import Minutes, MinutesItem, Topic
from memory.minutes.topics import segment_topics
from perception.events import TranscriptSegment

if TYPE_CHECKING:
    from memory.repository import Memory

log = logging.getLogger(__name__)

METHOD = "rules"


def _topic_of(topics: list[Topic], item: MinutesItem) -> MinutesItem:
    index = next((t.index for t in topics if t.start <= item.start <= t.end), None)
    if index is None and topics:
        index = min(topics, key=lambda t: abs(t.start - item.start)).index
    return dataclasses.replace(item, topic=index)


def derive_minutes(session_id: str, segments: list[TranscriptSegment]) -> Minutes:
    """Minutes of these segments (in time order): topics, decisions, actions, questions,
    disagreements, next meeting, each item citing what it rests on."""
    said = [s for s in segments if s.text.strip()]
    vectors = default_embedder().embed([s.text for s in said])
    topics = segment_topics(said, vectors)
    found = rules.sentences(said)

    def placed(items: list[MinutesItem]) -> list[MinutesItem]:
        return [_topic_of(topics, item) for item in items]

    upcoming = rules.next_meeting(found)
    return Minutes(
        session_id=session_id,
        topics=topics,
        decisions=placed(rules.decisions(found)),
        actions=placed(rules.actions(found, said)),
        questions=placed(rules.questions(found, said)),
        disagreements=placed(rules.disagreements(found)),
        next_meeting=_topic_of(topics, upcoming) if upcoming else None,
        method=METHOD,
        through=max((s.end for s in said), default=0.0),
    )


def build_minutes(memory: Memory, session_id: str) -> Minutes:
    """Derive the session's minutes from its stored transcript (nothing is stored)."""
    started = time.process_time()
    minutes = derive_minutes(session_id, memory.session_events(session_id, kinds=["transcript"]))  # type: ignore[arg-type]
    log.debug(
        "minutes of %s: %d topics, %d items in %.2f s CPU",
        session_id, len(minutes.topics), len(minutes.items()), time.process_time() - started,
    )  # fmt: skip
    return minutes


def refresh_minutes(memory: Memory, session_id: str) -> Minutes:
    """Derive the session's minutes and store them (replacing minutes written by rules;
    minutes a model wrote are kept unless the transcript has grown since)."""
    minutes = build_minutes(memory, session_id)
    stored = memory.minutes(session_id)
    if stored is not None and stored.method != METHOD and stored.through >= minutes.through:
        return stored
    memory.store_minutes(session_id, minutes)
    return minutes


def minutes_after_recording(memory: Memory, session_id: str) -> Minutes | None:
    """``refresh_minutes`` for the end of a recording: what was recorded is stored already,
    so a failure here is logged and the recording still succeeds (``moss-agent minutes
    SESSION --refresh`` tries again)."""
    try:
        return refresh_minutes(memory, session_id)
    except Exception:
        log.warning("could not build the minutes of session %s", session_id, exc_info=True)
        return None


def extend_minutes(memory: Memory, stored: Minutes) -> Minutes:
    """``stored`` rule-written minutes brought up to the end of the transcript by deriving
    again only from the start of their last topic (which may have gone on, or ended and
    been followed by others); what lies before it is kept as it was. The cost follows the
    new speech, not the session's length, so minutes stay current while recording."""
    if not stored.topics:
        return build_minutes(memory, stored.session_id)
    cut = stored.topics[-1].start
    tail = [
        s for s in memory.transcript_between(stored.session_id, cut, float("inf")) if s.start >= cut
    ]
    fresh = derive_minutes(stored.session_id, tail)
    offset = len(stored.topics) - 1
    topics = [
        *stored.topics[:-1],
        *(dataclasses.replace(t, index=t.index + offset) for t in fresh.topics),
    ]

    def merged(before: list[MinutesItem], after: list[MinutesItem]) -> list[MinutesItem]:
        kept = [item for item in before if item.start < cut]
        moved = [
            dataclasses.replace(item, topic=None if item.topic is None else item.topic + offset)
            for item in after
        ]
        return kept + moved

    upcoming = fresh.next_meeting
    if upcoming is not None:
        upcoming = merged([], [upcoming])[0]
    elif stored.next_meeting is not None and stored.next_meeting.start < cut:
        upcoming = stored.next_meeting
    return Minutes(
        session_id=stored.session_id,
        topics=topics,
        decisions=merged(stored.decisions, fresh.decisions),
        actions=merged(stored.actions, fresh.actions),
        questions=merged(stored.questions, fresh.questions),
        disagreements=merged(stored.disagreements, fresh.disagreements),
        next_meeting=upcoming,
        method=METHOD,
        through=max(stored.through, fresh.through),
    )


def minutes_for(memory: Memory, session_id: str) -> Minutes:
    """The session's minutes: the stored ones when they cover the whole transcript; else
    rule-written ones are extended over the new speech (``extend_minutes``), and a model's
    are replaced by a full derivation; either way stored."""
    stored = memory.minutes(session_id)
    if stored is not None and stored.through >= memory.last_transcript_end(session_id):
        return stored
    if stored is None or stored.method != METHOD:
        return refresh_minutes(memory, session_id)
    extended = extend_minutes(memory, stored)
    memory.store_minutes(session_id, extended)
    return extended
