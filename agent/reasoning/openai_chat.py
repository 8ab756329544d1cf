"""A reasoner on any OpenAI-compatible chat endpoint with tool calling.

SGLang serving MOSS-Audio, vLLM, llama.cpp's server, Ollama: all speak
``POST {base_url}/chat/completions`` with ``tools``. The tool loop itself is
``ChatToolReasoner``'s; this module only talks HTTP (httpx) and turns every way a server
can fail into a ``ReasonerError`` that says what to do.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from agent.reasoning.chat_loop import DEFAULT_MAX_STEPS, SYSTEM_PROMPT, ChatToolReasoner
from agent.reasoning.reasoner import ReasonerError, ReasonerUnavailableError
from tools.registry import ToolRegistry

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


class OpenAIReasoner(ChatToolReasoner):
    """Multi-step tool loop against an OpenAI-compatible server."""

    name = "openai"

    def __init__(
        self,
        registry: ToolRegistry | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        model: str | None = None,
        api_key: str | None = None,
        max_steps: int = DEFAULT_MAX_STEPS,
        timeout: float = 120.0,
        temperature: float = 0.0,
        system_prompt: str = SYSTEM_PROMPT,
    ) -> None:
        super().__init__(registry, max_steps=max_steps, system_prompt=system_prompt)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.temperature = temperature
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(timeout=timeout, headers=headers)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            response = await self._client.request(method, url, json=payload)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ReasonerUnavailableError(
                f"cannot reach an OpenAI-compatible server at {self.base_url} ({exc or type(exc).__name__}); "
                "start one (e.g. `moss-agent serve`) or pass --base-url"
            ) from exc
        except httpx.TimeoutException as exc:
            raise ReasonerError(
                f"the server at {self.base_url} did not answer in time ({type(exc).__name__}); "
                "it may be overloaded, or raise the timeout"
            ) from exc
        except httpx.HTTPError as exc:
            raise ReasonerUnavailableError(f"request to {url} failed: {exc}") from exc
        if response.status_code >= 400:
            raise ReasonerError(
                f"the server at {self.base_url} answered {response.status_code} to {path}: "
                f"{response.text.strip()[:300] or response.reason_phrase}"
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise ReasonerError(
                f"the server at {url} did not answer with JSON: {response.text[:200]!r}"
            ) from exc
        if not isinstance(data, dict):
            raise ReasonerError(
                f"the server at {url} answered {type(data).__name__}, not a JSON object"
            )
        return data

    async def _model_name(self) -> str:
        return self.model or await self._first_model()

    async def _first_model(self) -> str:
        """The server's first model; servers with one model accept any name anyway."""
        try:
            data = await self._request("GET", "/models")
            models = data.get("data") or []
            if models and isinstance(models[0], dict) and models[0].get("id"):
                self.model = str(models[0]["id"])
                return self.model
        except ReasonerUnavailableError:
            raise
        except ReasonerError as exc:
            log.info("cannot list models (%s); using 'default'", exc)
        return "default"

    async def _chat(
        self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": self.temperature,
        }
        if tools:
            payload["tools"] = tools
            payload["tool_choice"] = "auto"
        data = await self._request("POST", "/chat/completions", payload)
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ReasonerError(
                f"the server's reply has no choices[0].message: {json.dumps(data)[:300]}"
            ) from exc
        if not isinstance(message, dict):
            raise ReasonerError("the server's choices[0].message is not an object")
        return message


__all__ = ["DEFAULT_BASE_URL", "OpenAIReasoner"]
