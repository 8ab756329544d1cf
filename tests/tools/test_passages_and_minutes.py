"""The hybrid search, minutes, topics and speaker-filter tools, called through the registry
against a real SQLite memory holding the planning meeting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory import Memory, open_memory
from memory.minutes import Minutes, Topic
from tests.memory.planning_meeting import LINES, planning_meeting_events
from tools import PassageResult, ToolContext, builtin_registry

registry = builtin_registry()


@pytest.fixture
def meeting_ctx(tmp_path: Path) -> Iterator[ToolContext]:
    with open_memory(f"sqlite:///{tmp_path / 'memory.db'}") as memory:
        session = memory.create_session("planning")
        memory.ingest(session.id, planning_meeting_events())
        memory.rename_speaker(session.id, "S2", "Bob")
        yield ToolContext(memory=memory, session_id=session.id)


async def call(ctx: ToolContext, name: str, **arguments: object) -> object:
    result = await registry.call(name, arguments, ctx)
    assert result.ok, result.error
    return result.value


async def test_search_passages_finds_paraphrases(meeting_ctx: ToolContext) -> None:
    found = await call(meeting_ctx, "search_passages", query="office relocation", limit=3)
    assert isinstance(found, PassageResult) and found.relevant
    assert any("move" in p.text or "building" in p.text for p in found.passages)
    assert "passage" in found.summary_line()


async def test_search_passages_with_speaker_and_time(meeting_ctx: ToolContext) -> None:
    found = await call(meeting_ctx, "search_passages", query="testing", speaker="bob", limit=10)
    assert isinstance(found, PassageResult) and found.passages
    assert {p.speaker for p in found.passages} == {"S2"}
    late = await call(meeting_ctx, "search_passages", query="budget", start=200.0, end=400.0)
    assert isinstance(late, PassageResult)
    assert all(200.0 - 10 <= p.start <= 400.0 for p in late.passages + late.closest)


async def test_search_passages_reports_nothing_relevant(meeting_ctx: ToolContext) -> None:
    result = await registry.call("search_passages", {"query": "christmas bonus"}, meeting_ctx)
    assert result.ok and not result.value.strong  # type: ignore[union-attr]
    payload = json.loads(result.content())
    assert set(payload) >= {"query", "relevant", "strong", "passages", "closest"}


async def test_unknown_speaker_is_a_clear_error(meeting_ctx: ToolContext) -> None:
    for name, args in [
        ("search_passages", {"query": "budget", "speaker": "S9"}),
        ("speaker_transcript", {"speaker": "S9"}),
        ("transcript_between", {"start": 0, "end": 60, "speaker": "Zed"}),
    ]:
        result = await registry.call(name, args, meeting_ctx)
        assert result.error is not None and "known speakers: S1, S2, S3" in result.error, (
            result.error
        )


async def test_what_did_s2_say(meeting_ctx: ToolContext) -> None:
    said = await call(meeting_ctx, "speaker_transcript", speaker="s2")
    assert [s.text for s in said] == [text for who, text in LINES if who == "S2"]  # type: ignore[attr-defined]
    early = await call(meeting_ctx, "transcript_between", start=0.0, end=60.0, speaker="Bob")
    assert early and {s.speaker for s in early} == {"S2"}  # type: ignore[attr-defined]
    around = await call(meeting_ctx, "transcript_at", time=30.0, speaker="S1")
    assert {s.speaker for s in around} == {"S1"}  # type: ignore[attr-defined]
    hits = await call(meeting_ctx, "search_transcript", query="staging", speaker="S2")
    assert hits and {s.speaker for s in hits} == {"S2"}  # type: ignore[attr-defined]


async def test_minutes_and_topics_tools(meeting_ctx: ToolContext) -> None:
    minutes = await call(meeting_ctx, "minutes")
    assert isinstance(minutes, Minutes)
    assert minutes.decisions and minutes.actions and minutes.next_meeting is not None
    topics = await call(meeting_ctx, "topics")
    assert topics and all(isinstance(t, Topic) for t in topics)  # type: ignore[attr-defined]
    result = await registry.call("minutes", {}, meeting_ctx)
    payload = json.loads(result.content())
    assert payload["decisions"][0]["text"] and payload["decisions"][0]["time"] > 0
    assert any(a["owner"] == "S3" and a["deadline"] == "by Friday" for a in payload["actions"])
    assert payload["open_questions"] and payload["answered_questions"] >= 4
    assert len(result.content()) < 6000
    assert "decisions" in result.summary() and "topics" in result.summary()


def test_new_tools_are_in_the_openai_schema() -> None:
    names = {spec["function"]["name"] for spec in registry.openai_tools()}
    assert {"search_passages", "minutes", "topics", "speaker_transcript"} <= names
    spec = registry.get("transcript_between").openai_spec()  # type: ignore[union-attr]
    assert "speaker" in spec["function"]["parameters"]["properties"]


def test_memory_is_reused_across_questions(meeting_ctx: ToolContext) -> None:
    memory: Memory = meeting_ctx.memory
    first = memory.search_passages(meeting_ctx.session_id, "budget")
    again = memory.search_passages(meeting_ctx.session_id, "budget")
    assert [h.start for h in first.hits] == [h.start for h in again.hits]
