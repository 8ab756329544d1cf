"""Pilot tests for each flow of the terminal UI, over a real SQLite memory and the rules reasoner."""

from __future__ import annotations

import asyncio

from textual.widgets import Collapsible, OptionList, Static

from agent.bus.in_process import EventBus
from memory import Memory
from perception.events import SoundEvent, TranscriptSegment
from tests.tui.conftest import LINES, OTHER_ID, SESSION_ID
from tui.app import MossTUI
from tui.live import bus_events

SIZE = (160, 40)


def _text(widget: Static) -> str:
    return str(widget.render())


def _rows(app: MossTUI) -> list[str]:
    transcript = app.query_one("#transcript", OptionList)
    return [str(transcript.get_option_at_index(i).prompt) for i in range(transcript.option_count)]


async def test_opens_the_named_session_with_time_codes_speakers_and_badges(memory: Memory) -> None:
    app = MossTUI(memory, session="Weekly sync")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        rows = _rows(app)
        assert len(rows) == len(LINES) + 2  # seven lines and two sounds
        assert rows[0].startswith("00:01") and "Bob" in rows[0] and "budget" in rows[0]
        assert "(worried)" in rows[1]  # emotion badge from the voice event
        assert "doorbell" in rows[2] and "00:10" in rows[2]
        assert any("~phone ringing" in r for r in rows)  # heuristic sound marked
        assert app.sub_title == "Weekly sync"


async def test_choosing_a_session_in_the_list_shows_it(memory: Memory) -> None:
    app = MossTUI(memory, session="Weekly sync")
    async with app.run_test(size=SIZE) as pilot:
        sessions = app.query_one("#sessions", OptionList)
        assert sessions.option_count == 2
        sessions.focus()
        index = next(i for i in range(2) if sessions.get_option_at_index(i).id == OTHER_ID)
        sessions.highlighted = index
        await pilot.press("enter")
        await pilot.pause()
        assert app.view is not None and app.view.id == OTHER_ID
        assert _rows(app) == [_rows(app)[0]] and "Quick stand-up" in _rows(app)[0]


async def test_choosing_a_minute_jumps_to_what_was_said_then(memory: Memory) -> None:
    app = MossTUI(memory, session=SESSION_ID)
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.query_one("#timeline", OptionList)
        assert timeline.option_count == 3  # 130 s -> minutes 0, 1, 2
        assert "1 sound" in str(timeline.get_option_at_index(1).prompt)
        timeline.focus()
        await pilot.press("down", "enter")  # minute 01:00
        await pilot.pause()
        transcript = app.query_one("#transcript", OptionList)
        row = _rows(app)[transcript.highlighted]
        assert row.startswith("01:02") and "Action item" in row
        assert "01:00-02:00" in str(transcript.border_subtitle) and "3 lines" in str(
            transcript.border_subtitle
        )


async def test_question_answer_citations_jump_to_the_transcript(memory: Memory, asker) -> None:  # type: ignore[no-untyped-def]
    app = MossTUI(memory, session=SESSION_ID, asker=asker)
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#question").focus()
        await pilot.press(*"When did someone mention the budget?", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "budget" in _text(app.query_one("#answer", Static)).lower()
        citations = app.query_one("#citations", OptionList)
        assert citations.display and citations.option_count == 2
        second = str(citations.get_option_at_index(1).prompt)
        assert second.startswith("00:05-00:09") and "tight" in second
        citations.focus()
        citations.highlighted = 1
        await pilot.press("enter")
        await pilot.pause()
        transcript = app.query_one("#transcript", OptionList)
        assert transcript.has_focus
        assert "The budget is tight" in _rows(app)[transcript.highlighted]


async def test_reasoning_trace_is_collapsible_and_lists_tool_calls(memory: Memory, asker) -> None:  # type: ignore[no-untyped-def]
    app = MossTUI(memory, session=SESSION_ID, asker=asker)
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#question").focus()
        await pilot.press(*"What was said at minute 1?", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        reasoning = app.query_one("#reasoning", Collapsible)
        assert reasoning.display and reasoning.collapsed
        answer = app.last_answer
        assert answer.tool_calls, "the rules reasoner calls tools"
        trace = _text(app.query_one("#trace", Static))
        assert all(call.name in trace for call in answer.tool_calls)
        await pilot.click("#reasoning CollapsibleTitle")
        await pilot.pause()
        assert not reasoning.collapsed
        await pilot.press("f6")
        assert reasoning.collapsed


async def test_live_events_are_appended_as_they_arrive(memory: Memory) -> None:
    bus = EventBus()
    app = MossTUI(memory, session=SESSION_ID, live=bus_events(bus))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = len(_rows(app))
        while bus.subscriber_count == 0:  # the UI's worker subscribes on mount
            await asyncio.sleep(0.01)
        new = [
            TranscriptSegment(
                start=131.0,
                end=134.0,
                speaker="S3",
                text="One more thing: the budget review.",
                session_id=SESSION_ID,
            ),
            SoundEvent(start=135.0, end=136.0, label="door slam", session_id=SESSION_ID),
        ]
        memory.ingest(SESSION_ID, new)  # the recorder stores first, then publishes
        for event in new:
            await bus.publish_event(event)
        for _ in range(50):
            await pilot.pause(0.02)
            if len(_rows(app)) == before + 2:
                break
        rows = _rows(app)
        assert len(rows) == before + 2
        assert "One more thing" in rows[-2] and "door slam" in rows[-1]
        transcript = app.query_one("#transcript", OptionList)
        assert transcript.highlighted == len(rows) - 1  # follows the tail
        assert app.query_one("#timeline", OptionList).option_count == 3
        await bus.publish_event(new[0])  # the same event again is shown once
        await pilot.pause(0.05)
        assert len(_rows(app)) == before + 2


async def test_live_event_of_a_new_session_is_adopted_when_nothing_is_open(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from memory import open_memory

    memory = open_memory(f"sqlite:///{tmp_path / 'empty.db'}")
    bus = EventBus()
    app = MossTUI(memory, live=bus_events(bus))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.view is None
        while bus.subscriber_count == 0:
            await asyncio.sleep(0.01)
        session = memory.create_session("Live call")
        event = TranscriptSegment(
            start=0.2, end=1.5, speaker="S1", text="Hello there.", session_id=session.id
        )
        memory.ingest(session.id, [event])
        await bus.publish_event(event)
        for _ in range(50):
            await pilot.pause(0.02)
            if app.view is not None:
                break
        assert app.view is not None and app.view.id == session.id
        assert "Hello there." in _rows(app)[0]
    memory.close()


async def test_reasoning_title_counts_in_the_singular(memory: Memory) -> None:
    from agent.reasoning.answer import Answer, ToolCallRecord

    app = MossTUI(memory, session=SESSION_ID)
    async with app.run_test(size=SIZE) as pilot:
        app.show_answer(
            Answer(
                answer="x", reasoning=["one step"], tool_calls=[ToolCallRecord(name="session_info")]
            )
        )
        await pilot.pause()
        assert app.query_one("#reasoning", Collapsible).title == "Reasoning · 1 step · 1 tool call"
