"""From espeak-ng meeting audio through perception (lite), memory and the agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.testing import ScriptedSession
from perception.synthetic import Scene


@pytest.fixture
async def heard(lite_backend, meeting_wav: Path) -> AsyncIterator[ScriptedSession]:  # type: ignore[no-untyped-def]
    async with ScriptedSession(title="espeak meeting", backend=lite_backend) as session:
        assert session.add_audio(meeting_wav, lite_backend) > 0
        yield session


@pytest.mark.slow
async def test_questions_about_a_perceived_meeting(
    heard: ScriptedSession, meeting_scene: Scene
) -> None:
    budget = await heard.ask("When did someone mention the budget?")
    budget.expect.no_tool_errors()
    budget.expect.contains_tool_call("search_passages", {"query": "budget"})
    first_line = meeting_scene.utterances[0]
    budget.expect.contains_citation(
        at=(first_line.start + first_line.end) / 2, kind="transcript", text="budget", tolerance=1.5
    )
    budget.expect.answer_matches(r'"budget" came up [23] times')

    count = await heard.ask("How many people spoke?")
    count.expect.answer_matches(r"^[23] people spoke")

    bell = await heard.ask("What sounds were heard?")
    bell.expect.no_tool_errors()
    truth = meeting_scene.sounds[0]
    bell.expect.contains_citation(at=(truth.start + truth.end) / 2, kind="sound", tolerance=1.0)

    again = await heard.ask(
        f"Listen again between {int(first_line.start)} and {int(first_line.end) + 1} seconds: what is said?"
    )
    again.expect.contains_tool_call("relisten")
    again.expect.no_tool_errors()
    again.expect.contains_citation(kind="relisten", text="budget")
    again.expect.answer_contains("budget")
