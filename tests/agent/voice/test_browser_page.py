"""The page in a real browser (Debian's chromium, headless), fed the messages a call sends
on its data channel: who said each line, what the events list shows, the session id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.voice.browser.server import VoiceServer
from tests.agent.voice.test_browser import CHROMEDRIVER, CHROMIUM

SESSION_ID = "3f9c2a71be04"
MESSAGES: list[dict[str, Any]] = [
    {"type": "session", "session_id": SESSION_ID},
    {"type": "transcript", "text": "We keep the printer in the basement.", "final": True, "speaker": "S1",
     "start": 1.0},
    {"type": "transcript", "text": "Who mentioned the basement?", "final": True, "speaker": "S2", "start": 4.0},
    {"type": "transcript", "text": "Anyone there?", "final": True, "speaker": None, "start": 6.0},
    {"type": "event", "event": {"kind": "speaker", "speaker": "S1", "start": 1.0, "end": 3.5}},
    {"type": "event", "event": {"kind": "voice", "speaker": "S1", "start": 1.0, "end": 3.5,
                                "summary": "low pitch, calm", "emotion": None}},
    {"type": "event", "event": {"kind": "voice", "speaker": "S2", "start": 4.0, "end": 5.0, "summary": None}},
    {"type": "event", "event": {"kind": "sound", "label": "doorbell", "start": 5.0, "end": 6.0}},
    {"type": "answer", "text": "S1 mentioned the basement at 00:01.", "question": "Who mentioned the basement?",
     "reasoning": ["searched"], "citations": [{"start": 1.0, "end": 3.5, "speaker": "S1", "text": "basement"}]},
]  # fmt: skip


async def _never(call: object) -> None:
    raise AssertionError("no call expected")


@pytest.fixture
async def page_url() -> AsyncIterator[str]:
    server = VoiceServer(_never, port=0)
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


def _render(url: str, profile: Path) -> dict[str, Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.get(url)
        for message in MESSAGES:
            driver.execute_script("onMessage(arguments[0])", message)
        text = lambda element_id: driver.find_element("id", element_id).text  # noqa: E731
        return {
            "conversation": text("conversation").splitlines(),
            "events": text("events").splitlines(),
            "session": text("session"),
            "title": driver.title,
            "body": driver.find_element("tag name", "body").text,
        }
    finally:
        driver.quit()


@pytest.mark.slow
async def test_page_labels_speakers_shows_the_session_and_no_debug_text(
    page_url: str, tmp_path: Path
) -> None:
    page = await asyncio.to_thread(_render, page_url, tmp_path / "profile")
    conversation = page["conversation"]
    assert conversation[0] == "0:01S1: We keep the printer in the basement."
    assert conversation[1] == "0:04S2: Who mentioned the basement?"
    assert conversation[2] == "0:06someone: Anyone there?"
    assert conversation[3] == "assistant: S1 mentioned the basement at 00:01."
    assert not any(line.startswith("you:") or "you: " in line for line in conversation)
    # every event row says what it is: no bare "voice" or "speaker" rows
    assert page["events"] == ["0:01voice of S1: low pitch, calm", "0:05sound: doorbell"]
    assert page["session"] == f"session {SESSION_ID}" and SESSION_ID in page["title"]
    assert "Answer audio received" not in page["body"] and "energy" not in page["body"]
