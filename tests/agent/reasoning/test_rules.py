"""The rules reasoner on the scripted meeting, through the scripted harness."""

from __future__ import annotations

import pytest

from agent.testing import EventScript, ScriptedSession
from tests.agent.scripts import meeting_script


@pytest.fixture
async def session() -> ScriptedSession:
    script = meeting_script()
    script.say(
        "S1",
        "We need to discuss the budget again before the end of the month.",
        at=722.0,
        duration=4.0,
    )
    async with ScriptedSession(script, duration=800.0) as s:
        yield s  # type: ignore[misc]


async def test_what_was_said_at_minute_12(session: ScriptedSession) -> None:
    result = await session.ask("What was said at minute 12?")
    result.expect.next_tool_call(name="session_info")
    result.expect.next_tool_call(name="transcript_between", arguments={"start": 720, "end": 780})
    result.expect.no_more_tool_calls()
    result.expect.contains_citation(
        at=723, kind="transcript", speaker="Bob", text="discuss the budget again"
    )
    result.expect.answer_contains(
        "Between 12:00 and 13:00", "[12:02] Bob: We need to discuss the budget again"
    )
    result.expect.reasoning_contains("'at minute 12'")
    assert len(result.answer.citations) == 1


async def test_what_was_said_at_a_clock_time(session: ScriptedSession) -> None:
    result = await session.ask("what was said at 0:17?")
    result.expect.contains_tool_call("transcript_at", {"time": 17, "before": 10, "after": 20})
    result.expect.contains_citation(at=17.0, speaker="Alice", text="two engineers")
    result.expect.answer_contains("Alice: We want to hire two engineers")


async def test_when_was_something_mentioned(session: ScriptedSession) -> None:
    result = await session.ask("When did someone mention the budget?")
    result.expect.contains_tool_call("search_passages", {"query": "budget"})
    result.expect.answer_contains(
        '"budget" came up 3 times', "at 00:00 by Bob", "at 00:05 by Alice", "at 12:02 by Bob"
    )
    for t in (0.5, 5.3, 722.0):
        result.expect.contains_citation(at=t, kind="transcript")


async def test_mentions_limited_to_a_time_range(session: ScriptedSession) -> None:
    result = await session.ask("was the budget mentioned in the first 30 seconds?")
    result.expect.answer_contains("2 times").answer_not_contains("12:02")


async def test_nobody_mentioned_it(session: ScriptedSession) -> None:
    result = await session.ask("when did anyone talk about the holidays")
    result.expect.answer_contains("I found nothing about 'holidays'", "The closest was")


async def test_who_said_a_phrase(session: ScriptedSession) -> None:
    result = await session.ask('Who said "action item"?')
    result.expect.contains_tool_call("search_passages", {"query": "action item"})
    result.expect.answer_matches(r"^Carol \(at 00:20\) said 'action item'")
    result.expect.contains_citation(at=20.5, speaker="Carol")


async def test_who_spoke_and_how_many(session: ScriptedSession) -> None:
    who = await session.ask("Who spoke?")
    who.expect.answer_contains("3 people spoke", "Bob", "Alice", "Carol")
    who.expect.contains_citation(kind="speaker", speaker="Carol")
    count = await session.ask("How many people spoke?")
    count.expect.answer_contains("3 people spoke in the whole session: Bob, Alice and Carol")
    in_range = await session.ask("who was speaking between 0:15 and 0:25?")
    in_range.expect.contains_tool_call("transcript_between", {"start": 15, "end": 25})
    in_range.expect.answer_contains("Alice and Carol spoke between 00:15 and 00:25")


async def test_who_spoke_most_and_least(session: ScriptedSession) -> None:
    most = await session.ask("Who spoke the most?")
    most.expect.answer_matches(r"^Bob spoke most in the whole session: 12 s of 24 s")
    least = await session.ask("who talked the least")
    least.expect.answer_matches(r"^Carol spoke least")
    first_half = await session.ask("who spoke most in the first 30 seconds")
    first_half.expect.answer_matches(r"^Alice spoke most between 00:00 and 00:30: 9 s")


async def test_sound_questions(session: ScriptedSession) -> None:
    bell = await session.ask("Was there a doorbell?")
    bell.expect.contains_tool_call("sound_events_between", {"label": "doorbell"})
    bell.expect.answer_contains("Yes: doorbell at 00:09-00:11")
    bell.expect.contains_citation(at=10.0, kind="sound", label="doorbell")
    phone = await session.ask("When did the phone ring?")
    phone.expect.contains_tool_call("sound_events_between", {"label": "phone"})
    phone.expect.answer_contains("phone ringing at 00:24-00:26").contains_citation(
        at=25.0, label="phone"
    )
    all_sounds = await session.ask("What sounds were heard?")
    all_sounds.expect.answer_contains("doorbell", "phone ringing")
    dog = await session.ask("was there a dog barking?")
    dog.expect.answer_contains("No: I heard no dog barking").no_citations()


async def test_mood(session: ScriptedSession) -> None:
    result = await session.ask("What was the mood?")
    result.expect.contains_tool_call("voice_traits_between")
    result.expect.answer_contains("mostly neutral", "2 of 4 readings", "Alice sounded sad at 00:05")
    result.expect.contains_citation(at=6.0, kind="voice", label="sad", speaker="Alice")
    end = await session.ask("how did Alice sound at the end?")
    end.expect.contains_tool_call("voice_traits_between", {"speaker": "S2"})


async def test_the_last_seconds_are_relative_to_the_end(session: ScriptedSession) -> None:
    result = await session.ask("What was said in the last 2 minutes?")
    result.expect.contains_tool_call("transcript_between", {"start": 680, "end": 800})
    result.expect.answer_contains("budget again")
    quiet = await session.ask("What was said in the last 30 seconds?")
    quiet.expect.answer_contains("Nothing was said between 12:50 and 13:20")


async def test_what_happened_includes_sounds(session: ScriptedSession) -> None:
    result = await session.ask("What happened between 0:05 and 0:20?")
    result.expect.contains_tool_call("sound_events_between", {"start": 5, "end": 20})
    result.expect.answer_contains("Alice: The budget is tight", "Sounds: doorbell")


async def test_what_a_named_speaker_said(session: ScriptedSession) -> None:
    result = await session.ask("What did Carol say at the start?")
    result.expect.answer_contains("Carol: Action item").answer_not_contains("Alice: ", "Bob: ")


async def test_time_after_the_end(session: ScriptedSession) -> None:
    result = await session.ask("what was said at minute 40?")
    result.expect.answer_contains("only 13:20 long", "after its end").no_citations()


async def test_session_length(session: ScriptedSession) -> None:
    result = await session.ask("How long is the session?")
    result.expect.answer_contains("is 13:20 long", "13 events")


async def test_unknown_questions_say_what_can_be_answered(session: ScriptedSession) -> None:
    result = await session.ask("Hello?")
    result.expect.not_understood().answer_contains(
        "I did not understand", "when something was mentioned", "was there a doorbell"
    )
    result.expect.next_tool_call(name="session_info")
    result.expect.no_more_tool_calls()


async def test_content_questions_are_answered_from_the_transcript(session: ScriptedSession) -> None:
    result = await session.ask("What is the capital of France?")
    assert result.answer.understood
    result.expect.answer_contains("I found nothing about", "The closest was")
    empty = await session.ask("   ")
    empty.expect.not_understood()


async def test_turns_are_recorded_in_memory(session: ScriptedSession) -> None:
    await session.ask("Who spoke?")
    turns = session.memory.agent_turns(session.session_id)
    assert [t.question for t in turns] == ["Who spoke?"]
    assert turns[0].tool_calls[0]["name"] == "session_info"
    assert turns[0].citations and "start" in turns[0].citations[0]


async def test_an_empty_session() -> None:
    async with ScriptedSession(EventScript()) as empty:
        (await empty.ask("who spoke?")).expect.answer_contains("Nobody spoke")
        (await empty.ask("what was said?")).expect.answer_contains("Nothing was said")
        (await empty.ask("what was the mood?")).expect.answer_contains("No emotion was recorded")


async def test_harness_failures_show_the_run(session: ScriptedSession) -> None:
    result = await session.ask("Was there a doorbell?")
    with pytest.raises(
        AssertionError,
        match=r"expected tool call #1 to be 'speakers', got 'session_info'[\s\S]*--- run ---",
    ):
        result.expect.next_tool_call(name="speakers")
    with pytest.raises(AssertionError, match="no citation matching"):
        result.expect.contains_citation(at=300)
    with pytest.raises(AssertionError, match="answer does not contain 'giraffe'"):
        result.expect.answer_contains("giraffe")
    with pytest.raises(AssertionError, match="expected no more tool calls"):
        result.expect.no_more_tool_calls()
