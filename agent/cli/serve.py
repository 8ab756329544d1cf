"""``moss-agent serve``: the OpenAI-compatible MOSS-Audio server (``perception.server``), or
with ``--webrtc`` the voice assistant in a browser (``agent.voice.browser``, no LiveKit).

Both listen on the same host and port defaults and take the same API key.
"""

from __future__ import annotations

import argparse
import os
import sys

from agent.cli.options import add_backend_option, add_db_option, add_reasoner_option
from perception.server import DEFAULT_HOST, DEFAULT_PORT


def register(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    p = sub.add_parser(
        "serve",
        help="serve MOSS-Audio perception over an OpenAI-compatible HTTP API",
        description=(
            "Serve the local MOSS-Audio model at /v1/chat/completions (SGLang's request shape: "
            "an audio_url content part plus text), /v1/models and /health."
        ),
    )
    p.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="MOSS-Audio checkpoint (default: $MOSS_AUDIO_CHECKPOINT)",
    )
    p.add_argument(
        "--tokenizer", metavar="DIR", help="tokenizer directory when the checkpoint has none"
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to bind (default: {DEFAULT_HOST}, this machine only)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)",
    )
    p.add_argument("--device", help="cuda, cuda:1 or cpu (default: cuda when present)")
    p.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), help="weights dtype")
    p.add_argument(
        "--served-model-name", help="model id reported to clients (default: from the checkpoint)"
    )
    p.add_argument("--max-batch", type=int, default=8, help="audio inputs per batch (default: 8)")
    p.add_argument(
        "--batch-wait-ms",
        type=float,
        default=10.0,
        help="wait this long to fill a batch (default: 10)",
    )
    p.add_argument(
        "--api-key",
        "--token",
        dest="api_key",
        metavar="KEY",
        default=os.environ.get("MOSS_AUDIO_API_KEY"),
        help="clients must send `Authorization: Bearer KEY` on every route (the browser page: "
        "?token=KEY); required off loopback (default: $MOSS_AUDIO_API_KEY; --token is the same option)",
    )
    p.add_argument(
        "--allowed-local-media-path",
        metavar="DIR",
        help="read audio given as a local path, only from files under DIR (default: local paths are refused)",
    )
    p.add_argument(
        "--no-local-files",
        action="store_true",
        help="refuse audio given as local file paths (the default)",
    )
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=15.0,
        metavar="S",
        help="close a connection that sends nothing for S seconds, before or inside a request (default: 15)",
    )
    browser = p.add_argument_group(
        "voice assistant in the browser (--webrtc)",
        "A page at http://HOST:PORT/ that talks to the assistant over WebRTC; every call is "
        "recorded as a memory session.",
    )
    browser.add_argument(
        "--webrtc", action="store_true", help="serve the voice assistant page instead"
    )
    browser.add_argument(
        "--ice-server", action="append", default=[], metavar="URL",
        help="STUN/TURN server for WebRTC, repeatable (default: none; calls on this network need none)",
    )  # fmt: skip
    browser.add_argument(
        "--allowed-host", action="append", default=[], metavar="NAME",
        help="a Host name to answer besides localhost/127.0.0.1 (e.g. behind a local TLS proxy), repeatable",
    )  # fmt: skip
    add_backend_option(
        browser, "--voice-backend", help="perception backend for calls (default: lite)"
    )
    add_reasoner_option(browser)
    add_db_option(browser)
    browser.add_argument(
        "--tts-voice", default="en-us", help="espeak-ng voice of the assistant (default: en-us)"
    )
    browser.add_argument(
        "--interim-transcripts", action="store_true",
        help="show words while they are spoken (lite backend; costs reply latency on small CPUs)",
    )  # fmt: skip
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    if args.webrtc:
        return _serve_webrtc(args)
    return _serve_perception(args)


def _serve_perception(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from agent.cli.errors import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"port {args.port} is not between 0 and 65535")
    if args.max_batch < 1 or args.batch_wait_ms < 0:
        raise UsageError("--max-batch must be >= 1 and --batch-wait-ms >= 0")
    if not args.idle_timeout > 0:
        raise UsageError("--idle-timeout must be more than 0 seconds")
    from perception.server.http import check_bind

    check_bind(args.host, args.api_key)
    media = None if args.no_local_files else args.allowed_local_media_path
    if media is not None and not os.path.isdir(media):
        raise UsageError(f"--allowed-local-media-path {media}: not a directory")
    from perception.backends.moss import MossBackend
    from perception.server.app import MossChatServer, serve

    backend = MossBackend(
        checkpoint=args.checkpoint, tokenizer=args.tokenizer, device=args.device, dtype=args.dtype
    )
    server = MossChatServer(
        backend, model_name=args.served_model_name, max_batch=args.max_batch,
        batch_wait=args.batch_wait_ms / 1000.0, allowed_local_media_path=media,
        api_key=args.api_key, idle_timeout=args.idle_timeout,
    )  # fmt: skip

    # One line per refused request or vanished client, like an access log of the failures.
    server_log = logging.getLogger("perception.server")
    if server_log.getEffectiveLevel() > logging.INFO:
        server_log.setLevel(logging.INFO)

    def ready(url: str) -> None:
        sys.stderr.write(f"moss-agent serve: {server.model_name} listening on {url}\n")
        sys.stderr.flush()

    try:
        asyncio.run(serve(server, args.host, args.port, on_ready=ready))
    except OSError as exc:  # port taken, address not available
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from exc
    except KeyboardInterrupt:
        pass
    finally:
        backend.close()
    return 0


def _serve_webrtc(args: argparse.Namespace) -> int:
    import asyncio

    from agent.cli.errors import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"port {args.port} is not between 0 and 65535")
    from agent.voice.browser.server import VoiceServer, is_loopback
    from agent.voice.espeak import check_voice

    if not is_loopback(args.host) and not args.api_key:
        raise UsageError(
            f"binding {args.host} puts a microphone endpoint on the network: add --token SECRET "
            "(open the page with ?token=SECRET) or bind 127.0.0.1"
        )
    check_voice(args.tts_voice)

    from agent.bus.in_process import EventBus
    from agent.reasoning.reasoner import ReasonerError
    from agent.reasoning.registry import get_reasoner
    from agent.voice.browser.endpoint import call_handler, minutes_reader, serve_forever
    from agent.voice.browser.server_log import announce_loading
    from agent.voice.livekit.assistant import VoiceAssistant
    from memory import open_memory
    from memory.semantic import load_models as load_search_models
    from perception.backend import BackendUnavailableError
    from perception.backends import get_backend

    memory = open_memory(args.db)
    announce_loading(args.voice_backend, args.reasoner)
    try:
        backend = get_backend(args.voice_backend)
        reasoner = get_reasoner(args.reasoner)
        load_search_models()  # the first question must not wait for them
    except (BackendUnavailableError, ReasonerError, ValueError) as exc:
        memory.close()
        raise UsageError(str(exc)) from exc
    assistant = VoiceAssistant(
        backend, memory, reasoner, bus=EventBus(), voice=args.tts_voice,
        interim_transcripts=args.interim_transcripts,
    )  # fmt: skip
    server = VoiceServer(
        call_handler(assistant), host=args.host, port=args.port, token=args.api_key,
        ice_servers=args.ice_server, allowed_hosts=args.allowed_host,
        minutes=minutes_reader(memory),
    )  # fmt: skip

    def ready(url: str) -> None:
        suffix = "?token=..." if args.api_key else ""
        print(
            f"moss-agent serve: voice assistant at {url}{suffix} (memory: {memory.url})",
            file=sys.stderr,
        )

    try:
        asyncio.run(serve_forever(server, on_ready=ready))
    except KeyboardInterrupt:
        pass
    finally:
        backend.close()
        memory.close()
    return 0
