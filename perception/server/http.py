"""The HTTP edge of ``moss-agent serve``: errors as OpenAI error objects, the API key,
and reading bodies within a size and an idle time.

Every answer that is not a completion is ``{"error": {"message", "type", "code"}}`` with a
4xx status for a client's fault (unknown route, wrong method, malformed body, missing
key) and one log line; a client that goes away mid-answer is one log line too.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from perception.server.requests import RequestError

log = logging.getLogger("perception.server")

API_KEY_ENV = "MOSS_AUDIO_API_KEY"
IDLE_TIMEOUT = 15.0  # seconds a connection may send nothing (before or inside a request)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ServerConfigError(ValueError):
    """The server was asked to start in an unsafe or impossible way."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to put the model on the network without a key."""
    if not is_loopback(host) and not api_key:
        raise ServerConfigError(
            f"binding {host} puts the model on the network: add --api-key KEY "
            f"(or set {API_KEY_ENV}) and send `Authorization: Bearer KEY`, or bind 127.0.0.1"
        )


def error_response(status: int, message: str, kind: str | None = None) -> web.Response:
    """An OpenAI-style error object."""
    kind = kind or ("invalid_request_error" if status < 500 else "server_error")
    return web.json_response(
        {"error": {"message": message, "type": kind, "code": status}}, status=status
    )


_HTTP_MESSAGES = {
    404: "no such route; the API is POST /v1/chat/completions, GET /v1/models and GET /health",
    405: "method not allowed on this route",
    413: "the request is too large",
}


def error_middleware() -> Middleware:
    """aiohttp's own refusals (404, 405, 413, ...) and anything unexpected as JSON errors;
    a client that disconnects is one log line, not a traceback."""

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
            if request.transport is None or request.transport.is_closing():
                log.info(
                    "%s %s: the client went away before the answer", request.method, request.path
                )
            return response
        except RequestError as exc:
            log.info("%s %s: %d %s", request.method, request.path, exc.status, exc)
            return error_response(exc.status, str(exc))
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            message = _HTTP_MESSAGES.get(exc.status, exc.reason)
            log.info("%s %s: %d %s", request.method, request.path, exc.status, message)
            response = error_response(exc.status, message)
            if exc.status == 405 and "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        except ConnectionResetError:  # aiohttp's own write errors derive from it
            log.info(
                "%s %s: the client went away before the answer was sent",
                request.method,
                request.path,
            )
            return web.Response(status=499)  # never sent: aiohttp drops it quietly

    return errors


def auth_middleware(api_key: str | None) -> Middleware:
    """With a key, every route needs ``Authorization: Bearer KEY`` (like vLLM and SGLang)."""
    expected = (api_key or "").encode()

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if expected:
            scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                offered.strip().encode(), expected
            ):
                log.info("%s %s: 401 missing or wrong API key", request.method, request.path)
                response = error_response(
                    401, "missing or wrong API key: send `Authorization: Bearer KEY`"
                )
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
        return await handler(request)

    return auth


async def read_body(request: web.Request, max_bytes: int, idle_timeout: float) -> bytes:
    """The whole body, refusing more than ``max_bytes`` (413) and a client that stops
    sending for ``idle_timeout`` seconds (408)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise RequestError(f"the request is larger than {max_bytes // 2**20} MiB", 413)
    parts: list[bytes] = []
    size = 0
    while True:
        try:
            block = await asyncio.wait_for(request.content.readany(), idle_timeout)
        except TimeoutError:
            raise RequestError(f"the body stopped arriving for {idle_timeout:g} s", 408) from None
        if not block:
            return b"".join(parts)
        size += len(block)
        if size > max_bytes:
            raise RequestError(f"the request is larger than {max_bytes // 2**20} MiB", 413)
        parts.append(block)


__all__ = [
    "API_KEY_ENV",
    "IDLE_TIMEOUT",
    "ServerConfigError",
    "auth_middleware",
    "check_bind",
    "error_middleware",
    "error_response",
    "is_loopback",
    "read_body",
]
