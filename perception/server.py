"""An OpenAI-compatible chat-completions server over the local MOSS-Audio backend.

The request shape is SGLang's (the authors' serving path): a user message whose content
holds one ``{"type": "audio_url", "audio_url": {"url": ...}}`` part and text parts. The
answer comes back as ``choices[0].message.content``, the think block as
``reasoning_content``. So one GPU box can serve perception to many agents, and the
``remote`` backend talks to this server or to SGLang alike.

Requests that arrive together are batched: the same audio asked several questions (the
remote backend's three tasks per window) is encoded once and shares its prompt prefix;
different audio inputs run as one batch. Audio is taken from ``data:`` URLs or local files
only; http(s) URLs are never fetched.

A chat without audio runs the language model in text mode, with OpenAI ``tools``: they are
rendered into Qwen3's chat template and the model's ``<tool_call>`` blocks come back as
``tool_calls``, so an agent's tool loop (the ``openai`` reasoner) can run on this server.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import logging
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import numpy as np
from aiohttp import web

from perception.backend import SAMPLE_RATE, BackendError
from perception.parsers.reasoning import split_reasoning

if TYPE_CHECKING:
    from perception.backends.moss import MossBackend
    from perception.moss import GenerationConfig, GenerationResult

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MAX_BODY_BYTES = 64 * 1024 * 1024  # 120 s of 48 kHz stereo WAV, base64-encoded, fits
DEFAULT_MAX_TOKENS = 512
MAX_TOKENS_LIMIT = 8192
MAX_ARRIVAL_WAIT = 0.25  # longest a batch waits for requests still being received (s)


class RequestError(Exception):
    """A request the server cannot serve; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Sampling:
    """How a request wants its answer generated (OpenAI's sampling fields)."""

    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    seed: int | None
    stream: bool


@dataclass
class ChatRequest(Sampling):
    """A question about audio: what one chat-completions request asks of the model."""

    audio: np.ndarray
    question: str
    system: str | None

    @property
    def batch_key(self) -> tuple[Any, ...]:
        """Requests with equal keys can share one generate call."""
        return (self.system, self.max_tokens, self.temperature, self.top_p, self.top_k, self.seed)

    @property
    def audio_key(self) -> str:
        return hashlib.blake2b(self.audio.tobytes(), digest_size=16).hexdigest()


@dataclass
class TextChatRequest(Sampling):
    """A chat without audio (e.g. an agent's tool loop): the language model in text mode."""

    prompt: str  # the whole chat rendered with the chat template, tools included


_ROLES = ("system", "user", "assistant", "tool")


def _text_chat(body: dict[str, Any], messages: list[dict[str, Any]], sampling: dict[str, Any]) -> TextChatRequest:
    from perception.moss.chat_format import render_chat

    chat: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role not in _ROLES:
            raise RequestError(f"unknown message role {role!r}; use one of {', '.join(_ROLES)}")
        turn: dict[str, Any] = {"role": role, "content": _text_of(message.get("content"))}
        if role == "assistant" and message.get("tool_calls"):
            turn["tool_calls"] = [_tool_call_of(call) for call in message["tool_calls"]]
        chat.append(turn)
    tools = body.get("tools") or None
    if tools is not None and (not isinstance(tools, list) or not all(map(_is_function_tool, tools))):
        raise RequestError('`tools` must be a list of {"type": "function", "function": {"name": ...}}')
    choice = body.get("tool_choice")
    if choice not in (None, "auto", "none"):
        raise RequestError("tool_choice may be \"auto\" or \"none\" here; the model decides itself")
    return TextChatRequest(prompt=render_chat(chat, None if choice == "none" else tools), **sampling)


def _is_function_tool(tool: Any) -> bool:
    return (
        isinstance(tool, dict)
        and tool.get("type", "function") == "function"
        and isinstance(tool.get("function"), dict)
        and isinstance(tool["function"].get("name"), str)
    )


def _tool_call_of(call: Any) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise RequestError('each assistant tool call needs {"function": {"name": ..., "arguments": ...}}')
    arguments = function.get("arguments", "{}")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    return {"function": {"name": function["name"], "arguments": arguments}}


def parse_chat_request(
    body: Any, allow_local_files: bool = True, max_seconds: float = 120.0
) -> ChatRequest | TextChatRequest:
    """Validate a chat-completions body; raises ``RequestError`` saying what to fix. With
    audio in the last user message it is a question about the audio, else a text chat."""
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object with a `messages` list")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("`messages` must be a non-empty list of chat messages")
    if body.get("n", 1) not in (1, None):
        raise RequestError("only n=1 is supported")
    system = None
    user_parts: list[Any] = []
    for message in messages:
        if not isinstance(message, dict):
            raise RequestError("each message must be an object with `role` and `content`")
        role, content = message.get("role"), message.get("content")
        if role == "system":
            system = _text_of(content)
        elif role == "user":
            user_parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    sampling = {
        "max_tokens": _number(max_tokens, "max_tokens", int, 1, MAX_TOKENS_LIMIT),
        "temperature": _number(body.get("temperature", 0.0) or 0.0, "temperature", float, 0.0, 10.0),
        "top_p": _number(body.get("top_p", 1.0) or 1.0, "top_p", float, 1e-6, 1.0),
        "top_k": _number(body.get("top_k", 0) or 0, "top_k", int, 0, 1_000_000),
        "seed": None if body.get("seed") is None else _number(body["seed"], "seed", int, 0, 2**63 - 1),
        "stream": bool(body.get("stream", False)),
    }
    audio_parts = [p for p in user_parts if isinstance(p, dict) and p.get("type") in ("audio_url", "input_audio")]
    if not audio_parts:
        if any(_has_audio(m.get("content")) for m in messages):
            raise RequestError("put the audio in the last user message: earlier turns are text only")
        return _text_chat(body, messages, sampling)
    if len(audio_parts) > 1:
        raise RequestError("send one audio part per request (MOSS-Audio hears one input per prompt)")
    question = _text_of([p for p in user_parts if p not in audio_parts]).strip()
    if not question:
        raise RequestError("add a text part with the question to ask about the audio")
    audio = _audio_of(audio_parts[0], allow_local_files)
    seconds = len(audio) / SAMPLE_RATE
    if seconds > max_seconds:
        raise RequestError(
            f"the audio is {seconds:.1f} s; MOSS-Audio hears at most {max_seconds:.0f} s per input: split it"
        )
    return ChatRequest(audio=audio, question=question, system=system, **sampling)


def _has_audio(content: Any) -> bool:
    return isinstance(content, list) and any(
        isinstance(p, dict) and p.get("type") in ("audio_url", "input_audio") for p in content
    )


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def _number(value: Any, name: str, kind: type, low: float, high: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestError(f"`{name}` must be a number, got {value!r}")
    if kind is int and value != int(value):
        raise RequestError(f"`{name}` must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise RequestError(f"`{name}` must be between {low:g} and {high:g}, got {value!r}")
    return kind(value)


def _audio_of(part: dict[str, Any], allow_local_files: bool) -> np.ndarray:
    from perception.audio import AudioDecodeError, load_audio

    if part["type"] == "input_audio":  # OpenAI's own shape: base64 data + format
        inner = part.get("input_audio") or {}
        payload, suffix = _b64(inner.get("data")), "." + str(inner.get("format") or "wav")
        return _decode_bytes(payload, suffix)
    inner = part.get("audio_url")
    url = inner.get("url") if isinstance(inner, dict) else inner
    if not isinstance(url, str) or not url:
        raise RequestError("audio_url.url must be a data: URL or a local file path")
    if url.startswith("data:"):
        header, sep, data = url.partition(",")
        if not sep or ";base64" not in header:
            raise RequestError("data: URLs must be base64 encoded (data:audio/wav;base64,...)")
        return _decode_bytes(_b64(data), _suffix(header))
    scheme = urlparse(url).scheme
    if scheme in ("http", "https", "ftp", "s3", "gs"):
        raise RequestError(
            f"this server does not fetch {scheme} URLs; send the audio inline as a "
            "data:audio/wav;base64,... URL"
        )
    if not allow_local_files:
        raise RequestError("this server does not read local files; send a data: URL")
    path = Path(unquote(urlparse(url).path) if scheme == "file" else url).expanduser()
    try:
        return load_audio(path)
    except AudioDecodeError as exc:
        raise RequestError(f"cannot decode the audio: {exc}") from exc


def _b64(data: Any) -> bytes:
    if not isinstance(data, str) or not data:
        raise RequestError("the audio data is empty; send base64-encoded audio file bytes")
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise RequestError(f"the audio data is not valid base64: {exc}") from exc


def _suffix(header: str) -> str:
    mime = header[5:].split(";")[0].strip().lower()
    sub = mime.split("/")[-1] if "/" in mime else ""
    return "." + {"x-wav": "wav", "wave": "wav", "mpeg": "mp3", "x-flac": "flac"}.get(sub, sub or "wav")


def _decode_bytes(payload: bytes, suffix: str) -> np.ndarray:
    from perception.audio import AudioDecodeError, load_audio

    if not payload:
        raise RequestError("the audio data is empty")
    with tempfile.TemporaryDirectory(prefix="moss-serve-") as tmp:
        path = Path(tmp) / f"audio{suffix if suffix.isascii() and len(suffix) <= 6 else '.bin'}"
        path.write_bytes(payload)
        try:
            return load_audio(path)
        except AudioDecodeError as exc:
            raise RequestError(f"cannot decode the audio: {str(exc).replace(str(path), 'the audio')}") from exc


@dataclass
class _Job:
    request: ChatRequest
    future: asyncio.Future[GenerationResult]
    tokens: asyncio.Queue[int | None] | None = None  # streaming jobs get their tokens here


class MossChatServer:
    """Batches concurrent requests onto one model (one generate call at a time)."""

    def __init__(
        self,
        backend: MossBackend,
        model_name: str | None = None,
        max_batch: int = 8,
        batch_wait: float = 0.01,
        max_pending: int = 256,
        allow_local_files: bool = True,
    ) -> None:
        backend.require_tokenizer()
        self.backend = backend
        self.model_name = model_name or backend.model
        self.max_batch = max(1, max_batch)
        self.batch_wait = batch_wait
        self.allow_local_files = allow_local_files
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=max_pending)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moss-generate")
        self._worker: asyncio.Task[None] | None = None
        self._arriving = 0  # requests being received and decoded, not queued yet
        self._text_waiting = 0  # text chats waiting for or running on the model
        self.generate_calls = 0  # batches run, for monitoring
        self.requests = 0  # chat requests queued

    # --- app -------------------------------------------------------------------------

    def create_app(self, extensions: Sequence[Callable[[web.Application], None]] = ()) -> web.Application:
        """The aiohttp app; ``extensions`` may add routes (e.g. a WebRTC endpoint)."""
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/health", self._health)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        for extend in extensions:
            extend(app)
        return app

    async def _start(self, app: web.Application) -> None:
        self._worker = asyncio.create_task(self._run_batches())

    async def _stop(self, app: web.Application) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({
            "status": "ok", "model": self.model_name, "requests": self.requests,
            "batches": self.generate_calls, "queued": self._queue.qsize(),
        })  # fmt: skip

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({
            "object": "list",
            "data": [{"id": self.model_name, "object": "model", "created": 0, "owned_by": "moss-agents"}],
        })  # fmt: skip

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        # Counted from the first byte until queued, so that the batcher waits for requests
        # already on their way (e.g. the other tasks of the same window).
        self._arriving += 1
        try:
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                return _error(400, "the body is not valid JSON")
            except web.HTTPRequestEntityTooLarge:
                return _error(413, f"the request is larger than {MAX_BODY_BYTES // 2**20} MiB")
            try:
                chat = await asyncio.get_running_loop().run_in_executor(
                    None, parse_chat_request, body, self.allow_local_files, self.backend.max_window
                )
            except RequestError as exc:
                return _error(exc.status, str(exc))
            if not isinstance(chat, TextChatRequest):
                job = _Job(chat, asyncio.get_running_loop().create_future(), asyncio.Queue() if chat.stream else None)
                try:
                    self._queue.put_nowait(job)
                    self.requests += 1
                except asyncio.QueueFull:
                    return _error(503, "the server is busy; retry later", "server_busy")
        finally:
            self._arriving -= 1  # a text chat is not waited for by the audio batcher
        if isinstance(chat, TextChatRequest):
            return await self._text_chat(request, chat)
        if chat.stream:
            return await self._stream(request, job)
        try:
            result = await job.future
        except RequestError as exc:
            return _error(exc.status, str(exc))
        except Exception as exc:  # noqa: BLE001 - any model failure becomes a 500 with its message
            log.exception("generation failed")
            return _error(500, f"generation failed: {exc}", "server_error")
        return web.json_response(self._completion(chat, result))

    async def _text_chat(self, request: web.Request, chat: TextChatRequest) -> web.StreamResponse:
        # One at a time on the model's own thread, between the audio batches.
        if self._text_waiting >= self._queue.maxsize:
            return _error(503, "the server is busy; retry later", "server_busy")
        self._text_waiting += 1
        self.requests += 1
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.backend.generate_text, chat.prompt, self._config(chat)
            )
        except BackendError as exc:
            return _error(400, str(exc))
        except Exception as exc:  # noqa: BLE001 - any model failure becomes a 500 with its message
            log.exception("generation failed")
            return _error(500, f"generation failed: {exc}", "server_error")
        finally:
            self._text_waiting -= 1
        self.generate_calls += 1
        message, finish = _assistant_message(result)
        if chat.stream:
            return await self._stream_whole(request, message, finish)
        prompt_tokens = len(self.backend.processor.tokenizer.encode(chat.prompt, add_special_tokens=False))
        return web.json_response(self._response(message, finish, prompt_tokens, len(result.token_ids)))

    def _response(
        self, message: dict[str, Any], finish: str, prompt_tokens: int, completion_tokens: int
    ) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model_name,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    async def _stream_whole(
        self, request: web.Request, message: dict[str, Any], finish: str
    ) -> web.StreamResponse:
        """A finished text answer in OpenAI's chunk format (tool calls need the whole text)."""
        send, done = await self._event_stream(request)
        await send({"role": "assistant", "content": ""})
        if message.get("reasoning_content"):
            await send({"reasoning_content": message["reasoning_content"]})
        if message.get("content"):
            await send({"content": message["content"]})
        if message.get("tool_calls"):
            calls = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
            await send({"tool_calls": calls})
        await send({}, finish)
        return await done()

    # --- batching ----------------------------------------------------------------------

    async def _run_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self._queue.get()]
            # Gather more: what arrives within batch_wait, and what is still being received
            # (up to MAX_ARRIVAL_WAIT), up to max_batch different audio inputs (several
            # questions about one input cost little more than one).
            start = loop.time()
            while len({j.request.audio_key for j in jobs}) < self.max_batch and len(jobs) < 8 * self.max_batch:
                try:
                    jobs.append(self._queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                waited = loop.time() - start
                if self._arriving and waited < MAX_ARRIVAL_WAIT:
                    await asyncio.sleep(0.002)
                elif waited < self.batch_wait:
                    try:
                        jobs.append(await asyncio.wait_for(self._queue.get(), self.batch_wait - waited))
                    except TimeoutError:
                        break
                else:
                    break
            groups: dict[tuple[Any, ...], list[_Job]] = {}
            for job in jobs:
                groups.setdefault(job.request.batch_key, []).append(job)
            for group in groups.values():
                await self._run_group(loop, group)

    async def _run_group(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> None:
        by_audio: dict[str, list[_Job]] = {}
        for job in jobs:
            by_audio.setdefault(job.request.audio_key, []).append(job)
        ordered = [job for same in by_audio.values() for job in same]  # flattened result order
        audios = [same[0].request.audio for same in by_audio.values()]
        questions = [[job.request.question for job in same] for same in by_audio.values()]
        first = jobs[0].request
        config = self._config(first)

        def on_token(row: int, token: int) -> None:
            queue = ordered[row].tokens
            if queue is not None:
                loop.call_soon_threadsafe(queue.put_nowait, token)

        streaming = any(job.tokens is not None for job in jobs)
        self.generate_calls += 1
        try:
            nested = await loop.run_in_executor(
                self._executor, self._generate, audios, questions, first.system, config,
                on_token if streaming else None,
            )
        except BackendError as exc:
            _fail(ordered, RequestError(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - reported to every waiting request
            _fail(ordered, exc)
            return
        for job, result in zip(ordered, [r for row in nested for r in row], strict=True):
            if job.tokens is not None:
                job.tokens.put_nowait(None)
            if not job.future.done():
                job.future.set_result(result)

    def _generate(
        self, audios: list[np.ndarray], questions: list[list[str]], system: str | None,
        config: GenerationConfig, on_token: Callable[[int, int], None] | None,
    ) -> list[list[GenerationResult]]:  # fmt: skip
        return self.backend.generate(audios, questions, config, on_token=on_token, system=system)

    def _config(self, chat: Sampling) -> GenerationConfig:
        return self.backend.generation_config(
            max_new_tokens=chat.max_tokens,
            do_sample=chat.temperature > 0,
            temperature=chat.temperature if chat.temperature > 0 else 1.0,
            top_p=chat.top_p,
            top_k=chat.top_k,
            seed=chat.seed,
        )

    # --- responses ---------------------------------------------------------------------

    def _completion(self, chat: ChatRequest, result: GenerationResult) -> dict[str, Any]:
        return self._response(
            _plain_message(result), result.finish_reason, self._prompt_tokens(chat), len(result.token_ids)
        )

    def _prompt_tokens(self, chat: ChatRequest) -> int:
        from perception.moss import audio_token_count

        processor = self.backend.processor
        n_audio = int(audio_token_count(len(chat.audio) // 160))
        return len(processor.build_prompt(chat.question, n_audio, chat.system))

    async def _stream(self, request: web.Request, job: _Job) -> web.StreamResponse:
        """Server-sent events in OpenAI's chunk format; think-block text goes out as
        ``reasoning_content`` deltas, the rest as ``content``."""
        send, done = await self._event_stream(request)
        await send({"role": "assistant", "content": ""})
        sent = {"reasoning": "", "answer": ""}
        tokens: list[int] = []
        async for token in _drain(job.tokens):
            tokens.append(token)
            for key, delta in self._deltas(tokens, sent, final=False):
                await send({"reasoning_content" if key == "reasoning" else "content": delta})
        try:
            result = await job.future
        except Exception as exc:  # noqa: BLE001 - the stream has started: report in-band
            return await done(error=str(exc))
        for key, delta in self._deltas(result.token_ids, sent, final=True):
            await send({"reasoning_content" if key == "reasoning" else "content": delta})
        await send({}, result.finish_reason)
        return await done()

    async def _event_stream(self, request: web.Request) -> tuple[Any, Any]:
        """``send(delta, finish)`` writing OpenAI chunks as server-sent events, and
        ``done(error=None)`` ending the stream."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        async def send(delta: dict[str, Any], finish: str | None = None) -> None:
            chunk = {
                "id": ident, "object": "chat.completion.chunk", "created": created, "model": self.model_name,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }  # fmt: skip
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        async def done(error: str | None = None) -> web.StreamResponse:
            if error is not None:
                await response.write(f"data: {json.dumps({'error': {'message': error}})}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
            return response

        return send, done

    def _deltas(self, tokens: list[int], sent: dict[str, str], final: bool) -> list[tuple[str, str]]:
        text = self.backend.processor.decode(tokens) or ""
        if not final and (text.endswith("\ufffd") or _partial_tag(text)):
            return []  # half a character or half a tag: wait for the next token
        reasoning, answer = split_reasoning(text)
        out = []
        for key, value in (("reasoning", reasoning), ("answer", answer)):
            if value.startswith(sent[key]) and len(value) > len(sent[key]):
                out.append((key, value[len(sent[key]):]))
                sent[key] = value
        return out


def _plain_message(result: GenerationResult) -> dict[str, Any]:
    """The answer as an OpenAI assistant message, its think block as ``reasoning_content``."""
    reasoning, answer = split_reasoning(result.text or "")
    return {"role": "assistant", "content": answer, "reasoning_content": reasoning or None}


def _assistant_message(result: GenerationResult) -> tuple[dict[str, Any], str]:
    """The OpenAI assistant message of a text-mode answer, and its finish reason: the
    model's ``<tool_call>`` blocks become ``tool_calls`` when every one of them parses
    (otherwise the text stays as it is, so the client can show the model its mistake)."""
    from perception.moss.chat_format import parse_tool_calls

    message = _plain_message(result)
    calls, rest = parse_tool_calls(message["content"])
    if not calls or any(call.error for call in calls):
        return message, result.finish_reason
    message["content"] = rest or None
    message["tool_calls"] = [
        {
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {
                "name": call.name,
                "arguments": call.arguments
                if isinstance(call.arguments, str)
                else json.dumps(call.arguments, ensure_ascii=False),
            },
        }
        for call in calls
    ]
    return message, "tool_calls"


def _partial_tag(text: str) -> bool:
    tail = text[-9:]
    return any(tail.endswith(tag[:i]) for tag in ("<think>", "</think>") for i in range(1, len(tag)))


async def _drain(queue: asyncio.Queue[int | None] | None) -> AsyncIterator[int]:
    while queue is not None:
        token = await queue.get()
        if token is None:
            return
        yield token


def _fail(jobs: list[_Job], exc: Exception) -> None:
    for job in jobs:
        if job.tokens is not None:
            job.tokens.put_nowait(None)
        if not job.future.done():
            job.future.set_exception(exc)


def _error(status: int, message: str, kind: str = "invalid_request_error") -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "code": status}}, status=status)


async def serve(
    server: MossChatServer,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    on_ready: Callable[[str], None] | None = None,
    extensions: Sequence[Callable[[web.Application], None]] = (),
) -> None:
    """Run until cancelled. ``on_ready`` gets the base URL (``http://host:port/v1``) once
    the socket is bound (port 0 picks a free port)."""
    runner = web.AppRunner(server.create_app(extensions), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    url = f"http://{host}:{bound}/v1"
    log.info("serving %s on %s", server.model_name, url)
    if on_ready is not None:
        on_ready(url)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
