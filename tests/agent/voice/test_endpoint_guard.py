"""The browser endpoint against hostile pages and clients: Host and Origin checks, the token
on every route, JSON-only offers, offers that never connect, and no external ICE server.
A real ``VoiceServer`` on loopback, reached over real sockets (aiohttp, aiortc)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack

from agent.voice.browser.server import Call, VoiceServer

TOKEN = "s3cret"


class _Recorder:
    """A call handler that notes every call it is given."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, call: Call) -> None:
        self.calls.append(call.call_id)
        await call.closed.wait()


@pytest.fixture
async def server() -> AsyncIterator[VoiceServer]:
    server = VoiceServer(_Recorder(), port=0, token=TOKEN, connect_timeout=1.0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _offer_sdp() -> tuple[RTCPeerConnection, str]:
    """A real browser-like offer (microphone track + data channel) from aiortc."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(AudioStreamTrack())
    pc.createDataChannel("events")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def test_every_route_needs_the_token(server: VoiceServer) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for path in ("", "app.js", "health", "minutes?session=x"):
            async with http.get(server.url + path) as r:
                assert r.status == 401, path
                assert "token" in (await r.json())["error"]["message"]
            async with http.get(server.url + path + "?token=wrong") as r:
                assert r.status == 401, path
        async with http.get(
            server.url + "health", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as r:
            assert r.status == 200 and (await r.json())["calls"] == 0
        async with http.get(server.url + f"?token={TOKEN}") as r:
            assert r.status == 200 and "moss-agents voice assistant" in await r.text()
        async with http.get(server.url + "app.js") as r:  # the page's cookie
            assert r.status == 200


async def test_dns_rebinding_and_cross_site_requests_are_refused(server: VoiceServer) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        # A page on evil.example whose name now resolves to 127.0.0.1 sends its own Host.
        for host in (
            "evil.example",
            f"evil.example:{server.port}",
            f"127.0.0.1.evil.example:{server.port}",
        ):
            async with http.get(server.url + "health", headers={**auth, "Host": host}) as r:
                assert r.status == 403, host
        # A fetch from another site's tab carries that site's Origin.
        for origin in ("http://evil.example", f"http://localhost:{server.port + 1}", "null"):
            body = {"sdp": "v=0\r\n", "type": "offer", "token": TOKEN}
            async with http.post(server.url + "offer", json=body, headers={"Origin": origin}) as r:
                assert r.status == 403 and "cross-origin" in (await r.json())["error"]["message"], (
                    origin
                )
        # The page's own origin, under any loopback name, reaches the handler.
        for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
            headers = {**auth, "Host": host, "Origin": f"http://{host}"}
            async with http.get(server.url + "health", headers=headers) as r:
                assert r.status == 200, host


async def test_offers_must_be_application_json(server: VoiceServer) -> None:
    pc, sdp = await _offer_sdp()
    try:
        text = json.dumps({"sdp": sdp, "type": "offer", "token": TOKEN})
        async with aiohttp.ClientSession() as http:
            for content_type in (
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                async with http.post(
                    server.url + "offer", data=text, headers={"Content-Type": content_type}
                ) as r:
                    assert r.status == 415, content_type
        assert server.calls == {}
    finally:
        await pc.close()


async def test_offers_that_never_connect_are_released(server: VoiceServer) -> None:
    handler: Any = server.handler
    server.max_pending_offers = 5
    clients = []
    async with aiohttp.ClientSession() as http:
        for i in range(6):
            pc, sdp = await _offer_sdp()
            clients.append(pc)
            async with http.post(
                server.url + "offer", json={"sdp": sdp, "type": "offer", "token": TOKEN}
            ) as r:
                if i < 5:
                    assert r.status == 200 and (await r.json())["type"] == "answer"
                else:  # a flood of offers holds at most max_pending_offers peer connections
                    assert r.status == 503
            # the answer is never applied: this client never connects
    try:
        assert len(server.calls) == 5
        await asyncio.sleep(2.5)  # past connect_timeout (1 s)
        assert server.calls == {} and server._peers == {} and server._tasks == {}  # noqa: SLF001
        assert handler.calls == []  # no assistant session was ever started for them
    finally:
        for pc in clients:
            await pc.close()


async def test_no_external_ice_server_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    import aiortc.rtcicetransport as ice

    seen: list[Any] = []
    real = ice.Connection

    class Spy(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            seen.append(kwargs.get("stun_server"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(ice, "Connection", Spy)
    for ice_servers, expected in (((), None), (["stun:127.0.0.1:3478"], ("127.0.0.1", 3478))):
        server = VoiceServer(_Recorder(), port=0, ice_servers=ice_servers, connect_timeout=0.5)
        await server.start()
        pc, sdp = await _offer_sdp()
        try:
            seen.clear()
            body = {"sdp": sdp, "type": "offer"}
            async with (
                aiohttp.ClientSession() as http,
                http.post(server.url + "offer", json=body) as r,
            ):
                assert r.status == 200
            assert seen and all(s == expected for s in seen), seen
        finally:
            await pc.close()
            await server.stop()


async def test_idle_connections_are_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    import agent.voice.browser.server as endpoint

    monkeypatch.setattr(endpoint, "IDLE_TIMEOUT", 1.0)
    server = VoiceServer(_Recorder(), port=0)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), timeout=8) == b""  # the server hung up
        writer.close()
    finally:
        await server.stop()


async def test_without_a_token_loopback_names_and_same_origin_are_still_required() -> None:
    server = VoiceServer(_Recorder(), port=0)  # the default: loopback, no token
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url + "health", headers={"Host": "rebound.example"}) as r:
                assert r.status == 403
            body = {"sdp": "v=0\r\n", "type": "offer"}
            headers = {"Origin": "http://evil.example"}
            async with http.post(server.url + "offer", json=body, headers=headers) as r:
                assert r.status == 403
            async with http.get(server.url) as r:  # the page itself, no token needed
                assert r.status == 200
    finally:
        await server.stop()


async def test_a_local_proxy_name_can_be_allowed() -> None:
    server = VoiceServer(_Recorder(), port=0, allowed_hosts=["assistant.example"])
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url + "health", headers={"Host": "assistant.example"}) as r:
                assert r.status == 200
            async with http.get(server.url + "health", headers={"Host": "other.example"}) as r:
                assert r.status == 403
            # a TLS proxy forwards the page's origin and its own Host
            headers = {
                "Origin": "https://assistant.example",
                "X-Forwarded-Host": "assistant.example",
            }
            async with http.get(server.url + "health", headers=headers) as r:
                assert r.status == 200
    finally:
        await server.stop()
