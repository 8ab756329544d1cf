"""A deliberately failing OpenAI-compatible server for the remote backend's fault paths.

It runs on loopback in a background thread. ``scenario`` picks its behaviour; it checks
that every request carries a decodable 16 kHz WAV data URL and a question, and records
how many requests arrived and how many were in flight at once.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import time
from typing import Any

import soundfile as sf
from aiohttp import web

from perception.parsers import PROMPTS, Task

ANSWERS = {
    PROMPTS[Task.TRANSCRIPT]: "0.50 - 1.20: Hello from the server.",
    PROMPTS[Task.VOICE]: '{"gender": "female", "emotion": "cheerful"}',
    PROMPTS[Task.SOUNDS]: "<think>the doorbell?</think>\n0.20 - 0.40: doorbell ringing",
}


class FaultServer:
    def __init__(self) -> None:
        self.scenario = "ok"
        self.failures_left = 0  # for "fail_then_ok": how many 500s before answering
        self.delay = 0.0
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.bad_requests: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FaultServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def reset(self, scenario: str, **settings: Any) -> None:
        deadline = time.monotonic() + 10  # let requests of the previous test finish first
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        self.scenario, self.requests, self.max_in_flight = scenario, 0, 0
        self.failures_left, self.delay = settings.get("failures", 0), settings.get("delay", 0.0)
        self.bad_requests.clear()

    async def _start(self) -> None:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _models(self, request: web.Request) -> web.Response:
        if self.scenario == "no_models":
            return web.json_response({"object": "list", "data": []})
        return web.json_response(
            {"object": "list", "data": [{"id": "fault-model", "object": "model"}]}
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        question = self._check(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        scenario = self.scenario
        if scenario == "fail_then_ok" and self.failures_left > 0:
            self.failures_left -= 1
            return web.json_response({"error": {"message": "temporary failure"}}, status=500)
        if scenario == "always_500":
            return web.Response(status=500, text="Internal Server Error")
        if scenario == "overloaded":
            return web.json_response(
                {"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "0"}
            )
        if scenario == "bad_request":
            return web.json_response({"error": {"message": "audio is too long"}}, status=400)
        if scenario == "unauthorised":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        if scenario == "garbage":
            return web.Response(
                status=200, text="<html>proxy error page</html>", content_type="text/html"
            )
        if scenario == "not_chat":
            return web.json_response({"result": "fine"})
        if scenario == "truncated":
            return web.Response(
                status=200,
                text='{"choices": [{"message": {"content": "0 - 1',
                content_type="application/json",
            )
        answer = ANSWERS.get(question, "I do not know.")
        message = {"role": "assistant", "content": answer, "reasoning_content": "thinking it over"}
        return web.json_response(
            {"object": "chat.completion", "choices": [{"index": 0, "message": message}]}
        )

    def _check(self, body: dict[str, Any]) -> str:
        try:
            (message,) = body["messages"]
            audio, text = message["content"]
            url = audio["audio_url"]["url"]
            header, _, data = url.partition(",")
            assert header == "data:audio/wav;base64", header
            samples, rate = sf.read(io.BytesIO(base64.b64decode(data)))
            assert rate == 16000 and samples.ndim == 1 and len(samples) > 0
            assert body["model"] == "fault-model"
            return str(text["text"])
        except Exception as exc:  # noqa: BLE001 - recorded for the test to assert on
            self.bad_requests.append(f"{exc!r}: {json.dumps(body)[:200]}")
            return ""
