"""``moss-agent serve``: an OpenAI-compatible chat-completions server over MOSS-Audio.

- ``app``: the server (batching, streaming, responses) and ``serve``;
- ``requests``: request bodies as pydantic models with bounded sizes, and what they ask;
- ``media``: audio from data: URLs, or local files under an allowed directory;
- ``parse``: what a validated body asks (a question about audio, or a text chat);
- ``http``: errors as OpenAI error objects, the API key, body and idle limits;
- ``cli``: the command's flags.

Names are imported on first use, so that declaring the command loads no web stack.
"""

from __future__ import annotations

import importlib
from typing import Any

# Where `moss-agent serve` listens unless told otherwise (both the perception server and the
# browser voice endpoint): this machine only.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000

_EXPORTS = {
    "MossChatServer": "app", "serve": "app",
    "ChatRequest": "requests", "TextChatRequest": "requests", "RequestError": "requests",
    "parse_chat_request": "parse", "DEFAULT_MAX_TOKENS": "requests", "MAX_BODY_BYTES": "requests",
    "MAX_TOKENS_LIMIT": "requests", "ChatBody": "requests",
    "MediaPolicy": "media", "LOCAL_FILE_REFUSED": "media",
    "API_KEY_ENV": "http", "ServerConfigError": "http", "is_loopback": "http",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'perception.server' has no attribute {name!r}")
    return getattr(importlib.import_module(f"perception.server.{module}"), name)


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", *sorted(_EXPORTS)]
