"""``moss-agent serve``: the OpenAI-compatible perception server (see perception/server/).

``register_serve`` declares the command; other features add their own flags to the
parser it returns and routes through ``SERVE_EXTENSIONS`` (functions called with the
aiohttp app and the parsed arguments before the server starts).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

# Hooks run as hook(app, args) before serving; e.g. a WebRTC endpoint mounts its routes.
SERVE_EXTENSIONS: list[Callable[[Any, argparse.Namespace], None]] = []


def register_serve(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # noqa: SLF001
    p = sub.add_parser(
        "serve",
        help="serve MOSS-Audio perception over an OpenAI-compatible HTTP API",
        description=(
            "Serve the local MOSS-Audio model at /v1/chat/completions (SGLang's request shape: "
            "an audio_url content part plus text), /v1/models and /health."
        ),
    )
    p.add_argument("--checkpoint", metavar="DIR", help="MOSS-Audio checkpoint (default: $MOSS_AUDIO_CHECKPOINT)")
    p.add_argument("--tokenizer", metavar="DIR", help="tokenizer directory when the checkpoint has none")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    p.add_argument("--device", help="cuda, cuda:1 or cpu (default: cuda when present)")
    p.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), help="weights dtype")
    p.add_argument("--served-model-name", help="model id reported to clients (default: from the checkpoint)")
    p.add_argument("--max-batch", type=int, default=8, help="audio inputs per batch (default: 8)")
    p.add_argument("--batch-wait-ms", type=float, default=10.0, help="wait this long to fill a batch (default: 10)")
    p.add_argument(
        "--api-key", "--token", dest="api_key", metavar="KEY", default=os.environ.get("MOSS_AUDIO_API_KEY"),
        help="clients must send `Authorization: Bearer KEY` on every route; required off loopback "
        "(default: $MOSS_AUDIO_API_KEY; --token is the same option)",
    )
    p.add_argument(
        "--allowed-local-media-path", metavar="DIR",
        help="read audio given as a local path, only from files under DIR (default: local paths are refused)",
    )
    p.add_argument("--no-local-files", action="store_true", help="refuse audio given as local file paths (the default)")
    p.add_argument(
        "--idle-timeout", type=float, default=15.0, metavar="S",
        help="close a connection that sends nothing for S seconds, before or inside a request (default: 15)",
    )
    p.set_defaults(func=_serve)
    return p


def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from agent.cli import UsageError
    from perception.backend import BackendUnavailableError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"port {args.port} is not between 0 and 65535")
    if args.max_batch < 1 or args.batch_wait_ms < 0:
        raise UsageError("--max-batch must be >= 1 and --batch-wait-ms >= 0")
    if not args.idle_timeout > 0:
        raise UsageError("--idle-timeout must be more than 0 seconds")
    from perception.server.http import ServerConfigError, check_bind

    try:
        check_bind(args.host, args.api_key)
    except ServerConfigError as exc:
        raise UsageError(str(exc)) from exc
    media = None if args.no_local_files else args.allowed_local_media_path
    if media is not None and not os.path.isdir(media):
        raise UsageError(f"--allowed-local-media-path {media}: not a directory")
    from perception.backends.moss import MossBackend
    from perception.server.app import MossChatServer, serve

    try:
        backend = MossBackend(checkpoint=args.checkpoint, tokenizer=args.tokenizer, device=args.device, dtype=args.dtype)
        server = MossChatServer(
            backend, model_name=args.served_model_name, max_batch=args.max_batch,
            batch_wait=args.batch_wait_ms / 1000.0, allowed_local_media_path=media,
            api_key=args.api_key, idle_timeout=args.idle_timeout,
        )  # fmt: skip
    except BackendUnavailableError as exc:
        raise UsageError(str(exc)) from exc
    extensions = [lambda app, hook=hook: hook(app, args) for hook in SERVE_EXTENSIONS]

    # One line per refused request or vanished client, like an access log of the failures.
    server_log = logging.getLogger("perception.server")
    if server_log.getEffectiveLevel() > logging.INFO:
        server_log.setLevel(logging.INFO)

    def ready(url: str) -> None:
        sys.stderr.write(f"moss-agent serve: {server.model_name} listening on {url}\n")
        sys.stderr.flush()

    try:
        asyncio.run(serve(server, args.host, args.port, on_ready=ready, extensions=extensions))
    except OSError as exc:  # port taken, address not available
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    except KeyboardInterrupt:
        pass
    finally:
        backend.close()
    return 0
