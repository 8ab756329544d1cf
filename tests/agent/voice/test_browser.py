"""End to end in a real browser: Debian's chromium (headless, fake microphone playing
espeak-ng speech and a question) against ``moss-agent serve --webrtc`` on loopback, driven by Selenium."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from agent.bus.in_process import EventBus
from agent.reasoning.registry import get_reasoner
from agent.voice.browser.endpoint import call_handler, minutes_reader
from agent.voice.browser.server import VoiceServer
from agent.voice.livekit.assistant import VoiceAssistant
from perception import synthetic

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

STATEMENT = "We keep the printer in the basement."
QUESTION = "Who mentioned the basement?"


@pytest.fixture
async def endpoint(lite_backend, memory) -> AsyncIterator[tuple[str, object]]:
    """The WebRTC endpoint with the real assistant (lite perception, rules, espeak-ng)."""
    assistant = VoiceAssistant(lite_backend, memory, get_reasoner("rules"), bus=EventBus())
    server = VoiceServer(call_handler(assistant), port=0, minutes=minutes_reader(memory))
    await server.start()
    try:
        yield server.url, memory
    finally:
        await server.stop()


def _question_wav(path: Path) -> Path:
    pause = np.zeros(16_000, np.float32)
    audio = np.concatenate(
        [
            pause,
            synthetic.speak(STATEMENT, "en-gb+f3", words_per_minute=150),
            pause,
            synthetic.speak(QUESTION, "en-us", words_per_minute=150),
            pause,
        ]
    )
    sf.write(path, audio, 16_000, subtype="PCM_16")
    return path


def _chrome(tmp_path: Path, wav: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@pytest.mark.slow
async def test_browser_call_shows_question_and_answer_and_plays_it(
    endpoint, tmp_path: Path
) -> None:
    url, memory = endpoint
    # selenium is blocking: drive it from a thread while the endpoint runs on this loop
    driver = await asyncio.to_thread(_chrome, tmp_path, _question_wav(tmp_path / "question.wav"))
    try:
        await asyncio.to_thread(driver.get, url + "?autostart=1")
        state: dict = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = await asyncio.to_thread(driver.execute_script, "return window.mossState")
            if state["answers"] and state["answerAudioEnergy"] > 0 and state["minutes"]:
                break
            await asyncio.sleep(0.25)
        page = await asyncio.to_thread(lambda: driver.find_element("id", "conversation").text)
        events = await asyncio.to_thread(lambda: driver.find_element("id", "events").text)
    finally:
        await asyncio.to_thread(driver.quit)

    transcripts = [t["text"].lower() for t in state["transcripts"]]
    assert any("who mentioned" in t for t in transcripts), state
    assert state["answers"], state
    answer = state["answers"][0]
    assert "who mentioned" in answer["question"].lower()
    stored = [seg.text for seg in memory.transcript_between(memory.list_sessions()[0].id, 0, 60)]
    assert "basement" in answer["text"].lower() and "00:0" in answer["text"], (transcripts, stored)
    assert answer["citations"] and answer["reasoning"]
    # the page shows the transcribed question, the answer and the tool calls behind it
    assert "who mentioned" in page.lower() and answer["text"][:20] in page
    assert "search_passages" in events
    assert state["answerAudioEnergy"] > 0  # answer audio arrived on the WebRTC track

    # the call was recorded as a memory session, question and answer included
    sessions = memory.list_sessions()
    assert len(sessions) == 1 and sessions[0].source == "webrtc"
    assert (
        state["sessionId"] == sessions[0].id
        and sessions[0].title == f"browser call {sessions[0].id}"
    )
    # the page read the call's minutes from the server
    assert state["minutes"]["session_id"] == sessions[0].id and "decisions" in state["minutes"]
    turns = memory.agent_turns(sessions[0].id)
    assert turns and turns[0].answer == answer["text"]
    assert any("basement" in seg.text for seg in memory.transcript_between(sessions[0].id, 0, 60))
