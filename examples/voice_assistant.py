"""A LiveKit voice assistant that listens with moss-agents perception and remembers the call.

Runs as a LiveKit agent server (worker) against your LiveKit server or LiveKit Cloud:

    export LIVEKIT_URL=wss://<your-project>.livekit.cloud   # or ws://127.0.0.1:7880
    export LIVEKIT_API_KEY=...  LIVEKIT_API_SECRET=...
    .venv/bin/python examples/voice_assistant.py dev        # or: start

Join the room from any LiveKit client (e.g. the Agents Playground) and talk; ask things like
"who mentioned the budget?" or "did you hear a doorbell?". Each room becomes a memory
session (``MOSS_AGENTS_DB`` or the default SQLite file), so ``moss-agent ask`` and
``moss-agent tui`` can question the call afterwards. Answers with their reasoning and
citations are also published on the room's data channel (topic ``moss.answers``).

Options through the environment: ``MOSS_VOICE_BACKEND`` (lite, moss, remote; default
lite), ``MOSS_VOICE_REASONER`` (rules, openai, moss; default rules), ``MOSS_TTS_VOICE``
(an espeak-ng voice; default en-us).
"""

from __future__ import annotations

import json
import logging
import os
import sys

from livekit.agents import AgentServer, JobContext, JobProcess, cli

logger = logging.getLogger("voice_assistant")


def prewarm(proc: JobProcess) -> None:
    """Load the perception and search models once per worker process, before any call arrives."""
    from memory.semantic import load_models
    from perception.backends import get_backend

    proc.userdata["backend"] = get_backend(os.environ.get("MOSS_VOICE_BACKEND", "lite"))
    load_models()


server = AgentServer(setup_fnc=prewarm)


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    from agent.bus.in_process import EventBus
    from agent.reasoning.registry import get_reasoner
    from agent.voice.livekit.assistant import VoiceAssistant
    from memory import open_memory

    memory = open_memory(os.environ.get("MOSS_AGENTS_DB"))
    assistant = VoiceAssistant(
        ctx.proc.userdata["backend"],
        memory,
        get_reasoner(os.environ.get("MOSS_VOICE_REASONER", "rules")),
        bus=EventBus(),
        voice=os.environ.get("MOSS_TTS_VOICE", "en-us"),
    )
    call = await assistant.new_call(title=f"livekit room {ctx.room.name}", source="livekit")

    async def publish_answer(message: dict) -> None:
        if message.get("type") == "answer":
            payload = json.dumps(message, default=str).encode()
            await ctx.room.local_participant.publish_data(payload, topic="moss.answers")

    call.sinks.append(publish_answer)
    session, agent = assistant.make_session(call)

    async def finish() -> None:
        await assistant.end_call(call)
        memory.close()
        logger.info("room %s recorded as memory session %s", ctx.room.name, call.session_id)

    ctx.add_shutdown_callback(finish)
    await session.start(agent=agent, room=ctx.room)


def _check_environment() -> None:
    wants_server = any(arg in ("dev", "start", "connect") for arg in sys.argv[1:])
    missing = [
        k for k in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET") if not os.environ.get(k)
    ]
    if wants_server and missing:
        sys.exit(
            f"voice_assistant: set {', '.join(missing)} (your LiveKit server or LiveKit Cloud "
            "project); for a browser call without LiveKit run `moss-agent serve --webrtc`"
        )


if __name__ == "__main__":
    _check_environment()
    cli.run_app(server)
