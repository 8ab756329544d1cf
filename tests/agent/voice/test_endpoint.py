"""The WebRTC endpoint's HTTP side and the ``serve --webrtc`` command's refusals."""

from __future__ import annotations

import aiohttp
import pytest

from agent.voice.browser.server import ServerConfigError, VoiceServer


async def _never(call) -> None:  # no call gets this far in these tests
    raise AssertionError("no call expected")


def test_binding_off_loopback_needs_a_token() -> None:
    with pytest.raises(ServerConfigError, match="--token"):
        VoiceServer(_never, host="0.0.0.0")
    VoiceServer(_never, host="0.0.0.0", token="s3cret")
    VoiceServer(_never, host="::1")


async def test_page_script_and_offer_checks() -> None:
    server = VoiceServer(_never, port=0, token="s3cret")
    await server.start()
    try:
        # a jar that keeps cookies of IP-address hosts, as browsers do
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            # the page opened with ?token= lets its own script load (a same-site cookie)
            async with http.get(server.url + "?token=s3cret") as r:
                assert r.status == 200 and "moss-agents voice assistant" in await r.text()
            async with http.get(server.url + "app.js") as r:
                assert r.status == 200 and "RTCPeerConnection" in await r.text()
            async with http.post(server.url + "offer", data="not json") as r:
                assert r.status == 415  # only application/json
            async with http.post(
                server.url + "offer", data="not json", headers={"Content-Type": "application/json"}
            ) as r:
                assert r.status == 400
            async with http.post(
                server.url + "offer", json={"sdp": "v=0", "type": "offer", "token": "wrong"}
            ) as r:
                assert r.status == 403 and "token" in await r.text()
            async with http.post(
                server.url + "offer", json={"sdp": "v=0\r\n", "type": "offer", "token": "s3cret"}
            ) as r:
                assert r.status == 400  # authorised, but not a usable offer
            async with http.get(
                server.url + "health", headers={"Authorization": "Bearer s3cret"}
            ) as r:
                assert (await r.json())["calls"] == 0
    finally:
        await server.stop()


async def test_port_in_use_is_a_clear_error() -> None:
    first = VoiceServer(_never, port=0)
    await first.start()
    try:
        second = VoiceServer(_never, port=first.port)
        with pytest.raises(ServerConfigError, match="another --port"):
            await second.start()
    finally:
        await first.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "--token"),
        (["--tts-voice", "no-such-voice"], "espeak-ng --voices"),
        (["--port", "70000"], "between 0 and 65535"),
    ],
)
def test_serve_webrtc_refuses_bad_input_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.cli import main

    assert main(["serve", "--webrtc", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
