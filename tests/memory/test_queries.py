"""The repository's queries, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text as sql_text

from memory import AgentTurnRecord, Memory, MemoryStoreError
from memory.exports import export_session
from perception.events import EventKind, SoundEvent, TranscriptSegment, Word
from tests.memory.scenes import meeting_events


@pytest.fixture
def meeting(memory: Memory) -> str:
    session = memory.create_session(
        "Weekly sync", source="meeting.wav", backend="lite", model="whisper-tiny",
        started_at=datetime(2025, 3, 4, 9, 30, tzinfo=UTC),
    )  # fmt: skip
    memory.ingest(session.id, meeting_events(), batch_size=5)
    return session.id


def test_events_round_trip_exactly(memory: Memory, meeting: str) -> None:
    original = sorted(meeting_events(), key=lambda e: (e.start, e.end, e.kind))
    for event in original:
        event.session_id = meeting
    stored = memory.events_between(meeting, 0, 1000)
    key = {e.event_id: e for e in stored}
    assert len(stored) == len(original)
    for event in original:
        assert key[event.event_id] == event
        assert type(key[event.event_id]) is type(event)
    segment = next(e for e in stored if isinstance(e, TranscriptSegment))
    assert segment.words and segment.words[0] == Word(
        start=0.0, end=segment.words[0].end, text="Good", speaker="S1", confidence=0.9
    )


def test_ingest_is_idempotent_and_counts_only_new(memory: Memory) -> None:
    session = memory.create_session("retries")
    events = meeting_events()
    assert memory.ingest(session.id, events, batch_size=3) == len(events)
    talk = memory.speakers_with_talk_time(session.id)
    assert memory.ingest(session.id, meeting_events(), batch_size=7) == 0
    assert memory.speakers_with_talk_time(session.id) == talk  # nothing counted twice
    # A window's events arriving twice in one batch, plus overlap with stored ones.
    extra = TranscriptSegment(start=80.0, end=82.0, text="new line", speaker="S1")
    twice = [*meeting_events()[:4], extra, extra.model_copy()]
    assert memory.ingest(session.id, twice) == 1
    assert memory.find_session(session.id).event_count == len(events) + 1
    assert len(memory.transcript_between(session.id, 79, 83)) == 1
    assert all(e.session_id == session.id for e in events)


def test_nul_characters_from_model_output_are_dropped_not_fatal(memory: Memory) -> None:
    # PostgreSQL text cannot hold NUL; models do emit it now and then.
    session = memory.create_session("nul")
    words = [
        Word(start=1.0, end=1.4, text="bud\x00get", speaker="S1", confidence=0.5),
        Word(start=1.4, end=2.0, text="cut", speaker="S1"),
    ]
    segment = TranscriptSegment(
        start=1.0, end=2.0, text="bud\x00get cut", words=words, speaker="S1"
    )
    assert memory.ingest(session.id, [segment]) == 1
    [stored] = memory.transcript_between(session.id, 0, 5)
    assert stored.text == "budget cut"
    assert [w.text for w in stored.words] == ["budget", "cut"]
    assert stored.words[0].confidence == 0.5 and stored.words[1].confidence is None
    assert memory.search_text(session.id, "budget")[0].start == 1.0


def test_stored_event_ids_are_the_events_ids(memory: Memory, meeting: str) -> None:
    with memory.engine.connect() as conn:
        stored = set(conn.execute(sql_text("SELECT event_id FROM events")).scalars())
    expected = set()
    for event in meeting_events():
        event.session_id = meeting
        expected.add(event.event_id)
    assert stored == expected


def test_ingest_extends_duration_and_registers_speakers(memory: Memory, meeting: str) -> None:
    info = memory.find_session(meeting)
    assert info.duration == 76.0
    assert info.event_count == len(meeting_events())
    assert memory.speaker_names(meeting) == {"S1": "S1", "S2": "S2", "S3": "S3"}
    memory.set_duration(meeting, 120.0)
    assert memory.find_session(meeting).duration == 120.0
    memory.set_duration(meeting, 50.0)  # shorter than the events: they are all still kept
    assert len(memory.session_events(meeting)) == len(meeting_events())
    assert "One more thing" in export_session(memory, meeting, "srt")


def test_transcript_at_gives_context_before_and_after(memory: Memory, meeting: str) -> None:
    texts = [s.text for s in memory.transcript_at(meeting, 12.0, before=3.0, after=5.0)]
    assert texts == [
        "Thanks. First item is the budget for next quarter.",
        "The budget review is due on Friday.",
        "I can prepare the slides about hiring.",
    ]
    assert memory.transcript_at(meeting, 50.0, before=5, after=5) == []


def test_transcript_between_includes_segments_overlapping_the_edges(
    memory: Memory, meeting: str
) -> None:
    segments = memory.transcript_between(meeting, 20.0, 22.0)
    assert [(s.start, s.speaker) for s in segments] == [(15.0, "S3"), (21.5, "S2")]
    assert all(isinstance(s, TranscriptSegment) for s in segments)
    assert [s.start for s in memory.transcript_between(meeting, 22.0, 20.0)] == [15.0, 21.5]


def test_long_events_are_found_from_inside(memory: Memory, meeting: str) -> None:
    # The 20 s music event starts long before 55 s: the span bound must still find it.
    found = memory.events_between(meeting, 55.0, 56.0)
    assert [e.kind for e in found] == [EventKind.MUSIC]


def test_events_between_filters_kinds(memory: Memory, meeting: str) -> None:
    sounds = memory.events_between(meeting, 0, 30, kinds=[EventKind.SOUND])
    assert [(e.label, e.start) for e in sounds] == [("doorbell", 9.9), ("phone ringing", 24.5)]
    mixed = memory.events_between(meeting, 0, 100, kinds=["sound", "music"])
    assert {e.kind for e in mixed} == {EventKind.SOUND, EventKind.MUSIC}
    with pytest.raises(ValueError):
        memory.events_between(meeting, 0, 10, kinds=["nonsense"])


def test_last_minutes_is_relative_to_the_session_end(memory: Memory, meeting: str) -> None:
    last = memory.last_minutes(meeting, 0.5, kinds=["transcript"])
    assert [e.start for e in last] == [70.0]
    everything = memory.last_minutes(meeting, 10)
    assert len(everything) == len(meeting_events())


def test_search_text_finds_words_with_times(memory: Memory, meeting: str) -> None:
    hits = memory.search_text(meeting, "budget")
    assert {h.start for h in hits} == {4.5, 9.5}
    assert all("[budget]" in h.snippet for h in hits)
    assert hits[0].score >= hits[-1].score
    # Stemming: "hiring" is found by "hire".
    assert {h.start for h in memory.search_text(meeting, "hire")} == {15.0, 21.5}
    # All words must match when some segment has them all ...
    assert [h.start for h in memory.search_text(meeting, "budget review")] == [9.5]
    # ... else any of them does.
    assert {h.start for h in memory.search_text(meeting, "budget zebra")} == {4.5, 9.5}
    assert memory.search_text(meeting, "zebra") == []
    assert memory.search_text(meeting, "   ") == []
    assert len(memory.search_text(meeting, "thanks")) == 2
    assert len(memory.search_text(meeting, "thanks", limit=1)) == 1


ATTACKS = [
    '"',
    '"budget',
    "budget*",
    "NEAR(budget review)",
    "budget OR 1=1",
    "'; DROP TABLE events; --",
    "text:budget",
    "^budget",
    "budget -review",
    "events_fts MATCH '*'",
    "); DELETE FROM sessions; --",
    "\\x00\x00 budget",
    "budget' OR session_id != '",
    "budget & !review | (office",
    "a" * 5000,
]


def test_search_text_treats_syntax_and_sql_as_words(memory: Memory, meeting: str) -> None:
    other = memory.create_session("other")
    memory.ingest(other.id, [TranscriptSegment(start=0, end=1, text="budget secrets DROP TABLE")])
    for attack in ATTACKS:
        hits = memory.search_text(meeting, attack)
        assert all(h.segment.session_id == meeting for h in hits), attack
        if "budget" in attack:
            assert {h.start for h in hits} >= {4.5, 9.5} or hits[0].start == 9.5, attack
    # Nothing was dropped or deleted, and scoping still holds.
    assert memory.find_session(meeting).event_count == len(meeting_events())
    assert len(memory.list_sessions()) == 2
    assert [h.segment.session_id for h in memory.search_text(other.id, "budget")] == [other.id]
    # The same strings as session ids, titles and speaker names are just values.
    for attack in ATTACKS[:13]:
        assert memory.find_session(attack) is None
        with pytest.raises(MemoryStoreError):
            memory.last_minutes(attack, 1)
    memory.rename_speaker(meeting, "S1", ATTACKS[5])
    assert memory.speaker_names(meeting)["S1"] == ATTACKS[5]
    assert len(memory.list_sessions()) == 2


def test_every_query_is_scoped_to_its_session(memory: Memory, meeting: str) -> None:
    twin = memory.create_session("twin")
    memory.ingest(twin.id, meeting_events())
    assert len(memory.events_between(twin.id, 0, 100)) == len(meeting_events())
    memory.ingest(twin.id, [SoundEvent(start=5, end=6, label="dog bark")])
    assert [e.label for e in memory.events_between(meeting, 0, 100, kinds=["sound"])] == [
        "doorbell",
        "phone ringing",
    ]
    memory.rename_speaker(twin.id, "S1", "Zed")
    assert memory.speaker_names(meeting)["S1"] == "S1"
    assert all(e.session_id == twin.id for e in memory.events_between(twin.id, 0, 100))


def test_speakers_with_talk_time(memory: Memory, meeting: str) -> None:
    talk = memory.speakers_with_talk_time(meeting)
    assert [t.speaker for t in talk] == ["S1", "S2", "S3"]
    s1 = talk[0]
    assert s1.talk_seconds == pytest.approx(4.0 + 4.5 + 5.0)
    assert (s1.turns, s1.first_start, s1.last_end) == (3, 0.0, 30.0)
    memory.rename_speaker(meeting, "S1", "Alice")
    assert memory.speakers_with_talk_time(meeting)[0].display_name == "Alice"
    with pytest.raises(MemoryStoreError, match="known speakers: S1, S2, S3"):
        memory.rename_speaker(meeting, "S9", "Nobody")


def test_talk_time_falls_back_to_transcript_speakers(memory: Memory) -> None:
    session = memory.create_session("no diarisation")
    memory.ingest(
        session.id,
        [
            TranscriptSegment(start=0, end=2, text="hi", speaker="A"),
            TranscriptSegment(start=2, end=7, text="hello there", speaker="B"),
        ],
    )
    assert [(t.speaker, t.talk_seconds) for t in memory.speakers_with_talk_time(session.id)] == [
        ("B", 5.0),
        ("A", 2.0),
    ]


def test_sessions_create_find_list_delete(memory: Memory, meeting: str) -> None:
    info = memory.find_session(meeting)
    assert (info.title, info.source, info.backend, info.model) == (
        "Weekly sync", "meeting.wav", "lite", "whisper-tiny",
    )  # fmt: skip
    assert info.started_at == datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    assert memory.find_session("Weekly sync").id == meeting
    assert memory.find_session("weekly SYNC").id == meeting
    assert memory.find_session(meeting[:6]).id == meeting
    assert memory.find_session("nope") is None
    assert memory.find_session("%") is None
    again = memory.get_or_create_session("Weekly sync")
    assert again.id == meeting
    fresh = memory.get_or_create_session("Daily", source="mic")
    assert fresh.id != meeting and fresh.source == "mic"
    named = memory.create_session("Named", session_id="my-session")
    assert named.id == "my-session"
    with pytest.raises(MemoryStoreError, match="already exists"):
        memory.create_session("Again", session_id="my-session")
    assert {s.id for s in memory.list_sessions()} == {meeting, fresh.id, "my-session"}

    memory.record_agent_turn(meeting, AgentTurnRecord(question="q", answer="a"))
    memory.delete_session(meeting)
    assert memory.find_session(meeting) is None
    assert {s.id for s in memory.list_sessions()} == {fresh.id, "my-session"}
    with pytest.raises(MemoryStoreError, match="no session"):
        memory.transcript_at(meeting, 1.0) or memory.agent_turns(meeting)
    # The deleted session's events are gone: re-ingesting into a new session with the same
    # id stores them all again.
    memory.create_session("Weekly sync", session_id=meeting)
    assert memory.ingest(meeting, meeting_events()) == len(meeting_events())
    assert memory.search_text(meeting, "budget")


def test_unknown_session_is_an_error_not_an_empty_answer(memory: Memory) -> None:
    for call in (
        lambda: memory.ingest("missing", []),
        lambda: memory.last_minutes("missing", 5),
        lambda: memory.transcript_at("missing", 5),
        lambda: memory.events_between("missing", 0, 5),
        lambda: memory.search_text("missing", "x"),
        lambda: memory.speakers_with_talk_time("missing"),
        lambda: memory.delete_session("missing"),
        lambda: export_session(memory, "missing", "md"),
        lambda: memory.record_agent_turn("missing", AgentTurnRecord(question="q", answer="a")),
    ):
        with pytest.raises(MemoryStoreError, match="no session 'missing'"):
            call()


def test_agent_turns_round_trip(memory: Memory, meeting: str) -> None:
    turn = AgentTurnRecord(
        question="When was the budget mentioned?",
        answer="At 00:04 and 00:09.",
        tool_calls=[
            {"name": "search_text", "arguments": {"query": "budget"}, "result": [4.5, 9.5]}
        ],
        reasoning=["search the transcript", {"step": 2, "note": "two hits"}],
        citations=[{"start": 4.5, "end": 9.0, "event_id": "abc"}],
        session_time=76.0,
    )
    turn_id = memory.record_agent_turn(meeting, turn)
    memory.record_agent_turn(meeting, AgentTurnRecord(question="Who spoke most?", answer="S1"))
    turns = memory.agent_turns(meeting)
    assert [t.question for t in turns] == ["When was the budget mentioned?", "Who spoke most?"]
    stored = turns[0]
    assert stored.id == turn_id == turn.id
    assert stored.tool_calls == turn.tool_calls
    assert stored.reasoning == turn.reasoning
    assert stored.citations == turn.citations
    assert stored.session_time == 76.0
    assert stored.created_at is not None and stored.created_at.tzinfo is not None


def test_export_formats_use_display_names(memory: Memory, meeting: str) -> None:
    memory.rename_speaker(meeting, "S1", "Alice")
    memory.rename_speaker(meeting, "S2", "Bob")

    srt = export_session(memory, meeting, "srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:04,000\nAlice: Good morning everyone")
    assert "7\n00:01:10,000 --> 00:01:16,000\nBob: One more thing" in srt

    vtt = export_session(memory, meeting, "vtt")
    assert vtt.startswith("WEBVTT\n")
    assert "00:00:04.500 --> 00:00:09.000\n<v Bob>Thanks. First item" in vtt

    md = export_session(memory, meeting, "md")
    assert md.startswith("# Weekly sync\n")
    assert "| Alice | 00:13 | 42% | 3 |" in md
    assert "### 00:00" in md and "### 01:00" in md
    assert "- [00:04] **Bob:** Thanks. First item is the budget" in md
    assert "- [00:09] *(doorbell)*" in md
    assert "- 00:40–01:00 *music*: soft piano" in md

    document = json.loads(export_session(memory, meeting, "json"))
    assert document["session"]["id"] == meeting
    assert document["speakers"] == {"S1": "Alice", "S2": "Bob", "S3": "S3"}
    assert len(document["events"]) == len(meeting_events())
    with pytest.raises(MemoryStoreError, match="unknown export format"):
        export_session(memory, meeting, "docx")  # type: ignore[arg-type]


def test_vtt_escapes_cue_text(memory: Memory) -> None:
    session = memory.create_session("escapes")
    memory.ingest(
        session.id,
        [TranscriptSegment(start=0, end=1, text="a --> b <i>x</i> & c", speaker="S<1>")],
    )
    vtt = export_session(memory, session.id, "vtt")
    assert "<v S<1" not in vtt and "<i>" not in vtt and " --> b" not in vtt
    assert "&amp; c" in vtt
