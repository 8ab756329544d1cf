"""``moss-agent serve`` against a hostile client: a real server process on loopback (tiny
checkpoint) with an API key, an allowed media directory and a short idle timeout, reached
with real sockets."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
import pytest
import soundfile as sf
from aiohttp.test_utils import TestClient, TestServer

from perception.backends.moss import MossBackend
from tests.perception.conftest import ServeProcess, start_server
from tests.perception.tiny_moss import MOSS_AGENT, REPO_ROOT

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _wav(seconds: float = 1.0, rate: int = 16000, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    sf.write(
        buffer,
        (0.2 * rng.standard_normal(int(rate * seconds))).astype(np.float32),
        rate,
        format="WAV",
    )
    return buffer.getvalue()


def _raw_wav(rate: int, pcm: bytes) -> bytes:
    """A PCM WAV header declaring ``rate`` (any value, as a hostile client writes it)."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, (rate * 2) & 0xFFFFFFFF, 2, 16)
    return b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack("<I", 16) + fmt + \
        b"data" + struct.pack("<I", len(pcm)) + pcm  # fmt: skip


def _body(url: str, question: str = "What do you hear?", **extra: Any) -> dict[str, Any]:
    content = [{"type": "audio_url", "audio_url": {"url": url}}, {"type": "text", "text": question}]
    return {"messages": [{"role": "user", "content": content}], "max_tokens": 4, **extra}


def _data_url(data: bytes) -> str:
    return "data:audio/wav;base64," + base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def keyed(tokenizer_dir: Path, media_dir: Path) -> Iterator[ServeProcess]:
    """The server with a key given by the ``--token`` spelling (an alias of ``--api-key``)."""
    yield from start_server(
        tokenizer_dir,
        "--token",
        KEY,
        "--allowed-local-media-path",
        str(media_dir),
        "--idle-timeout",
        "2",
    )


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


# --- 1. a tiny body cannot cost gigabytes -------------------------------------------------


def test_tiny_declared_sample_rate_is_refused_in_bounded_memory(keyed: ServeProcess) -> None:
    pcm = (np.random.default_rng(1).standard_normal(13_500) * 3000).astype("<i2").tobytes()
    before = _peak_rss_mb(keyed.process.pid)
    for rate in (1, 0xFFFFFFFF):
        body = _raw_wav(rate, pcm)
        assert len(body) < 28_000
        r = httpx.post(
            keyed.url + "/chat/completions", json=_body(_data_url(body)), headers=AUTH, timeout=120
        )
        assert r.status_code == 400, r.text
        assert "sample rate" in r.json()["error"]["message"]
    assert _peak_rss_mb(keyed.process.pid) - before < 150  # was 3 GB for the 1 Hz body


# --- 2. the API key ----------------------------------------------------------------------


def test_every_route_needs_the_api_key(keyed: ServeProcess) -> None:
    base = keyed.url.removesuffix("/v1")
    chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        for method, path in (("GET", "/health"), ("GET", "/v1/health"), ("GET", "/v1/models"),
                             ("POST", "/v1/chat/completions"), ("GET", "/nowhere")):  # fmt: skip
            r = httpx.request(
                method, base + path, headers=headers, json=chat if method == "POST" else None
            )
            assert r.status_code == 401, (path, headers, r.text)
            assert r.json()["error"]["code"] == 401 and "API key" in r.json()["error"]["message"]
    assert httpx.get(base + "/health", headers=AUTH).json()["status"] == "ok"
    assert [m["id"] for m in httpx.get(base + "/v1/models", headers=AUTH).json()["data"]] == [
        "tiny-moss"
    ]
    r = httpx.post(base + "/v1/chat/completions", json=chat, headers=AUTH, timeout=60)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["role"] == "assistant"


def _serve_cli(*args: str, env_key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MOSS_AUDIO_CHECKPOINT", "MOSS_AUDIO_API_KEY")
    }
    if env_key is not None:
        env["MOSS_AUDIO_API_KEY"] = env_key
    return subprocess.run([*MOSS_AGENT, "serve", "--port", "0", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_binding_off_loopback_needs_an_api_key() -> None:
    refused = _serve_cli("--host", "0.0.0.0")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "--api-key" in refused.stderr and "Bearer" in refused.stderr
    # With a key (flag, alias or environment) the bind is allowed; it then stops at the
    # missing checkpoint, which is the next thing checked.
    for args, env_key in ((("--api-key", "k"), None), (("--token", "k"), None), ((), "k")):
        done = _serve_cli("--host", "0.0.0.0", *args, env_key=env_key)
        assert done.returncode == 2 and "MOSS_AUDIO_CHECKPOINT" in done.stderr, done.stderr


# --- 3. local files -----------------------------------------------------------------------


def test_local_paths_only_under_the_allowed_directory_with_one_refusal(
    keyed: ServeProcess, media_dir: Path, tmp_path: Path
) -> None:
    url = keyed.url + "/chat/completions"
    inside = media_dir / "clip.wav"
    inside.write_bytes(_wav())
    ok = httpx.post(url, json=_body(str(inside)), headers=AUTH, timeout=60)
    assert ok.status_code == 200, ok.text
    outside = tmp_path / "secret.wav"  # a real audio file, but not under the allowed directory
    outside.write_bytes(_wav())
    (media_dir / "link.wav").symlink_to(outside)
    (media_dir / "notes.txt").write_text("not audio")
    (media_dir / "folder").mkdir()
    refusals = [
        str(outside), outside.as_uri(), str(media_dir / "link.wav"), str(media_dir / "missing.wav"),
        str(media_dir / "notes.txt"), str(media_dir / "folder"),
        str(media_dir.joinpath(os.pardir, outside.name)),  # escapes the temp folder, on purpose
        "/etc/passwd", "/etc", "/no/such/file.wav", "clip.wav/../../" + outside.name,
    ]  # fmt: skip
    messages = set()
    for path in refusals:
        r = httpx.post(url, json=_body(path), headers=AUTH, timeout=60)
        assert r.status_code == 400, (path, r.text)
        messages.add(r.json()["error"]["message"])
    assert len(messages) == 1, messages  # nothing tells which paths exist


async def test_local_paths_are_refused_by_default(
    moss_tiny: tuple[Any, Any], tokenizer_dir: Path, tmp_path: Path
) -> None:
    from perception.server import MossChatServer

    model, processor = moss_tiny
    backend = MossBackend(
        model=model, processor=processor, tokenizer=tokenizer_dir, model_name="tiny"
    )
    clip = tmp_path / "clip.wav"
    clip.write_bytes(_wav())
    async with TestClient(
        TestServer(MossChatServer(backend).create_app())
    ) as client:  # a real loopback socket
        r = await client.post("/v1/chat/completions", json=_body(str(clip)))
        assert (
            r.status == 400 and "does not read local files" in (await r.json())["error"]["message"]
        )


# --- 5. malformed bodies, unknown routes, slow and vanishing clients -----------------------


@pytest.mark.parametrize(
    ("body", "match"),
    [(b"[" * 100_000 + b"]" * 100_000, "JSON"),
     (b"[" * 100_001 + b"]" * 100_001, "more than 100000 JSON objects and arrays"),
     (b'{"messages": [{"role": "user", "content": "hi"}], "x": ' + b"[" * 100 + b"]" * 100 + b"}",
      "nests JSON deeper than 64"),
     (b"{\"a\":" * 5_000 + b"1" + b"}" * 5_000, "nests JSON deeper"),
     (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1e400}', "`max_tokens` must be a finite"),
     (b'{"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": "AAAA"},'
      b' {"type": "text", "text": "what?"}]}]}', "`input_audio` must be an object"),
     (b'{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}', "`temperature` must be a number"),
     (b'{"messages": [' + b'{"role": "user", "content": "hi"},' * 1100 + b'{"role": "user", "content": "x"}]}',
      "at most 1024")],
    ids=["100k-deep-array", "100001-arrays", "100-deep-field", "5k-deep-object", "max_tokens-1e400",
         "input_audio-string", "string-temperature", "too-many-messages"],
)  # fmt: skip
def test_malformed_bodies_are_json_4xx(keyed: ServeProcess, body: bytes, match: str) -> None:
    before = len(keyed.log)
    r = httpx.post(keyed.url + "/chat/completions", content=body, timeout=60,
                   headers={**AUTH, "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (
        match in error["message"]
        and error["type"] == "invalid_request_error"
        and error["code"] == 400
    )
    time.sleep(0.5)  # the server's stderr is read by a thread
    new = keyed.log[before:]
    assert len(new) == 1 and " 400 " in new[0] and match in new[0], (
        new
    )  # one line in the server's log
    assert not any("Traceback" in line for line in keyed.log)


def test_unknown_routes_and_methods_are_json(keyed: ServeProcess) -> None:
    base = keyed.url.removesuffix("/v1")
    for method, path, status in (("GET", "/v1/nothing", 404), ("GET", "/v1/chat/completions", 405),
                                 ("DELETE", "/v1/models", 405)):  # fmt: skip
        r = httpx.request(method, base + path, headers=AUTH)
        assert r.status_code == status and r.headers["content-type"].startswith("application/json")
        assert r.json()["error"]["code"] == status


def _port(server: ServeProcess) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").removesuffix("/v1").rsplit(":", 1)
    return host, int(port)


def test_idle_and_half_sent_connections_are_closed(keyed: ServeProcess) -> None:
    address = _port(keyed)
    # Nothing sent at all, and a request line with half its headers: closed after ~2 s.
    for opening in (b"", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"):
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(opening)
            t0 = time.monotonic()
            assert sock.recv(1024) == b""  # the server hung up
            assert time.monotonic() - t0 < 8
    # Headers done, body stopped half-way: a 408 JSON error.
    with socket.create_connection(address, timeout=10) as sock:
        head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")  # fmt: skip
        sock.sendall(head.encode() + b'{"messages": [')
        reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 408") and b'"code": 408' in reply


async def test_a_client_that_drops_a_stream_is_one_log_line(keyed: ServeProcess) -> None:
    before = len(keyed.log)
    body = _body(_data_url(_wav(seed=3)), max_tokens=400, stream=True)
    body["messages"][0]["content"][1]["text"] = "Describe it at length."
    for _ in range(3):
        async with (
            aiohttp.ClientSession(headers=AUTH) as http,
            http.post(keyed.url + "/chat/completions", json=body) as r,
        ):
            assert r.status == 200
            await r.content.readline()  # the first chunk arrived: now go away
            r.connection.transport.abort()  # type: ignore[union-attr]
    await asyncio.sleep(3)
    new = keyed.log[before:]
    assert not any("Traceback" in line or "Error handling request" in line for line in new), (
        "".join(new)
    )
    went = [line for line in new if "went away" in line]
    assert 1 <= len(went) <= 3, "".join(new)


def test_the_remote_backend_sends_the_key(keyed: ServeProcess) -> None:
    from perception.backend import BackendError
    from perception.backends.remote import RemoteBackend

    clip = (0.1 * np.random.default_rng(4).standard_normal(16000)).astype(np.float32)
    with RemoteBackend(url=keyed.url, api_key=KEY, max_tokens=4, retries=1) as backend:
        assert isinstance(backend.ask(clip, "What do you hear?"), str)
    with (
        RemoteBackend(url=keyed.url, api_key="wrong", retries=1, backoff=0.01) as backend,
        pytest.raises(BackendError, match="401"),
    ):
        backend.ask(clip, "What do you hear?")


def test_a_client_that_leaves_before_the_answer_is_one_log_line(keyed: ServeProcess) -> None:
    before = len(keyed.log)
    body = json.dumps(_body(_data_url(_wav(seed=5)), max_tokens=200)).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(_port(keyed), timeout=10) as sock:
        sock.sendall(head.encode() + body)  # then hang up without reading the answer
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("went away" in x for x in keyed.log[before:]):
        time.sleep(0.2)
    new = keyed.log[before:]
    assert [line for line in new if "went away" in line] and len(new) == 1, new
    assert not any("Traceback" in line for line in new)
