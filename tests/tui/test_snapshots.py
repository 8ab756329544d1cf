"""Snapshots of the main screens over fixed events (pytest-textual-snapshot).

Update after an intended change of the layout with ``pytest tests/tui --snapshot-update``
and review the SVGs under ``__snapshots__``.
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import OptionList

from memory import Memory
from tests.tui.conftest import SESSION_ID
from tui.app import MossTUI

SIZE = (150, 36)


def test_session_browser(snap_compare, memory: Memory) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(MossTUI(memory, session=SESSION_ID), terminal_size=SIZE)


def test_minute_selected(snap_compare, memory: Memory) -> None:  # type: ignore[no-untyped-def]
    async def choose_minute(pilot: Pilot) -> None:
        pilot.app.query_one("#timeline", OptionList).focus()
        await pilot.press("down", "enter")
        await pilot.pause()

    assert snap_compare(MossTUI(memory, session=SESSION_ID), terminal_size=SIZE, run_before=choose_minute)


def test_answer_with_citations_and_open_reasoning(snap_compare, memory: Memory, asker) -> None:  # type: ignore[no-untyped-def]
    async def ask_and_open(pilot: Pilot) -> None:
        pilot.app.query_one("#question").focus()
        await pilot.press(*"When did someone mention the budget?", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.click("#reasoning CollapsibleTitle")
        await pilot.pause()

    app = MossTUI(memory, session=SESSION_ID, asker=asker)
    assert snap_compare(app, terminal_size=SIZE, run_before=ask_and_open)
