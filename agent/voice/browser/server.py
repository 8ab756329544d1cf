"""The local WebRTC endpoint: an aiohttp server that hosts the page and answers SDP offers.

Each offer becomes a ``Call`` (its own peer connection, tracks, data channel and
assistant session, started once the connection is up; an offer that never connects is
dropped after ``connect_timeout``). ``GET /minutes?session=ID`` gives the page the
minutes of the memory session a call of this server records (or recorded), as JSON.
Binding to anything but loopback requires a token, because the page gives whoever
reaches it a live microphone into this machine's memory; ``guard`` checks Host, Origin
and the token on every route. No STUN/TURN server is contacted unless ``ice_servers``
names one (the assistant is local).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from aiohttp import web
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcdatachannel import RTCDataChannel

from agent.voice.browser.guard import guard_middleware, refusal, request_token, token_matches
from agent.voice.browser.media import AnswerAudioTrack, TrackAudioInput, TrackAudioOutput
from perception.server import DEFAULT_HOST, DEFAULT_PORT
from perception.server.http import ServerConfigError, is_loopback

logger = logging.getLogger(__name__)

_MAX_SDP_BYTES = 64 * 1024
DEFAULT_CONNECT_TIMEOUT = 30.0  # seconds an answered offer may take to connect
MAX_PENDING_OFFERS = 16  # answered offers not connected yet (each holds a peer connection)
IDLE_TIMEOUT = 15.0  # seconds an HTTP connection may send nothing
ENDED_SESSIONS_KEPT = 64  # sessions of ended calls whose minutes the page may still read


@dataclass
class Call:
    """One browser connection: media bridges plus a JSON side channel to the page."""

    call_id: str
    audio_input: TrackAudioInput
    audio_output: TrackAudioOutput
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    # the memory session recording this call, once the handler has one (its minutes are
    # served at /minutes?session=...)
    session_id: str | None = None
    _channel: RTCDataChannel | None = None
    _backlog: list[str] = field(default_factory=list)
    # every message sent, for logs and tests (bounded: the page keeps its own history)
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message to the page (queued until the data channel opens)."""
        text = json.dumps(message, default=str)
        self.sent.append(message)
        del self.sent[:-500]
        if self._channel is not None and self._channel.readyState == "open":
            self._channel.send(text)
        else:
            self._backlog.append(text)

    def attach_channel(self, channel: RTCDataChannel) -> None:
        self._channel = channel

        def flush_backlog() -> None:
            for text in self._backlog:
                channel.send(text)
            self._backlog.clear()

        if channel.readyState == "open":
            flush_backlog()
        else:
            channel.on("open", flush_backlog)


# Runs the assistant for one call until the call closes (or raises).
CallHandler = Callable[[Call], Awaitable[None]]
# The minutes of a memory session as JSON (see ``endpoint.minutes_reader``); ``None`` when
# the session is not in memory.
MinutesReader = Callable[[str], Awaitable[dict[str, Any] | None]]


class VoiceServer:
    """Serve the page and one assistant session per WebRTC connection."""

    def __init__(
        self,
        handler: CallHandler,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        token: str | None = None,
        ice_servers: Sequence[str] = (),
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_pending_offers: int = MAX_PENDING_OFFERS,
        allowed_hosts: Sequence[str] = (),
        minutes: MinutesReader | None = None,
    ) -> None:
        if not is_loopback(host) and not token:
            raise ServerConfigError(
                f"binding to {host} exposes a microphone endpoint to the network: "
                "pass --token SECRET (the page then needs ?token=SECRET), or bind 127.0.0.1"
            )
        self.handler = handler
        self.host = host
        self.port = port
        self.token = token
        self.ice_servers = list(ice_servers)  # e.g. ["stun:stun.example.org:3478"]; none by default
        self.connect_timeout = connect_timeout
        self.max_pending_offers = max_pending_offers
        self.allowed_hosts = frozenset(allowed_hosts)  # Host names served besides loopback ones
        self.minutes = minutes
        self.calls: dict[str, Call] = {}
        self._ended_sessions: OrderedDict[str, None] = OrderedDict()
        self._peers: dict[str, RTCPeerConnection] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._expiry: dict[str, asyncio.Task[None]] = {}
        self._runner: web.AppRunner | None = None
        self.app = self._build_app()

    def _build_app(self) -> web.Application:
        guard = guard_middleware(
            self.token, is_loopback(self.host), allowed_hosts=self.allowed_hosts
        )
        app = web.Application(client_max_size=_MAX_SDP_BYTES, middlewares=[guard])
        app.router.add_get("/", self._page)
        app.router.add_get("/app.js", self._script)
        app.router.add_get("/health", self._health)
        app.router.add_get("/minutes", self._minutes)
        app.router.add_post("/offer", self._offer)
        app.on_shutdown.append(self._on_shutdown)
        return app

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, keepalive_timeout=IDLE_TIMEOUT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise ServerConfigError(
                f"cannot listen on {self.host}:{self.port} ({exc.strerror}); pick another --port"
            ) from exc
        if self.port == 0:  # an ephemeral port: report the real one
            server = site._server  # noqa: SLF001
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = sockets[0].getsockname()[1]
        logger.info("voice endpoint listening on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- HTTP handlers -------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=_static("index.html"), content_type="text/html")

    async def _script(self, request: web.Request) -> web.Response:
        return web.Response(text=_static("app.js"), content_type="application/javascript")

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "calls": len(self.calls)})

    def recorded_sessions(self) -> set[str]:
        """Memory sessions of this server's calls: those going on and the last ended ones.
        Only their minutes are served: the page is no window onto the rest of memory."""
        live = {call.session_id for call in self.calls.values() if call.session_id}
        return live | set(self._ended_sessions)

    async def _minutes(self, request: web.Request) -> web.Response:
        session_id = request.query.get("session", "")
        if self.minutes is None:
            return refusal(404, "this server keeps no minutes")
        if not session_id:
            return refusal(400, "say which session: /minutes?session=ID")
        if session_id not in self.recorded_sessions():
            return refusal(404, f"no call of this server records session {session_id!r}")
        try:
            found = await self.minutes(session_id)
        except Exception as exc:
            logger.exception("could not read the minutes of session %s", session_id)
            return refusal(500, f"could not read the minutes: {exc}")
        if found is None:
            return refusal(404, f"session {session_id!r} is not in memory")
        return web.json_response(found)

    def _authorised(self, request: web.Request, body: dict[str, Any]) -> bool:
        if not self.token:
            return True
        return token_matches(str(body.get("token") or "") or request_token(request), self.token)

    async def _offer(self, request: web.Request) -> web.Response:
        if (
            request.content_type != "application/json"
        ):  # a form or text/plain post from another page
            return refusal(415, "send the offer as application/json: {sdp, type, token}")
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return refusal(400, "the body must be JSON: {sdp, type, token}")
        if (
            not isinstance(body, dict)
            or body.get("type") != "offer"
            or not isinstance(body.get("sdp"), str)
        ):
            return refusal(400, 'expected {"sdp": "...", "type": "offer"}')
        if not self._authorised(request, body):
            return refusal(403, "wrong or missing token: open the page with ?token=SECRET")
        if len(self._expiry) >= self.max_pending_offers:
            return refusal(503, "too many calls are still connecting; retry in a few seconds")
        try:
            answer = await self._accept(RTCSessionDescription(sdp=body["sdp"], type="offer"))
        except ValueError as exc:
            logger.warning("rejected an offer: %s", exc)
            return refusal(400, f"cannot use this offer: {exc}")
        return web.json_response({"sdp": answer.sdp, "type": answer.type})

    # --- calls ----------------------------------------------------------------------

    async def _accept(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        call_id = uuid.uuid4().hex[:12]
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in self.ice_servers])
        )
        answer_track = AnswerAudioTrack()
        mic: dict[str, TrackAudioInput] = {}
        channel_box: list[RTCDataChannel] = []

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "audio" and "in" not in mic:
                mic["in"] = TrackAudioInput(track)

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            channel_box.append(channel)
            if call_id in self.calls:
                self.calls[call_id].attach_channel(channel)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            logger.info("call %s: connection %s", call_id, pc.connectionState)
            if pc.connectionState == "connected":
                self._start_call(call_id)
            elif pc.connectionState in ("failed", "closed"):
                await self._close_call(call_id)

        try:
            await pc.setRemoteDescription(offer)
            if "in" not in mic:
                raise ValueError("the offer has no audio track: the page must send the microphone")
            pc.addTrack(answer_track)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception:
            await pc.close()
            raise
        call = Call(
            call_id=call_id, audio_input=mic["in"], audio_output=TrackAudioOutput(answer_track)
        )
        if channel_box:
            call.attach_channel(channel_box[0])
        self.calls[call_id] = call
        self._peers[call_id] = pc
        self._expiry[call_id] = asyncio.create_task(self._expire(call_id), name=f"expire-{call_id}")
        logger.info("call %s answered; waiting for it to connect", call_id)
        return pc.localDescription

    def _start_call(self, call_id: str) -> None:
        """The assistant session of a call, once its connection is up (so that offers that
        never connect cost no session)."""
        call = self.calls.get(call_id)
        if call is None or call_id in self._tasks:
            return
        expiry = self._expiry.pop(call_id, None)
        if expiry is not None:
            expiry.cancel()
        call.audio_input.start()
        self._tasks[call_id] = asyncio.create_task(self._run_call(call), name=f"call-{call_id}")
        logger.info("call %s started", call_id)

    async def _expire(self, call_id: str) -> None:
        await asyncio.sleep(self.connect_timeout)
        if call_id in self.calls and call_id not in self._tasks:
            logger.warning(
                "call %s did not connect within %g s; dropped", call_id, self.connect_timeout
            )
            self._expiry.pop(call_id, None)
            await self._close_call(call_id)

    async def _run_call(self, call: Call) -> None:
        try:
            await self.handler(call)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("call %s failed", call.call_id)
            call.send({"type": "error", "message": f"the assistant failed: {exc}"})
        finally:
            call.closed.set()

    async def _close_call(self, call_id: str) -> None:
        call = self.calls.pop(call_id, None)
        pc = self._peers.pop(call_id, None)
        task = self._tasks.pop(call_id, None)
        expiry = self._expiry.pop(call_id, None)
        if expiry is not None and expiry is not asyncio.current_task():
            expiry.cancel()
        if call is not None:
            call.closed.set()
            await call.audio_input.aclose()
            if call.session_id:
                self._ended_sessions[call.session_id] = None
                while len(self._ended_sessions) > ENDED_SESSIONS_KEPT:
                    self._ended_sessions.popitem(last=False)
        if task is not None and not task.done():
            # give the handler a moment to close its session (memory flush), then cancel
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), timeout=5.0)
            task.cancel()
        if pc is not None:
            await pc.close()
        if call is not None:
            logger.info("call %s closed", call_id)

    async def _on_shutdown(self, app: web.Application) -> None:
        await asyncio.gather(*(self._close_call(cid) for cid in list(self.calls)))


def _static(name: str) -> str:
    return (
        resources.files("agent.voice.browser").joinpath("static", name).read_text(encoding="utf-8")
    )
