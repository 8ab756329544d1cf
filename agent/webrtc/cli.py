"""``moss-agent serve --webrtc``: the voice assistant in a browser, no LiveKit server.

``serve`` belongs to perception (the OpenAI-compatible MOSS-Audio server); this module adds
the ``--webrtc`` flags to it and, when given, serves the voice endpoint instead. With
perception's commands trimmed from an install it declares ``serve`` itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    serve: argparse.ArgumentParser | None = sub.choices.get("serve")
    original: Callable[[argparse.Namespace], Any] | None = None
    if serve is None:
        serve = sub.add_parser("serve", help="serve the voice assistant (--webrtc)")
        serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
        serve.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    else:
        original = serve.get_default("func")
    group = serve.add_argument_group(
        "voice assistant in the browser (--webrtc)",
        "A page at http://HOST:PORT/ that talks to the assistant over WebRTC; every call is "
        "recorded as a memory session.",
    )
    def add(*flags: str, **kw: Any) -> None:
        # a flag serve already has (e.g. --db added later) is shared, not declared twice
        if flags[0] not in serve._option_string_actions:  # noqa: SLF001
            group.add_argument(*flags, **kw)

    add("--webrtc", action="store_true", help="serve the voice assistant page instead")
    add("--api-key", "--token", dest="api_key", metavar="KEY", default=os.environ.get("MOSS_AUDIO_API_KEY"),
        help="secret the page must present (?token=KEY); required off loopback")
    add("--ice-server", action="append", default=[], metavar="URL",
        help="STUN/TURN server for WebRTC, repeatable (default: none; calls on this network need none)")
    add("--allowed-host", action="append", default=[], metavar="NAME",
        help="a Host name to answer besides localhost/127.0.0.1 (e.g. behind a local TLS proxy), repeatable")
    add("--voice-backend", default="lite", choices=("lite", "moss", "remote"),
        help="perception backend for calls (default: lite)")
    add("--reasoner", default="rules", choices=("rules", "openai", "moss"),
        help="reasoner answering questions (default: rules)")
    add("--db", help="SQLAlchemy URL or SQLite file (default: $MOSS_AGENTS_DB or the user data dir)")
    add("--tts-voice", default="en-us", help="espeak-ng voice of the assistant (default: en-us)")
    add("--interim-transcripts", action="store_true",
        help="show words while they are spoken (lite backend; costs reply latency on small CPUs)")
    serve.set_defaults(func=lambda args: _dispatch(args, original))


def _dispatch(args: argparse.Namespace, original: Callable[[argparse.Namespace], Any] | None) -> int:
    if getattr(args, "webrtc", False):
        return _serve_webrtc(args)
    if original is None:
        from agent.cli import UsageError

        raise UsageError("nothing to serve: pass --webrtc (the perception server is not installed)")
    return int(original(args) or 0)


def _serve_webrtc(args: argparse.Namespace) -> int:
    import asyncio

    from agent.cli import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"port {args.port} is not between 0 and 65535")
    from agent.livekit.espeak import EspeakError, check_voice
    from agent.webrtc.server import ServerConfigError, VoiceServer, is_loopback

    if not is_loopback(args.host) and not args.api_key:
        raise UsageError(
            f"binding {args.host} puts a microphone endpoint on the network: add --token SECRET "
            "(open the page with ?token=SECRET) or bind 127.0.0.1"
        )
    try:
        check_voice(args.tts_voice)
    except EspeakError as exc:
        raise UsageError(str(exc)) from exc

    from agent.bus import EventBus
    from agent.livekit.assistant import VoiceAssistant
    from agent.reasoner import ReasonerError, get_reasoner
    from agent.webrtc.endpoint import call_handler, serve_forever
    from memory import MemoryStoreError, open_memory
    from perception.backend import BackendUnavailableError
    from perception.backends import get_backend

    try:
        memory = open_memory(args.db)
    except MemoryStoreError as exc:
        raise UsageError(str(exc)) from exc
    try:
        backend = get_backend(args.voice_backend)
        reasoner = get_reasoner(args.reasoner)
    except (BackendUnavailableError, ReasonerError, ValueError) as exc:
        memory.close()
        raise UsageError(str(exc)) from exc
    assistant = VoiceAssistant(
        backend, memory, reasoner, bus=EventBus(), voice=args.tts_voice,
        interim_transcripts=args.interim_transcripts,
    )  # fmt: skip
    try:
        server = VoiceServer(
            call_handler(assistant), host=args.host, port=args.port, token=args.api_key, ice_servers=args.ice_server,
            allowed_hosts=args.allowed_host,
        )
    except ServerConfigError as exc:
        raise UsageError(str(exc)) from exc

    def ready(url: str) -> None:
        suffix = "?token=..." if args.api_key else ""
        print(f"moss-agent serve: voice assistant at {url}{suffix} (memory: {memory.url})", file=sys.stderr)

    try:
        asyncio.run(serve_forever(server, on_ready=ready))
    except ServerConfigError as exc:
        raise UsageError(str(exc)) from exc
    except KeyboardInterrupt:
        pass
    finally:
        backend.close()
        memory.close()
    return 0
