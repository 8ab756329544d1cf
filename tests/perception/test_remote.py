"""The remote backend against a deliberately failing server (fault paths), and against a
real ``moss-agent serve`` process running the tiny parity checkpoint."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import numpy as np
import pytest

from perception.backend import BackendError, BackendUnavailableError, Window
from perception.backends import get_backend
from perception.backends.remote import RemoteBackend, RemoteProtocolError, chat_answer
from perception.events import SoundEvent, TranscriptSegment, VoiceTraits
from tests.perception.fault_server import FaultServer


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer().start()
    yield server
    server.stop()


def _windows(n: int = 2, seconds: float = 1.5) -> list[Window]:
    rng = np.random.default_rng(3)
    return [
        Window(
            "s", i, 60.0 * i, (0.2 * rng.standard_normal(int(16000 * seconds))).astype(np.float32)
        )
        for i in range(n)
    ]


def _backend(server: FaultServer, **options) -> RemoteBackend:  # type: ignore[no-untyped-def]
    options = {"retries": 2, "backoff": 0.01, "timeout": 5.0, **options}
    return RemoteBackend(url=server.url, **options)


def test_parsed_events_with_absolute_times(fault_server: FaultServer) -> None:
    fault_server.reset("ok")
    with _backend(fault_server) as backend:
        results = backend.analyze(_windows(2))
    assert fault_server.bad_requests == []
    assert fault_server.requests == 6  # 2 windows x 3 tasks
    for index, events in enumerate(results):
        base = 60.0 * index
        kinds = {type(e): e for e in events}
        assert set(kinds) == {TranscriptSegment, VoiceTraits, SoundEvent}
        assert (kinds[TranscriptSegment].start, kinds[TranscriptSegment].end) == (
            base + 0.5,
            base + 1.2,
        )
        assert kinds[TranscriptSegment].text == "Hello from the server."
        assert kinds[SoundEvent].label == "doorbell ringing"  # the <think> block was not parsed
        assert kinds[VoiceTraits].emotion == "cheerful"
        assert all(
            e.backend == "remote" and e.model == "fault-model" and e.window_id == index
            for e in events
        )


def test_retries_with_backoff_then_succeeds(fault_server: FaultServer) -> None:
    fault_server.reset("fail_then_ok", failures=2)
    with _backend(fault_server, tasks="sounds") as backend:
        [events] = backend.analyze(_windows(1))
    assert fault_server.requests == 3 and [e.label for e in events] == ["doorbell ringing"]


def test_persistent_500_is_a_clear_error(fault_server: FaultServer) -> None:
    fault_server.reset("always_500")
    with (
        _backend(fault_server, tasks="sounds") as backend,
        pytest.raises(BackendError, match="kept failing: HTTP 500.*3 tries"),
    ):
        backend.analyze(_windows(1))
    assert fault_server.requests == 3


def test_overload_429_is_retried(fault_server: FaultServer) -> None:
    fault_server.reset("overloaded")
    with (
        _backend(fault_server, retries=1) as backend,
        pytest.raises(BackendError, match="HTTP 429: slow down"),
    ):
        backend.ask(_windows(1)[0].samples, "Anything?")
    assert fault_server.requests == 2


@pytest.mark.parametrize(
    ("scenario", "error", "match"),
    [("bad_request", BackendError, "rejected the request: HTTP 400: audio is too long"),
     ("unauthorised", BackendError, "MOSS_AUDIO_API_KEY"),
     ("garbage", RemoteProtocolError, "not JSON.*proxy error page"),
     ("not_chat", RemoteProtocolError, "not a chat completion"),
     ("truncated", RemoteProtocolError, "not JSON")],
)  # fmt: skip
def test_client_errors_and_nonsense_are_not_retried(
    fault_server: FaultServer, scenario: str, error: type[Exception], match: str
) -> None:
    fault_server.reset(scenario)
    with _backend(fault_server) as backend, pytest.raises(error, match=match):
        backend.ask(_windows(1)[0].samples, "Anything?")
    assert fault_server.requests == 1


def test_timeout_is_retried_then_reported(fault_server: FaultServer) -> None:
    fault_server.reset("ok", delay=1.0)
    with (
        _backend(fault_server, timeout=0.2, retries=1) as backend,
        pytest.raises(BackendUnavailableError, match="no answer.*within 0.2 s.*timeout=SECONDS"),
    ):
        backend.ask(_windows(1)[0].samples, "Anything?")
    assert fault_server.requests == 2


def test_concurrency_is_bounded(fault_server: FaultServer) -> None:
    fault_server.reset("ok", delay=0.15)
    with _backend(fault_server, concurrency=2) as backend:
        results = backend.analyze(_windows(3))
    assert fault_server.requests == 9 and all(len(events) == 3 for events in results)
    assert fault_server.max_in_flight == 2


def test_server_down_is_a_clear_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = RemoteBackend(url=f"http://127.0.0.1:{port}/v1", model="m", retries=1, backoff=0.01)
    with (
        backend,
        pytest.raises(
            BackendUnavailableError, match="cannot reach the perception server.*moss-agent serve"
        ),
    ):
        backend.analyze(_windows(1))


def test_model_discovery_failure(fault_server: FaultServer) -> None:
    fault_server.reset("no_models")
    with (
        _backend(fault_server) as backend,
        pytest.raises(RemoteProtocolError, match="lists no model.*model=NAME"),
    ):
        backend.analyze(_windows(1))


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="must start with http"):
        RemoteBackend(url="localhost:8000/v1")
    with pytest.raises(ValueError, match="concurrency"):
        RemoteBackend(concurrency=0)


@pytest.mark.parametrize(
    ("message", "expected"),
    [({"content": "<think>a</think>b"}, ("a", "b")),
     ({"content": "b", "reasoning_content": "a"}, ("a", "b")),
     ({"content": None, "reasoning_content": "only thinking"}, ("only thinking", ""))],
)  # fmt: skip
def test_reasoning_is_split_off(message: dict, expected: tuple[str, str]) -> None:
    assert chat_answer({"choices": [{"message": message}]}) == expected


# --- against a real `moss-agent serve` -----------------------------------------------------


def test_remote_backend_against_serve(moss_server) -> None:  # type: ignore[no-untyped-def]
    backend = get_backend("remote", url=moss_server.url, max_tokens=4, retries=0)
    with backend:
        assert backend.model == "tiny-moss"
        windows = _windows(2)
        results = backend.analyze(windows)
        answer = backend.ask(windows[0].samples, "What do you hear?")
    assert isinstance(answer, str) and answer  # random weights: nonsense, but real text
    assert len(results) == 2
    for window, events in zip(windows, results, strict=True):
        assert all(window.start <= e.start <= e.end <= window.end for e in events)
        assert all(e.backend == "remote" and e.model == "tiny-moss" for e in events)


def test_remote_surfaces_the_servers_refusal(moss_server) -> None:  # type: ignore[no-untyped-def]
    backend = RemoteBackend(url=moss_server.url, retries=0)
    backend.max_window = 1e9  # let the client send what the server must refuse
    with backend, pytest.raises(BackendError, match="HTTP 400.*at most 120 s"):
        backend.ask(np.zeros(16000 * 121, np.float32), "Too long?")
