"""The voice assistant behind the local WebRTC endpoint: one ``AgentSession`` per browser call.

``call_handler(assistant)`` is the glue between ``VoiceServer`` (transport) and
``VoiceAssistant`` (STT/LLM/TTS, memory, bus): the call's microphone and answer tracks
become the session's audio I/O, and everything the assistant hears, thinks and says is
sent to the page on the data channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from agent.voice.browser.server import Call, CallHandler, VoiceServer
from agent.voice.livekit.assistant import VoiceAssistant

logger = logging.getLogger(__name__)


def call_handler(assistant: VoiceAssistant) -> CallHandler:
    """Run ``assistant`` for one WebRTC call until the browser hangs up."""

    async def handle(call: Call) -> None:
        # the call's id is its session's id: the title names the session `sessions` lists
        record = await assistant.new_call(
            title=f"browser call {call.call_id}", source="webrtc", session_id=call.call_id
        )
        record.sinks.append(call.send)
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
