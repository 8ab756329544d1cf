"""What a validated chat-completions body asks: a question about audio, or a text chat.

The third step after ``requests`` checked the bytes and the shape: audio in the last user
message is decoded (``media``) into a ``ChatRequest``; a chat without audio becomes a
``TextChatRequest`` for the language model in text mode.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perception.server.media import MediaPolicy, decode_audio_part
from perception.server.requests import (
    AUDIO_PARTS,
    DEFAULT_MAX_TOKENS,
    ChatBody,
    ChatRequest,
    RequestError,
    TextChatRequest,
    TextPart,
    ToolCall,
    validate_body,
)

__all__ = ["parse_chat_request"]


def parse_chat_request(
    body: Any,
    allowed_local_media_path: str | Path | None = None,
    max_seconds: float = 120.0,
    *,
    allow_local_files: bool = True,
) -> ChatRequest | TextChatRequest:
    """Validate a chat-completions body; raises ``RequestError`` saying what to fix. With
    audio in the last user message it is a question about the audio, else a text chat.

    Audio given as a local path is read only from under ``allowed_local_media_path``
    (and never with ``allow_local_files=False``)."""
    chat = validate_body(body)
    system, user = None, None
    for message in chat.messages:
        if message.role == "system":
            system = message.text
        elif message.role == "user":
            user = message
    sampling = _sampling(chat)
    parts = user.parts if user is not None else []
    audio_parts = [p for p in parts if isinstance(p, AUDIO_PARTS)]
    if not audio_parts:
        if any(m.has_audio for m in chat.messages):
            raise RequestError(
                "put the audio in the last user message: earlier turns are text only"
            )
        return _text_chat(chat, body.get("tools") or None, sampling)
    if len(audio_parts) > 1:
        raise RequestError(
            "send one audio part per request (MOSS-Audio hears one input per prompt)"
        )
    question = "\n".join(p.text for p in parts if isinstance(p, TextPart)).strip()
    if not question:
        raise RequestError("add a text part with the question to ask about the audio")
    root = allowed_local_media_path if allow_local_files else None
    audio = decode_audio_part(audio_parts[0], MediaPolicy(root), max_seconds)
    seconds = len(audio) / 16_000
    if seconds > max_seconds + 0.5:
        raise RequestError(
            f"the audio is {seconds:.1f} s; MOSS-Audio hears at most {max_seconds:.0f} s per input: split it"
        )
    return ChatRequest(audio=audio, question=question, system=system, **sampling)


def _sampling(chat: ChatBody) -> dict[str, Any]:
    return {
        "max_tokens": chat.max_completion_tokens or chat.max_tokens or DEFAULT_MAX_TOKENS,
        "temperature": chat.temperature or 0.0,
        "top_p": chat.top_p or 1.0,
        "top_k": chat.top_k or 0,
        "seed": chat.seed,
        "stream": bool(chat.stream),
    }


def _text_chat(
    chat: ChatBody, tools: list[dict[str, Any]] | None, sampling: dict[str, Any]
) -> TextChatRequest:
    """The chat rendered with Qwen3's template; ``tools`` as the client sent them (validated
    by ``ChatBody``), so the prompt shows them exactly."""
    from perception.moss.chat_format import render_chat

    turns: list[dict[str, Any]] = []
    for message in chat.messages:
        turn: dict[str, Any] = {"role": message.role, "content": message.text}
        if message.role == "assistant" and message.tool_calls:
            turn["tool_calls"] = [_tool_call(call) for call in message.tool_calls]
        turns.append(turn)
    return TextChatRequest(
        prompt=render_chat(turns, None if chat.tool_choice == "none" else tools), **sampling
    )


def _tool_call(call: ToolCall) -> dict[str, Any]:
    arguments = call.function.arguments
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    return {"function": {"name": call.function.name, "arguments": arguments}}
