"""The page in a real browser (Debian's chromium, headless), fed the messages a call sends
on its data channel: who said each line, what the events list shows, the session id, the
minutes it reads from the server, and how it shows a refused call."""

from __future__ import annotations

import asyncio
import time
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


# What the server's /minutes gives for the session (endpoint.minutes_reader's shape), with
# text that must be shown as text, not markup.
MINUTES: dict[str, Any] = {
    "session_id": SESSION_ID, "through": 75.0, "speakers": {"S1": "S1", "S2": "Alice"},
    "topics": [{"index": 0, "title": "Basement", "keywords": ["printer", "basement"], "start": 1.0, "end": 75.0,
                "speakers": ["S1", "S2"]}],
    "decisions": [{"time": 61.0, "speaker": "S2", "text": "We decided to keep the <b>printer</b> downstairs."}],
    "actions": [{"time": 65.0, "speaker": "S1", "text": "I'll label the cables.", "owner": "S2",
                 "deadline": "by Friday"}],
    "open_questions": [{"time": 70.0, "speaker": "S1", "text": "Who has the key?"}],
    "answered_questions": 1,
    "disagreements": [],
    "next_meeting": {"time": 74.0, "speaker": "S2", "text": "Let's meet again on Monday."},
    "method": "rules",
}  # fmt: skip
asked: list[str] = []


async def _never(call: object) -> None:
    raise AssertionError("no call expected")


async def _minutes(session_id: str) -> dict[str, Any]:
    asked.append(session_id)
    return MINUTES


@pytest.fixture
async def page_url(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    server = VoiceServer(_never, port=0, minutes=_minutes)
    # as if a call of this server had recorded the session
    monkeypatch.setattr(server, "recorded_sessions", lambda: {SESSION_ID})
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
        empty_minutes = driver.find_element("id", "minutes-empty").is_displayed()
        for message in MESSAGES:
            driver.execute_script("onMessage(arguments[0])", message)
        deadline = time.monotonic() + 10
        while driver.execute_script("return window.mossState.minutes") is None:
            assert time.monotonic() < deadline, "the page never read the minutes"
            time.sleep(0.05)
        text = lambda element_id: driver.find_element("id", element_id).text  # noqa: E731
        refusals = [
            driver.execute_async_script(
                "refusalMessage(new Response(arguments[0], {status: 403})).then(arguments[1])", body
            )
            for body in (
                '{"error": {"message": "wrong or missing token", "code": 403}}',
                "Bad gateway\n",
            )
        ]
        return {
            "empty_minutes": empty_minutes,
            "minutes": text("minutes").splitlines(),
            "minutes_heading": driver.find_element("css selector", "#minutes-section h2").text,
            "minutes_markup": driver.execute_script(
                "return document.querySelectorAll('#minutes b, #minutes script').length"
            ),
            "minutes_hint_shown": driver.find_element("id", "minutes-empty").is_displayed(),
            "refusals": refusals,
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


@pytest.mark.slow
async def test_page_shows_the_minutes_and_a_refusal_s_message(
    page_url: str, tmp_path: Path
) -> None:
    asked.clear()
    page = await asyncio.to_thread(_render, page_url, tmp_path / "profile")
    assert page["empty_minutes"] and not page["minutes_hint_shown"]
    assert asked and set(asked) == {SESSION_ID}  # read for the session the call announced
    assert page["minutes_heading"] == "Minutes (up to 1:15)"
    minutes = page["minutes"]
    for heading, line in [
        ("Decisions", "1:01Alice: We decided to keep the <b>printer</b> downstairs."),
        ("Action items", "1:05S1: I'll label the cables. (owner: Alice; due: by Friday)"),
        ("Open questions", "1:10S1: Who has the key?"),
        ("Next meeting", "1:14Alice: Let's meet again on Monday."),
        ("Topics", "0:01–1:15Basement (printer, basement)"),
    ]:
        assert minutes[minutes.index(heading) + 1] == line, minutes
    assert "Disagreements" not in minutes  # nothing to list, no empty heading
    assert page["minutes_markup"] == 0  # untrusted text never becomes markup
    # A refused offer shows the refusal's message, not its JSON.
    assert page["refusals"] == ["wrong or missing token", "Bad gateway"]
