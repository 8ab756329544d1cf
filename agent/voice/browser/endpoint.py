"""The voice assistant behind the local WebRTC endpoint: one ``AgentSession`` per browser call.

``call_handler(assistant)`` is the glue between ``VoiceServer`` (transport) and
``VoiceAssistant`` (STT/LLM/TTS, memory, bus): the call's microphone and answer tracks
become the session's audio I/O, and everything the assistant hears, thinks and says is
sent to the page on the data channel. ``minutes_reader(memory)`` gives the server the
minutes the page shows beside the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.voice.browser.server import Call, CallHandler, MinutesReader, VoiceServer
from agent.voice.livekit.assistant import VoiceAssistant

if TYPE_CHECKING:
    from memory import Memory

logger = logging.getLogger(__name__)


def call_handler(assistant: VoiceAssistant) -> CallHandler:
    """Run ``assistant`` for one WebRTC call until the browser hangs up."""

    async def handle(call: Call) -> None:
        # the call's id is its session's id: the title names the session `sessions` lists
        record = await assistant.new_call(
            title=f"browser call {call.call_id}", source="webrtc", session_id=call.call_id
        )
        record.sinks.append(call.send)
        call.session_id = record.session_id
        session, agent = assistant.make_session(record)
        session.input.audio = call.audio_input
        session.output.audio = call.audio_output
        call.send({"type": "session", "session_id": record.session_id})
        await session.start(agent)
        try:
            await call.closed.wait()
        finally:
            await session.aclose()
            await assistant.end_call(record)
            logger.info("call %s recorded as session %s", call.call_id, record.session_id)

    return handle


def minutes_reader(memory: Memory) -> MinutesReader:
    """The minutes of a session as the page reads them: what ``moss-agent minutes --json``
    prints (topics; decisions, action items, open questions, disagreements and the next
    meeting, each with its time and speaker), plus the session, how far into it the
    minutes reach and the speakers' names. Brought up to date with the speech recorded so
    far (``minutes_for``), in a worker thread."""

    def read(session_id: str) -> dict[str, Any] | None:
        from memory.minutes import minutes_for

        info = memory.find_session(session_id)
        if info is None or info.id != session_id:
            return None
        minutes = minutes_for(memory, session_id)
        return {
            "session_id": session_id,
            "through": minutes.through,
            "speakers": memory.speaker_names(session_id),
            **minutes.compact(),
        }

    async def reader(session_id: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(read, session_id)

    return reader


async def serve_forever(server: VoiceServer, on_ready: Callable[[str], None] | None = None) -> None:
    """Start ``server`` and run until SIGINT/SIGTERM."""
    await server.start()
    if on_ready is not None:
        on_ready(server.url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
