"""Snapshots of the main screens over fixed events (pytest-textual-snapshot).

Update after an intended change of the layout with ``pytest tests/tui --snapshot-update``
and review the SVGs under ``__snapshots__``. The answer screen shows a fixed ``Answer``
(what the rules reasoner says about the fixed memory), so a change of the reasoner's
wording does not move the layout snapshot; the live question flow through the real
reasoner is covered by the Pilot tests in ``test_flows.py``.
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from agent.reasoning.answer import Answer, Citation, ToolCallRecord
from memory import Memory
from tests.tui.conftest import SESSION_ID
from tui.app import MossTUI

SIZE = (150, 36)

BUDGET_ANSWER = Answer(
    answer=(
        '"budget" came up 2 times: at 00:01 by Bob ("Good morning everyone, let\'s start with '
        'the budget."), at 00:05 by S2 ("The budget is tight this quarter.").'
    ),
    reasoning=[
        "Called session_info(): session 'Weekly sync': 02:10 long, 11 events.",
        "The question asks about 'budget': searching the transcript for it.",
        "Called search_transcript(query='budget', limit=50): 2 transcript events at 00:01-00:09.",
    ],
    tool_calls=[
        ToolCallRecord(
            name="session_info", result_summary="session 'Weekly sync': 02:10 long, 11 events"
        ),
        ToolCallRecord(
            name="search_transcript",
            arguments={"query": "budget", "limit": 50},
            result_summary="2 transcript events at 00:01-00:09",
        ),
    ],
    citations=[
        Citation(
            start=1.0,
            end=4.5,
            kind="transcript",
            text="Good morning everyone, let's start with the budget.",
            speaker="Bob",
        ),
        Citation(
            start=5.0,
            end=9.0,
            kind="transcript",
            text="The budget is tight this quarter.",
            speaker="S2",
        ),
        Citation(start=10.0, end=11.5, kind="sound", label="doorbell"),
    ],
    reasoner="rules",
)


def test_session_browser(snap_compare, memory: Memory) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(MossTUI(memory, session=SESSION_ID), terminal_size=SIZE)


def test_minute_selected(snap_compare, memory: Memory) -> None:  # type: ignore[no-untyped-def]
    async def choose_minute(pilot: Pilot) -> None:
        pilot.app.query_one("#timeline", OptionList).focus()
        await pilot.press("down", "enter")
        await pilot.pause()

    assert snap_compare(
        MossTUI(memory, session=SESSION_ID), terminal_size=SIZE, run_before=choose_minute
    )


def test_answer_with_citations_and_open_reasoning(snap_compare, memory: Memory) -> None:  # type: ignore[no-untyped-def]
    async def show_and_open(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, MossTUI)
        question = app.query_one("#question", Input)
        question.value = "When did someone mention the budget?"
        question.focus()
        app.show_answer(BUDGET_ANSWER)
        await pilot.pause()
        await pilot.click("#reasoning CollapsibleTitle")
        await pilot.pause()

    assert snap_compare(
        MossTUI(memory, session=SESSION_ID), terminal_size=SIZE, run_before=show_and_open
    )


# The layout at the sizes terminals come in: 80x24 folds the left column away and puts
# the answer under the transcript; 120x40 keeps the left column and the answer below.


def test_answer_at_80x24(snap_compare, memory: Memory) -> None:  # type: ignore[no-untyped-def]
    async def show(pilot: Pilot) -> None:
        pilot.app.show_answer(BUDGET_ANSWER)
        await pilot.pause()

    assert snap_compare(
        MossTUI(memory, session=SESSION_ID), terminal_size=(80, 24), run_before=show
    )


def test_answer_at_120x40(snap_compare, memory: Memory) -> None:  # type: ignore[no-untyped-def]
    async def show(pilot: Pilot) -> None:
        pilot.app.show_answer(BUDGET_ANSWER)
        await pilot.pause()

    assert snap_compare(
        MossTUI(memory, session=SESSION_ID), terminal_size=(120, 40), run_before=show
    )


def test_sessions_unfolded_at_80x24(snap_compare, memory: Memory) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(MossTUI(memory, session=SESSION_ID), terminal_size=(80, 24), press=["f2"])
