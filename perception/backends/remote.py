"""The remote backend: MOSS-Audio (or any audio chat model) behind an OpenAI-compatible server.

Works with ``moss-agent serve`` and with SGLang serving MOSS-Audio: each task is one
``/v1/chat/completions`` request whose user message holds the window as a WAV data URL
plus the task's question. Requests run concurrently (bounded), time out, and are retried
with exponential backoff when the server is unreachable, overloaded or failing (5xx,
429); answers that are not chat completions raise a clear error instead of passing
nonsense on. The think block (``reasoning_content`` or ``<think>``) never reaches the
parsers.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from perception.backend import (
    SAMPLE_RATE,
    BackendError,
    BackendUnavailableError,
    PerceptionBackend,
    Window,
)
from perception.events import Event
from perception.parsers import (
    DEFAULT_TASKS,
    PROMPTS,
    Task,
    choose_tasks,
    parse_task,
    split_reasoning,
)

log = logging.getLogger(__name__)

URL_ENV = "MOSS_AUDIO_URL"
API_KEY_ENV = "MOSS_AUDIO_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8000/v1"
_RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
_MIN_WINDOW_SAMPLES = 400


class RemoteProtocolError(BackendError):
    """The server answered, but not with an OpenAI chat completion."""


class RemoteBackend(PerceptionBackend):
    """Perception through an OpenAI-compatible chat-completions server with audio input.

    Options: ``url`` (base URL ending in /v1; default ``$MOSS_AUDIO_URL`` or
    http://127.0.0.1:8000/v1), ``model`` (default: the server's first model), ``api_key``
    (default ``$MOSS_AUDIO_API_KEY``), ``timeout`` (seconds per request), ``retries``,
    ``backoff`` (first retry delay, doubled each time, capped by ``max_backoff``),
    ``concurrency`` (requests in flight), ``max_tokens``, ``temperature``, ``tasks``.
    """

    name = "remote"
    max_batch = 4  # windows per analyze call (the base class's window sizes suit MOSS-Audio)

    def __init__(
        self,
        url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        concurrency: int = 4,
        max_tokens: int = 512,
        temperature: float = 0.0,
        tasks: Sequence[Task | str] | str = DEFAULT_TASKS,
        batch_size: int = 4,
    ) -> None:
        import httpx

        if concurrency < 1 or retries < 0 or timeout <= 0 or batch_size < 1 or max_tokens < 1:
            raise ValueError(
                "remote backend: concurrency, batch_size and max_tokens must be >= 1, "
                "retries >= 0 and timeout > 0"
            )
        self.url = (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"remote backend url {self.url!r} must start with http:// or https://")
        self.tasks = choose_tasks(tasks)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.timeout = float(timeout)
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)
        self.max_batch = int(batch_size)  # type: ignore[misc]  # the engine reads the instance
        self._served_model = model
        self._model_lock = threading.Lock()
        key = api_key or os.environ.get(API_KEY_ENV)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout, connect=min(connect_timeout, self.timeout)),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers=headers,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="remote-perception"
        )

    # --- PerceptionBackend --------------------------------------------------------------

    @property
    def model(self) -> str:  # type: ignore[override]
        """The served model's id (asked of the server on first use when not given)."""
        with self._model_lock:
            if self._served_model is None:
                self._served_model = self._discover_model()
            return self._served_model

    def analyze(self, windows: Sequence[Window]) -> list[list[Event]]:
        for window in windows:
            if window.duration > self.max_window + 1e-6:
                raise BackendError(
                    f"window {window.window_id} is {window.duration:.1f} s; MOSS-Audio hears at "
                    f"most {self.max_window:.0f} s at once: use a shorter window"
                )
        model = self.model
        jobs: list[tuple[int, Task, Future[str]]] = []
        for index, window in enumerate(windows):
            if len(window.samples) < _MIN_WINDOW_SAMPLES:
                continue
            audio_url = wav_data_url(window.samples)
            for task in self.tasks:
                future = self._pool.submit(self._ask_url, model, audio_url, PROMPTS[task])
                jobs.append((index, task, future))
        results: list[list[Event]] = [[] for _ in windows]
        try:
            for index, task, future in jobs:
                answer = future.result()
                window = windows[index]
                results[index].extend(
                    self.stamp(parse_task(task, answer, window.duration).events, window)
                )
        except BaseException:
            for _, _, future in jobs:
                future.cancel()
            raise
        return [sorted(events, key=lambda e: (e.start, e.end)) for events in results]

    def ask(self, samples: np.ndarray, question: str) -> str:
        if len(samples) > self.max_window * SAMPLE_RATE:
            raise BackendError(
                f"the clip is {len(samples) / SAMPLE_RATE:.1f} s; MOSS-Audio hears at most "
                f"{self.max_window:.0f} s at once: ask about a shorter stretch"
            )
        return self._ask_url(self.model, wav_data_url(samples), question)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    # --- HTTP ---------------------------------------------------------------------------

    def _ask_url(self, model: str, audio_url: str, question: str) -> str:
        body = {
            "model": model,
            "messages": [{
                "role": "user",
                "content": [
                    {"type": "audio_url", "audio_url": {"url": audio_url}},
                    {"type": "text", "text": question},
                ],
            }],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }  # fmt: skip
        data = self._request("POST", "/chat/completions", body)
        reasoning, answer = chat_answer(data, self.url)
        if reasoning:
            log.debug("remote reasoning (%d chars) dropped from the answer", len(reasoning))
        return answer

    def _discover_model(self) -> str:
        data = self._request("GET", "/models", None)
        models = data.get("data") if isinstance(data, dict) else None
        if (
            not isinstance(models, list)
            or not models
            or not isinstance(models[0], dict)
            or not models[0].get("id")
        ):
            raise RemoteProtocolError(
                f"{self.url}/models lists no model; pass model=NAME (`-o model=NAME`)"
            )
        return str(models[0]["id"])

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        """One API call with retries; returns the decoded JSON body."""
        import httpx

        url = self.url + path
        delay = self.backoff
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.request(method, url, json=body)
            except httpx.TimeoutException as exc:
                if last:
                    raise BackendUnavailableError(
                        f"no answer from {url} within {self.timeout:g} s ({attempt + 1} tries); "
                        "the server is overloaded or stuck: check it, or raise timeout=SECONDS"
                    ) from exc
                log.warning(
                    "%s timed out (try %d of %d); retrying in %.1f s",
                    url,
                    attempt + 1,
                    self.retries + 1,
                    delay,
                )
            except httpx.TransportError as exc:  # refused, reset, DNS, ...
                if last:
                    raise BackendUnavailableError(
                        f"cannot reach the perception server at {self.url} ({exc.__class__.__name__}: "
                        f"{exc or 'connection failed'}) after {attempt + 1} tries; start one with "
                        "`moss-agent serve --checkpoint DIR` (or SGLang), or pass url=URL"
                    ) from exc
                log.warning("%s unreachable (%s; try %d of %d); retrying in %.1f s", url, exc.__class__.__name__,
                            attempt + 1, self.retries + 1, delay)  # fmt: skip
            else:
                if response.status_code < 400:
                    return _json_of(response, url)
                message = _error_message(response)
                if response.status_code not in _RETRY_STATUSES:
                    raise BackendError(_status_advice(url, response.status_code, message))
                if last:
                    raise BackendError(
                        f"{url} kept failing: HTTP {response.status_code}: {message} "
                        f"({attempt + 1} tries); check the server's log"
                    )
                delay = max(delay, _retry_after(response))
                log.warning("%s answered HTTP %d (try %d of %d); retrying in %.1f s", url,
                            response.status_code, attempt + 1, self.retries + 1, delay)  # fmt: skip
            time.sleep(min(delay, self.max_backoff) * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")  # the loop returns or raises


def wav_data_url(samples: np.ndarray) -> str:
    """16 kHz mono float samples as a ``data:audio/wav;base64,...`` URL (16-bit PCM)."""
    import soundfile as sf

    buffer = io.BytesIO()
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    sf.write(buffer, clipped, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def chat_answer(data: Any, url: str = "the server") -> tuple[str, str]:
    """``(reasoning, answer)`` of a chat-completion JSON body; raises on anything else."""
    try:
        message = data["choices"][0]["message"]
        content = message.get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise RemoteProtocolError(
            f"{url} answered JSON that is not a chat completion (no choices[0].message): "
            f"{str(data)[:200]!r}; is it an OpenAI-compatible /v1 endpoint?"
        ) from None
    if content is not None and not isinstance(content, str):
        raise RemoteProtocolError(
            f"{url} answered a non-text message content: {str(content)[:200]!r}"
        )
    reasoning, answer = split_reasoning(content or "")
    extra = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(extra, str) and extra.strip():
        reasoning = (extra.strip() + ("\n" + reasoning if reasoning else "")).strip()
    return reasoning, answer


def _json_of(response: Any, url: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise RemoteProtocolError(
            f"{url} answered HTTP {response.status_code} with a body that is not JSON: "
            f"{response.text[:200]!r}; is it an OpenAI-compatible /v1 endpoint?"
        ) from None


def _error_message(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300].strip() or response.reason_phrase
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)[:300]
    if isinstance(data, dict) and "detail" in data:  # FastAPI-style servers
        return str(data["detail"])[:300]
    return str(error or data)[:300]


def _status_advice(url: str, status: int, message: str) -> str:
    if status in (401, 403):
        return (
            f"{url} refused the request (HTTP {status}: {message}); set api_key= or {API_KEY_ENV}"
        )
    if status == 404:
        return (
            f"{url} does not exist (HTTP 404: {message}); the url option must be the /v1 base URL"
        )
    return f"{url} rejected the request: HTTP {status}: {message}"


def _retry_after(response: Any) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", 0)))
    except ValueError:
        return 0.0
