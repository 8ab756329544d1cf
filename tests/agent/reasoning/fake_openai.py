"""A scripted OpenAI-compatible server on loopback: replies are given in advance, requests kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

Reply = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


def message(
    content: str | None = None, tool_calls: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A chat completion whose first choice carries this assistant message."""
    msg: dict[str, Any] = {"role": "assistant", "content": content, **extra}
    if tool_calls is not None:
        msg["tool_calls"] = tool_calls
    return {
        "id": "cmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}],
    }


def tool_call(
    name: str, arguments: dict[str, Any] | str, call_id: str = "call_1"
) -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


class FakeOpenAIServer:
    """Answers each ``/chat/completions`` with the next scripted reply (the last one repeats)."""

    def __init__(
        self, replies: list[Reply], status: int = 200, models: list[str] | None = None
    ) -> None:
        self.replies = list(replies)
        self.status = status
        self.models = models if models is not None else ["fake-moss"]
        self.requests: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if self.status != 200:
            return web.Response(
                status=self.status, text='{"error": {"message": "model overloaded"}}'
            )
        reply = self.replies[min(len(self.requests) - 1, len(self.replies) - 1)]
        return web.json_response(reply(body) if callable(reply) else reply)

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]}
        )

    async def __aenter__(self) -> FakeOpenAIServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
