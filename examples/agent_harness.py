"""Testing an agent with the scripted harness: script a session, ask, assert on the run.

Run it: ``.venv/bin/python examples/agent_harness.py`` (no model needed: the ``rules``
reasoner). The same ``expect`` calls work in pytest; a failed expectation prints the whole
run (answer, tool calls, citations, reasoning).
"""

from __future__ import annotations

import asyncio

from agent.testing import EventScript, ScriptedSession


def standup() -> EventScript:
    script = EventScript().name("S1", "Bob").name("S2", "Alice")
    script.say("S1", "Good morning. Let's start with the budget.", at=2.0)
    script.say("S2", "The budget is tight this quarter.", at=6.0)
    script.sound("doorbell", at=9.5, duration=1.5)
    script.say("S1", "Action item: Alice sends the numbers by Friday.", at=720.0)
    script.emotion("S2", "worried", at=6.0)
    return script


async def main() -> None:
    async with ScriptedSession(standup()) as session:
        result = await session.ask("What was said at minute 12?")
        result.expect.next_tool_call(name="session_info")
        result.expect.next_tool_call(name="transcript_between", arguments={"start": 720})
        result.expect.contains_citation(at=720, speaker="Bob")
        result.expect.answer_contains("Action item")
        print(result.answer.answer)

        bell = await session.ask("Was there a doorbell?")
        bell.expect.contains_citation(at=10, kind="sound", label="doorbell")
        print(bell.answer.answer)

        budget = await session.ask("When did someone mention the budget?")
        budget.expect.answer_contains("by Bob", "by Alice")
        print(budget.answer.answer)


if __name__ == "__main__":
    asyncio.run(main())
