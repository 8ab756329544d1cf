"""``moss-agent serve --webrtc`` as a user starts it: it says it is loading before the
models load, logs each call, and records the call under a session whose id is the one in
its title. A real aiortc peer places the call (a silent microphone) on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
import pytest

from memory import open_memory

REPO = Path(__file__).resolve().parents[3]
MOSS_AGENT = ["-c", "import sys; from agent.cli import main; sys.exit(main())"]


def _start(db: str) -> tuple[subprocess.Popen[str], list[str], str]:
    command = [sys.executable, *MOSS_AGENT, "serve", "--webrtc", "--port", "0", "--db", db]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    lines: list[str] = []
    ready = threading.Event()
    url: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            if "voice assistant at " in line and not url:
                url.append(line.split("voice assistant at ", 1)[1].split()[0])
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(180):
        process.kill()
        pytest.fail("serve --webrtc did not start:\n" + "\n".join(lines))
    return process, lines, url[0]


async def _call(url: str) -> str:
    """Place one call, wait for the session id on the data channel, hang up."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(AudioStreamTrack())
    channel = pc.createDataChannel("events")
    session: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @channel.on("message")
    def on_message(text: str) -> None:
        message = json.loads(text)
        if message.get("type") == "session" and not session.done():
            session.set_result(message["session_id"])

    try:
        await pc.setLocalDescription(await pc.createOffer())
        body = {"sdp": pc.localDescription.sdp, "type": "offer"}
        async with aiohttp.ClientSession() as http, http.post(url + "offer", json=body) as response:
            assert response.status == 200, await response.text()
            answer = await response.json()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
        return await asyncio.wait_for(session, 60)
    finally:
        await pc.close()


@pytest.mark.slow
async def test_serve_says_it_is_loading_logs_each_call_and_names_the_session(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    process, lines, url = await asyncio.to_thread(_start, db)
    try:
        loading = next(
            i for i, line in enumerate(lines) if "loading the lite perception backend" in line
        )
        listening = next(i for i, line in enumerate(lines) if "voice assistant at" in line)
        assert loading < listening  # said before the models load, not after
        session_id = await _call(url)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            "recorded as session" in line for line in lines
        ):
            await asyncio.sleep(0.1)
        log = "\n".join(lines)
        assert f"call {session_id} started" in log, log
        assert f"call {session_id} recorded as session {session_id}" in log, log
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 20)
    with open_memory(db) as memory:
        sessions = memory.list_sessions()
    assert [(s.id, s.title) for s in sessions] == [(session_id, f"browser call {session_id}")]
