"""Who may talk to the browser endpoint: Host and Origin checks and the token.

The endpoint gives whoever reaches it a live microphone into this machine's memory, so:

- bound to loopback, it answers only requests whose ``Host`` is a loopback name or one the
  operator allows (``--allowed-host``, e.g. the name a local TLS proxy forwards): a web
  page on another site cannot rebind its own name to 127.0.0.1 and call in;
- a request with an ``Origin`` must come from the page this server serves, by its
  ``Host`` or a proxy's ``X-Forwarded-Host`` (no cross-site ``fetch`` from another tab:
  a page cannot add that header without a CORS preflight, which is never granted);
- with a token, every route needs it: ``Authorization: Bearer TOKEN``, ``?token=TOKEN`` on
  the page's URL (which then sets a same-site cookie for the page's own script), or that
  cookie. ``/offer`` also takes it in its JSON body, as the page sends it.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

logger = logging.getLogger(__name__)

COOKIE = "moss_agents_token"
LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "127.0.0.1", "::1"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def refusal(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "code": status}}, status=status)


def _hostname(host: str) -> str:
    """``host`` of a Host header or netloc, without its port (IPv6 brackets removed)."""
    try:
        return (urlsplit(f"//{host}").hostname or "").lower()
    except ValueError:
        return ""


def _same_origin(origin: str, host: str) -> bool:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def token_matches(offered: str | None, token: str) -> bool:
    return bool(offered) and hmac.compare_digest(str(offered).encode(), token.encode())


def request_token(request: web.Request) -> str | None:
    """The token a request presents outside its body, if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("token") or request.cookies.get(COOKIE)


def guard_middleware(
    token: str | None,
    loopback_only: bool,
    body_token_paths: frozenset[str] = frozenset({"/offer"}),
    allowed_hosts: frozenset[str] = frozenset(),
) -> Middleware:
    """Refuse requests from other hosts' names, other origins and without the token.
    Paths in ``body_token_paths`` check the token themselves (it may be in the body);
    ``allowed_hosts`` are names served besides the loopback ones."""
    names = LOOPBACK_NAMES | {name.lower() for name in allowed_hosts}

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if loopback_only and _hostname(request.host) not in names:
            logger.warning(
                "refused a request for host %r (only loopback names are served)", request.host
            )
            return refusal(403, "this endpoint answers only to localhost / 127.0.0.1")
        origin = request.headers.get("Origin")
        forwarded = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        if origin is not None and not any(
            _same_origin(origin, h) for h in (request.host, forwarded) if h
        ):
            logger.warning("refused a cross-origin request from %r to %s", origin, request.path)
            return refusal(403, "cross-origin requests are refused; open the page from this server")
        if (
            token
            and request.path not in body_token_paths
            and not token_matches(request_token(request), token)
        ):
            return refusal(401, "wrong or missing token: open the page with ?token=SECRET")
        response = await handler(request)
        if token and token_matches(request.query.get("token"), token):
            # the page's own script and calls then carry it without putting it in more URLs
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response

    return guard


__all__ = ["COOKIE", "guard_middleware", "refusal", "request_token", "token_matches"]
