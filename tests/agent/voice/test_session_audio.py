"""A whole call through LiveKit's ``AgentSession`` without a room: espeak-ng speech in,
our perception STT, the rules reasoner as LLM, espeak-ng TTS out, memory and bus behind."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from livekit.agents import llm as lk_llm

from agent.bus.in_process import EventBus
from agent.reasoning.registry import get_reasoner
from agent.voice.livekit.assistant import VoiceAssistant
from perception import synthetic
from tests.agent.voice.fakes import CaptureOutput, SpeechInput

STATEMENT = "We moved the servers to the new data center."
QUESTION = "Did you hear a doorbell?"


def _call_audio() -> np.ndarray:
    pause = np.zeros(16_000, np.float32)
    return np.concatenate(
        [
            pause[:8_000],
            synthetic.speak(STATEMENT, "en-gb+f3", words_per_minute=150),
            pause,
            synthetic.doorbell(),
            pause,
            synthetic.speak(QUESTION, "en-us", words_per_minute=150),
            pause,
        ]
    )


async def _wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s")
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_spoken_question_about_an_earlier_doorbell(lite_backend, memory) -> None:
    bus = EventBus()
    on_bus = bus.subscribe("moss/#", maxsize=10_000)
    assistant = VoiceAssistant(
        lite_backend, memory, get_reasoner("rules"), bus=bus, interim_transcripts=True
    )
    call = await assistant.new_call("doorbell call")
    messages: list[dict] = []
    call.sinks.append(messages.append)
    session, agent = assistant.make_session(call)
    transcripts: list = []
    interims: list = []
    session.on(
        "user_input_transcribed", lambda ev: (transcripts if ev.is_final else interims).append(ev)
    )

    speech = SpeechInput(_call_audio())
    output = CaptureOutput()
    session.input.audio = speech
    session.output.audio = output
    await session.start(agent)
    try:
        await _wait_for(lambda: output.segments >= 1, timeout=60)
        await asyncio.sleep(0.5)  # let the answer's bookkeeping land
    finally:
        await session.aclose()
        await assistant.end_call(call)

    # what the user said, transcribed by perception with speaker ids
    heard = " ".join(t.transcript.lower() for t in transcripts)
    assert "server" in heard and "doorbell" in heard
    # while the statement was still being spoken, an interim transcript of it came out
    assert call.stt.capabilities.interim_results
    assert any("moved" in ev.transcript.lower() for ev in interims), interims
    # finals are the engine's: diarised, and the same segments are in memory
    assert all(t.speaker_id for t in transcripts)
    stored = memory.transcript_between(call.session_id, 0, 60)
    assert stored and all(seg.speaker for seg in stored)

    # the statement got no reply; the question got one answer, after tool calls
    history = session.history.items
    replies = [i for i in history if isinstance(i, lk_llm.ChatMessage) and i.role == "assistant"]
    assert len(replies) == 1
    calls = [i for i in history if isinstance(i, lk_llm.FunctionCall)]
    outputs = [i for i in history if isinstance(i, lk_llm.FunctionCallOutput)]
    assert "sound_events_between" in {c.name for c in calls}
    assert {o.call_id for o in outputs} == {c.call_id for c in calls}
    reply = replies[0].text_content or ""
    assert "chime" in reply.lower() or "doorbell" in reply.lower()
    assert "<think>" not in reply

    # the answer was spoken: real audio, not silence
    assert output.seconds > 1.0
    assert float(np.sqrt(np.mean(output.samples() ** 2))) > 0.02
    assert output.first_frame_wall is not None and speech.audio_end_wall is not None

    # everything went into memory and onto the bus, and the answer cites the sound
    kinds = {e.kind for e in memory.session_events(call.session_id)}
    assert {"transcript", "sound"} <= {str(k) for k in kinds}
    turns = memory.agent_turns(call.session_id)
    assert len(turns) == 1 and turns[0].citations
    assert any(c["kind"] == "sound" for c in turns[0].citations)
    assert on_bus.qsize() >= len(call.events) > 0
    answer_msgs = [m for m in messages if m["type"] == "answer"]
    assert answer_msgs and answer_msgs[0]["reasoning"] and answer_msgs[0]["citations"]
    assert (
        memory.read_audio(call.session_id, 0.5, 2.0).std() > 0.01
    )  # audio archived for re-listening

    # the question was said to the assistant: not evidence for later answers
    from agent.reasoning.ask import ask

    asked = [s for s in stored if "doorbell" in s.text.lower()]
    assert asked and call.llm.context.extras.get("addressed_spans")
    assert turns[0].session_time == pytest.approx(asked[0].start, abs=1.0)
    later = await ask(
        memory,
        call.session_id,
        "when did someone mention a doorbell?",
        get_reasoner("rules"),
        record=False,
    )
    assert not any(abs(c.start - s.start) < 0.5 for c in later.citations for s in asked), (
        later.answer
    )
    assert "I found nothing about 'doorbell'" in later.answer
