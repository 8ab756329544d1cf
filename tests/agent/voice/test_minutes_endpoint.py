"""``GET /minutes?session=ID``: the minutes of a call's memory session, as the page reads
them. A real ``VoiceServer`` on loopback, a real aiortc call, real memory and minutes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from agent.voice.browser.endpoint import minutes_reader
from agent.voice.browser.server import Call, VoiceServer
from memory import Memory
from perception.events import TranscriptSegment

LINES = [
    (1.0, "S1", "Let's talk about the launch date."),
    (5.0, "S2", "We decided to move the launch to April."),
    (9.0, "S1", "Action item: Dana will send the slides by Friday."),
    (13.0, "S2", "Who books the room for the party? I'm not sure yet."),
    (18.0, "S1", "Let's meet again next Tuesday at ten."),
]


@pytest.fixture
def meeting(memory: Memory) -> str:
    session = memory.create_session("planning")
    memory.ingest(
        session.id,
        [TranscriptSegment(start=t, end=t + 3.0, speaker=s, text=text) for t, s, text in LINES],
    )
    memory.rename_speaker(session.id, "S2", "Alice")
    return session.id


class _RecordsInto:
    """A call handler whose calls are recorded in one memory session (as the assistant's
    would be), until the browser hangs up."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id

    async def __call__(self, call: Call) -> None:
        call.session_id = self.session_id
        await call.closed.wait()


@pytest.fixture
async def server(memory: Memory, meeting: str) -> AsyncIterator[VoiceServer]:
    server = VoiceServer(_RecordsInto(meeting), port=0, minutes=minutes_reader(memory))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _call(server: VoiceServer, http: aiohttp.ClientSession) -> RTCPeerConnection:
    """A browser-like call (microphone track and data channel) from aiortc, connected."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(AudioStreamTrack())
    pc.createDataChannel("events")
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"sdp": pc.localDescription.sdp, "type": "offer"}
    async with http.post(server.url + "offer", json=offer) as r:
        assert r.status == 200, await r.text()
        await pc.setRemoteDescription(RTCSessionDescription(**await r.json()))
    await _until(lambda: any(c.session_id for c in server.calls.values()))
    return pc


async def _until(condition: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _minutes(server: VoiceServer, http: aiohttp.ClientSession, session: str) -> Any:
    async with http.get(server.url + "minutes", params={"session": session}) as r:
        return r.status, await r.json()


async def test_the_minutes_of_a_call_are_served_with_times_and_speakers(
    server: VoiceServer, memory: Memory, meeting: str
) -> None:
    async with aiohttp.ClientSession() as http:
        # Before any call records it, the session's minutes are not this server's to give.
        status, body = await _minutes(server, http, meeting)
        assert status == 404 and meeting in body["error"]["message"]
        pc = await _call(server, http)
        try:
            status, minutes = await _minutes(server, http, meeting)
            assert status == 200
            assert minutes["session_id"] == meeting and minutes["through"] == pytest.approx(21.0)
            assert minutes["speakers"] == {"S1": "S1", "S2": "Alice"}
            assert [(d["time"], d["speaker"], d["text"]) for d in minutes["decisions"]] == [
                (5.0, "S2", "We decided to move the launch to April.")
            ]
            [action] = minutes["actions"]
            assert (action["time"], action["speaker"]) == (9.0, "S1")
            assert (action["owner"], action["deadline"]) == ("Dana", "by Friday")
            assert [q["time"] for q in minutes["open_questions"]] == [13.0]
            assert minutes["next_meeting"]["time"] == 18.0
            assert "Tuesday" in minutes["next_meeting"]["text"]
            assert minutes["disagreements"] == []
            assert minutes["topics"] and minutes["topics"][0]["start"] == 1.0
            # New speech is in the next read.
            memory.ingest(
                meeting,
                [TranscriptSegment(start=30.0, end=33.0, speaker="S2",
                                   text="We decided to hire a designer.")],
            )  # fmt: skip
            status, minutes = await _minutes(server, http, meeting)
            assert [d["time"] for d in minutes["decisions"]] == [5.0, 30.0]
        finally:
            await pc.close()
        # Once the call has ended, the page can still read its minutes.
        await _until(lambda: not server.calls)
        status, minutes = await _minutes(server, http, meeting)
        assert status == 200 and len(minutes["decisions"]) == 2
        # Other sessions in memory stay out of reach; a request must say which session.
        other = memory.create_session("someone else's meeting").id
        status, body = await _minutes(server, http, other)
        assert status == 404 and "no call of this server" in body["error"]["message"]
        async with http.get(server.url + "minutes") as r:
            assert r.status == 400 and "session" in (await r.json())["error"]["message"]


async def test_a_server_without_minutes_says_so() -> None:
    server = VoiceServer(_RecordsInto("x"), port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            status, body = await _minutes(server, http, "x")
        assert status == 404 and "keeps no minutes" in body["error"]["message"]
    finally:
        await server.stop()
