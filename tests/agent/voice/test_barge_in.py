"""Barge-in: the user speaking stops the assistant's playback."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from livekit import rtc

from agent.reasoning.registry import get_reasoner
from agent.voice.browser.media import TRACK_SAMPLE_RATE, AnswerAudioTrack, TrackAudioOutput
from agent.voice.livekit.assistant import VoiceAssistant
from perception import synthetic
from perception.events import TranscriptSegment
from tests.agent.voice.fakes import PacedOutput, SpeechInput


async def _until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s"
        await asyncio.sleep(0.05)


async def test_talking_over_a_long_answer_stops_it(lite_backend, memory) -> None:
    assistant = VoiceAssistant(lite_backend, memory, get_reasoner("rules"))
    call = await assistant.new_call("barge-in")
    lines = [
        "Good morning everyone, let's start with the budget for the next quarter.",
        "The budget is tight, we spent most of it on the new servers.",
        "Let's move on to the hiring plan, we want two engineers before March.",
        "Alice will write the job description by Friday, that is an action item.",
    ]
    memory.ingest(call.session_id, [
        TranscriptSegment(session_id=call.session_id, start=5.0 * i, end=5.0 * i + 4.0, text=t, speaker=f"S{i % 2 + 1}")
        for i, t in enumerate(lines)
    ])  # fmt: skip
    session, agent = assistant.make_session(call, close_transcript_timeout=0.1)
    pause = np.zeros(8_000, np.float32)
    speech = SpeechInput(
        np.concatenate(
            [pause, synthetic.speak("What happened so far?", "en-us", words_per_minute=150), pause]
        )
    )
    output = PacedOutput()
    session.input.audio = speech
    session.output.audio = output
    await session.start(agent)
    try:
        await _until(lambda: output.first_frame_wall is not None, timeout=40)
        await asyncio.sleep(1.0)
        assert not output.played  # the long answer is still playing
        speech.say(
            synthetic.speak("Wait, stop, stop talking please.", "en-gb+f3", words_per_minute=150)
        )
        await _until(lambda: output.interrupted >= 1, timeout=15)
    finally:
        await session.aclose()
        await assistant.end_call(call)
    played, queued, interrupted = output.played[0]
    assert interrupted and played < queued - 1.0
    assert played < 4.0  # stopped about when the user started talking, not at the end


async def test_clearing_the_answer_track_silences_it_at_once() -> None:
    track = AnswerAudioTrack()
    output = TrackAudioOutput(track)
    finished = []
    output.on("playback_finished", finished.append)
    tone = (
        np.sin(np.arange(TRACK_SAMPLE_RATE * 3) * 2 * np.pi * 440 / TRACK_SAMPLE_RATE) * 8000
    ).astype(np.int16)
    await output.capture_frame(rtc.AudioFrame(tone.tobytes(), TRACK_SAMPLE_RATE, 1, len(tone)))
    output.flush()
    heard = []
    for _ in range(25):  # 0.5 s of playback, paced in real time
        heard.append(np.abs((await track.recv()).to_ndarray()).max())
    output.clear_buffer()
    after = [np.abs((await track.recv()).to_ndarray()).max() for _ in range(5)]
    await asyncio.sleep(0.05)
    assert min(heard) > 1000 and max(after) == 0
    assert len(finished) == 1 and finished[0].interrupted
    assert 0.4 < finished[0].playback_position < 0.8
