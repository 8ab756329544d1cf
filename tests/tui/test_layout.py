"""The UI at the sizes terminals come in, and the hints it gives: a responsive layout
(80x24 folds the left column away, 100-139 columns put the answer under the transcript),
how to record into an empty memory, how to reach citations, wrapped lines indented under
their text, the session's entry following a recording, what the timeline does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import OptionList

from agent.bus.in_process import EventBus
from memory import Memory, open_memory
from perception.events import TranscriptSegment
from tests.tui.conftest import SESSION_ID
from tests.tui.test_snapshots import BUDGET_ANSWER
from tui.app import MossTUI
from tui.live import bus_events


def _options(widget: OptionList) -> list[str]:
    return [str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count)]


def _lines(widget: OptionList) -> list[str]:
    """What the widget shows, line by line, as plain text."""
    size = widget.size
    return [strip.text for strip in widget.render_lines(Region(0, 0, size.width, size.height))]


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40), (150, 36)])
async def test_transcript_and_answer_get_room_at_every_size(
    memory: Memory, size: tuple[int, int]
) -> None:
    app = MossTUI(memory, session=SESSION_ID)
    async with app.run_test(size=size) as pilot:
        app.show_answer(BUDGET_ANSWER)
        await pilot.pause()
        width, _ = size
        transcript = app.query_one("#transcript")
        answer_box = app.query_one("#answer-box")
        assert transcript.content_region.width >= 60, transcript.content_region
        assert answer_box.region.right <= width and answer_box.content_region.width >= 40
        # the first line is said whole, nothing cut at the pane's edge
        said = " ".join(
            " ".join(line.strip(" │").split())
            for line in _lines(app.query_one("#transcript", OptionList))[:4]
        )
        assert "Good morning everyone, let's start with the budget." in said


async def test_narrow_terminal_folds_the_left_column_and_f2_brings_it_back(memory: Memory) -> None:
    app = MossTUI(memory, session=SESSION_ID)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        left = app.query_one("#left")
        assert not left.display or left.region.width == 0
        await pilot.press("f2")
        await pilot.pause()
        assert left.region.width > 0 and app.query_one("#sessions").has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert left.region.width == 0 and app.query_one("#transcript").has_focus
        await pilot.press("f3", "down", "enter")  # a minute chosen: folded, transcript there
        await pilot.pause()
        transcript = app.query_one("#transcript", OptionList)
        assert left.region.width == 0 and transcript.has_focus
        assert _options(transcript)[transcript.highlighted].startswith("01:02")


async def test_an_empty_memory_says_how_to_record(tmp_path: Path) -> None:
    memory = open_memory(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        app = MossTUI(memory)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            shown = " ".join(_options(app.query_one("#transcript", OptionList)))
            assert "moss-agent record FILE" in shown and "moss-agent tui --record FILE" in shown
            assert "moss-agent record FILE" in " ".join(
                _options(app.query_one("#sessions", OptionList))
            )
    finally:
        memory.close()


async def test_citations_say_how_to_reach_them_and_tab_does(memory: Memory) -> None:
    app = MossTUI(memory, session=SESSION_ID)
    async with app.run_test(size=(150, 36)) as pilot:
        app.show_answer(BUDGET_ANSWER)
        app.query_one("#question").focus()
        await pilot.pause()
        citations = app.query_one("#citations", OptionList)
        assert citations.border_subtitle == "Tab: citations, Enter: jump"
        await pilot.press("tab")
        assert citations.has_focus
        citations.highlighted = 1
        await pilot.press("enter")
        await pilot.pause()
        transcript = app.query_one("#transcript", OptionList)
        assert (
            transcript.has_focus
            and "The budget is tight" in _options(transcript)[transcript.highlighted]
        )


async def test_wrapped_lines_start_under_their_text(memory: Memory) -> None:
    app = MossTUI(memory, session=SESSION_ID)
    async with app.run_test(size=(150, 36)) as pilot:  # the transcript is 62 cells wide here
        await pilot.pause()
        lines = _lines(app.query_one("#transcript", OptionList))
        first = next(i for i, line in enumerate(lines) if "Good morning" in line)
        text_column = lines[first].index("Good morning")
        wrapped = lines[first + 1]
        assert wrapped.strip(" │") == "budget."
        assert wrapped.index("budget.") == text_column


async def test_the_session_entry_follows_a_recording(memory: Memory) -> None:
    bus = EventBus()
    app = MossTUI(memory, session=SESSION_ID, live=bus_events(bus))
    async with app.run_test(size=(150, 36)) as pilot:
        await pilot.pause()
        sessions = app.query_one("#sessions", OptionList)
        entry = next(
            i
            for i in range(sessions.option_count)
            if sessions.get_option_at_index(i).id == SESSION_ID
        )
        assert "02:10 · 11 events" in str(sessions.get_option_at_index(entry).prompt)
        while bus.subscriber_count == 0:
            await asyncio.sleep(0.01)
        new = TranscriptSegment(
            start=140.0, end=146.0, speaker="S1", text="One more thing.", session_id=SESSION_ID
        )
        memory.ingest(SESSION_ID, [new])  # the recorder stores first, then publishes
        await bus.publish_event(new)
        for _ in range(100):
            await pilot.pause(0.02)
            if "12 events" in str(sessions.get_option_at_index(entry).prompt):
                break
        assert "02:26 · 12 events" in str(sessions.get_option_at_index(entry).prompt)


async def test_the_timeline_says_it_scrolls_and_keeps_every_line(memory: Memory) -> None:
    app = MossTUI(memory, session=SESSION_ID)
    async with app.run_test(size=(150, 36)) as pilot:
        timeline = app.query_one("#timeline", OptionList)
        transcript = app.query_one("#transcript", OptionList)
        before = transcript.option_count
        assert timeline.border_subtitle == "Enter: scroll to minute"
        timeline.focus()
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert transcript.option_count == before  # scrolled, not filtered
        assert _options(transcript)[transcript.highlighted].startswith("02:05")
