"""Behaviour of the assistant in LiveKit's text mode: ``AgentSession.run(user_input=...)``
over a memory that already holds a call (events as perception stores them)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from livekit.agents import AgentSession

from agent.reasoning.answer import Answer, Citation
from agent.reasoning.reasoner import Reasoner
from agent.reasoning.registry import get_reasoner
from agent.voice.livekit.assistant import CallRecord, MossVoiceAgent, VoiceAssistant
from perception.events import SoundEvent, TranscriptSegment, Word
from tools.context import ToolContext


def _segment(sid: str, start: float, end: float, text: str, speaker: str) -> TranscriptSegment:
    words = text.split()
    step = (end - start) / len(words)
    return TranscriptSegment(
        session_id=sid,
        start=start,
        end=end,
        text=text,
        speaker=speaker,
        words=[
            Word(start=start + i * step, end=start + (i + 1) * step, text=w, speaker=speaker)
            for i, w in enumerate(words)
        ],
    )


@pytest.fixture
async def call_session(lite_backend, memory) -> AsyncIterator[tuple[AgentSession, CallRecord]]:
    assistant = VoiceAssistant(lite_backend, memory, get_reasoner("rules"))
    call = await assistant.new_call("text mode")
    sid = call.session_id
    memory.ingest(
        sid,
        [
            _segment(
                sid,
                0.5,
                4.0,
                "Good morning everyone. Let's start with the budget for the next quarter.",
                "Bob",
            ),
            _segment(
                sid,
                4.8,
                8.0,
                "The budget is tight. We spent most of it on the new servers.",
                "Alice",
            ),
            SoundEvent(session_id=sid, start=9.9, end=11.5, label="doorbell"),
            _segment(
                sid, 12.3, 15.0, "Someone is at the door. Let's move on to the hiring plan.", "Bob"
            ),
        ],
    )
    session, agent = assistant.make_session(call, close_transcript_timeout=0.1)
    await session.start(agent)
    try:
        yield session, call
    finally:
        await session.aclose()


async def test_doorbell_question_calls_the_sound_tool_and_cites_the_time(call_session) -> None:
    session, call = call_session
    result = await session.run(user_input="Was there a doorbell?")
    result.expect.contains_function_call(name="sound_events_between")
    result.expect.contains_function_call_output()
    message = result.expect[-1].is_message(role="assistant")
    text = message.event().item.text_content or ""
    assert "doorbell" in text and "00:09" in text
    assert any(
        c["kind"] == "sound" and c["start"] == pytest.approx(9.9)
        for c in call.answers[-1].citations
    )


async def test_who_mentioned_searches_the_transcript(call_session) -> None:
    session, _ = call_session
    result = await session.run(user_input="Who mentioned the servers?")
    result.expect.contains_function_call(
        name="search_passages", arguments={"query": "servers", "limit": 10}
    )
    text = result.expect[-1].is_message(role="assistant").event().item.text_content or ""
    assert "Alice" in text and "Bob" not in text


async def test_talk_that_is_not_a_question_gets_no_reply(call_session) -> None:
    session, call = call_session
    result = await session.run(user_input="Thanks everyone, that's all for today.")
    result.expect.no_more_events()
    assert call.answers == []


async def test_question_after_statements_is_answered_on_its_own(call_session) -> None:
    session, call = call_session
    result = await session.run(user_input="Okay, moving on. What was said in the first minute?")
    result.expect.contains_function_call(name="transcript_between")
    assert call.answers[-1].question == "What was said in the first minute?"


class _ThinkingReasoner(Reasoner):
    """Answers like a reasoning model that leaks its thoughts into the answer text."""

    name = "thinking"

    async def answer(self, question: str, ctx: ToolContext) -> Answer:
        return Answer(
            answer="<think>The user wants the doorbell; search sounds, SECRET plan.</think>It rang at 0:09.",
            reasoning=["looked at sounds"],
            citations=[Citation(start=9.9, end=11.5, kind="sound", label="doorbell")],
        )


async def test_reasoning_never_reaches_the_spoken_text(lite_backend, memory) -> None:
    assistant = VoiceAssistant(lite_backend, memory, _ThinkingReasoner())
    call = await assistant.new_call("thinking")
    session, agent = assistant.make_session(call, close_transcript_timeout=0.1)
    assert isinstance(agent, MossVoiceAgent)
    await session.start(agent)
    try:
        result = await session.run(user_input="When did the doorbell ring?")
        text = result.expect[-1].is_message(role="assistant").event().item.text_content or ""
    finally:
        await session.aclose()
    assert text.strip() == "It rang at 0:09."
    assert call.answers[-1].reasoning == ["looked at sounds"]  # kept for the page and memory
    assert "SECRET" not in str(call.answers[-1].to_message()["text"])


async def test_a_question_it_cannot_place_gets_one_short_sentence(call_session) -> None:
    session, call = call_session
    result = await session.run(user_input="Hello?")
    text = result.expect[-1].is_message(role="assistant").event().item.text_content or ""
    assert text.count(".") + text.count(";") <= 2 and "I can answer questions about" not in text
    assert text.startswith("Sorry, I could not place that question")


async def test_a_follow_up_in_the_call_resolves_that(call_session) -> None:
    session, call = call_session
    await session.run(user_input="What was said about the servers?")
    result = await session.run(user_input="Who said that?")
    text = result.expect[-1].is_message(role="assistant").event().item.text_content or ""
    assert "Alice" in text
