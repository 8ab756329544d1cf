"""An OpenAI-compatible chat-completions server over the local MOSS-Audio backend.

The request shape is SGLang's (the authors' serving path): a user message whose content
holds one ``{"type": "audio_url", "audio_url": {"url": ...}}`` part and text parts. The
answer comes back as ``choices[0].message.content``, the think block as
``reasoning_content``. So one GPU box can serve perception to many agents, and the
``remote`` backend talks to this server or to SGLang alike.

Requests that arrive together are batched: the same audio asked several questions (the
remote backend's three tasks per window) is encoded once and shares its prompt prefix;
different audio inputs run as one batch. Audio is taken from ``data:`` URLs (or local files
under a directory the operator allows, see ``media``); http(s) URLs are never fetched.
Bodies are validated by the pydantic models of ``requests``; the HTTP edge (API key,
errors, timeouts) is ``http``.

A chat without audio runs the language model in text mode, with OpenAI ``tools``: they are
rendered into Qwen3's chat template and the model's ``<tool_call>`` blocks come back as
``tool_calls``, so an agent's tool loop (the ``openai`` reasoner) can run on this server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from aiohttp import web

from perception.backend import BackendError
from perception.parsers.reasoning import split_reasoning
from perception.server import DEFAULT_HOST, DEFAULT_PORT
from perception.server.http import (
    IDLE_TIMEOUT,
    auth_middleware,
    check_bind,
    error_middleware,
    error_response,
    read_body,
)
from perception.server.parse import parse_chat_request
from perception.server.requests import (
    MAX_BODY_BYTES,
    ChatRequest,
    RequestError,
    Sampling,
    TextChatRequest,
    load_json_body,
)

if TYPE_CHECKING:
    from perception.backends.moss import MossBackend
    from perception.moss import GenerationConfig, GenerationResult

log = logging.getLogger("perception.server")

MAX_ARRIVAL_WAIT = 0.25  # longest a batch waits for requests still being received (s)


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
        allowed_local_media_path: str | Path | None = None,
        api_key: str | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        backend.require_tokenizer()
        self.backend = backend
        self.model_name = model_name or backend.model
        self.max_batch = max(1, max_batch)
        self.batch_wait = batch_wait
        self.allowed_local_media_path = allowed_local_media_path
        self.api_key = api_key or None
        self.idle_timeout = idle_timeout
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=max_pending)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moss-generate")
        self._worker: asyncio.Task[None] | None = None
        self._arriving = 0  # requests being received and decoded, not queued yet
        self._text_waiting = 0  # text chats waiting for or running on the model
        self.generate_calls = 0  # batches run, for monitoring
        self.requests = 0  # chat requests queued

    # --- app -------------------------------------------------------------------------

    def create_app(self) -> web.Application:
        """The aiohttp app: chat completions, models and health, behind the API key."""
        app = web.Application(
            client_max_size=MAX_BODY_BYTES,
            middlewares=[error_middleware(), auth_middleware(self.api_key)],
        )
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/health", self._health)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
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
            raw = await read_body(request, MAX_BODY_BYTES, self.idle_timeout)
            try:
                chat = await asyncio.get_running_loop().run_in_executor(None, self._parse, raw)
            except RequestError as exc:
                return _error(exc.status, str(exc))
            if not isinstance(chat, TextChatRequest):
                job = _Job(
                    chat,
                    asyncio.get_running_loop().create_future(),
                    asyncio.Queue() if chat.stream else None,
                )
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

    def _parse(self, raw: bytes) -> ChatRequest | TextChatRequest:
        return parse_chat_request(
            load_json_body(raw), self.allowed_local_media_path, self.backend.max_window
        )

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
        tokenizer = self.backend.processor.tokenizer
        assert tokenizer is not None  # text chats are refused without one
        prompt_tokens = len(tokenizer.encode(chat.prompt, add_special_tokens=False))
        return web.json_response(
            self._response(message, finish, prompt_tokens, len(result.token_ids))
        )

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
            while (
                len({j.request.audio_key for j in jobs}) < self.max_batch
                and len(jobs) < 8 * self.max_batch
            ):
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
                        jobs.append(
                            await asyncio.wait_for(self._queue.get(), self.batch_wait - waited)
                        )
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
                self._executor,
                self._generate,
                audios,
                questions,
                first.system,
                config,
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
            _plain_message(result),
            result.finish_reason,
            self._prompt_tokens(chat),
            len(result.token_ids),
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
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
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
                await response.write(
                    f"data: {json.dumps({'error': {'message': error}})}\n\n".encode()
                )
            await response.write(b"data: [DONE]\n\n")
            return response

        return send, done

    def _deltas(
        self, tokens: list[int], sent: dict[str, str], final: bool
    ) -> list[tuple[str, str]]:
        text = self.backend.processor.decode(tokens) or ""
        if not final and (text.endswith("\ufffd") or _partial_tag(text)):
            return []  # half a character or half a tag: wait for the next token
        reasoning, answer = split_reasoning(text)
        out = []
        for key, value in (("reasoning", reasoning), ("answer", answer)):
            if value.startswith(sent[key]) and len(value) > len(sent[key]):
                out.append((key, value[len(sent[key]) :]))
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
    return any(
        tail.endswith(tag[:i]) for tag in ("<think>", "</think>") for i in range(1, len(tag))
    )


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


def _error(status: int, message: str, kind: str | None = None) -> web.Response:
    if status < 500:
        log.info("request refused: %d %s", status, message)
    return error_response(status, message, kind)


async def serve(
    server: MossChatServer,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run until cancelled. ``on_ready`` gets the base URL (``http://host:port/v1``) once
    the socket is bound (port 0 picks a free port). Off loopback the server needs an API
    key (``ServerConfigError``). A connection that sends nothing for the server's idle
    timeout, before or inside its request, is closed."""
    check_bind(host, server.api_key)
    runner = web.AppRunner(
        server.create_app(), access_log=None, keepalive_timeout=server.idle_timeout
    )
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
