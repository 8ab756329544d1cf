"""Chat-completions request bodies: pydantic models with bounded sizes, and what they ask.

A body is checked in three steps, each bounded so that no body can cost more than its
size: the raw bytes (size, how many objects and arrays, nesting depth), the JSON shape
(``ChatBody``: roles, parts, sampling ranges, counts of messages, parts and tools), then
the meaning (``parse.parse_chat_request``: audio in the last user message is a question about
it, otherwise a text chat). Every refusal is a ``RequestError`` saying what to fix.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

DEFAULT_MAX_TOKENS = 512
MAX_TOKENS_LIMIT = 8192
MAX_BODY_BYTES = 64 * 1024 * 1024  # 120 s of 48 kHz stereo WAV, base64-encoded, fits
MAX_CONTAINERS = 100_000  # JSON objects + arrays in one body (each costs Python memory)
MAX_DEPTH = 64  # JSON nesting (a tool's parameter schema nests a few levels)
MAX_MESSAGES = 1024
MAX_PARTS = 64  # content parts in one message
MAX_TOOLS = 128
ROLES = ("system", "user", "assistant", "tool")


class RequestError(Exception):
    """A request the server cannot serve; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# --- raw bytes -> JSON --------------------------------------------------------------------


def load_json_body(raw: bytes) -> Any:
    """The JSON value of ``raw``, refusing bodies whose structure alone would be costly."""
    containers = raw.count(b"{") + raw.count(b"[")  # an upper bound: brackets in strings count too
    if containers > MAX_CONTAINERS:
        raise RequestError(
            f"the body holds more than {MAX_CONTAINERS} JSON objects and arrays; send less"
        )
    try:
        value = json.loads(raw)
    except RecursionError:
        raise RequestError(f"the body nests JSON deeper than {MAX_DEPTH} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RequestError("the body is not valid JSON") from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise RequestError(f"the body nests JSON deeper than {MAX_DEPTH} levels")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


# --- the JSON shape -----------------------------------------------------------------------


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("request", message)


def _number(name: str, kind: type, low: float, high: float) -> BeforeValidator:
    """A sampling field: a finite JSON number (whole for ints) between ``low`` and ``high``."""

    def check(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _refuse(f"`{name}` must be a number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise _refuse(
                f"`{name}` must be a finite number between {low:g} and {high:g}, got {value!r}"
            )
        if kind is int and value != int(value):
            raise _refuse(f"`{name}` must be a whole number, got {value!r}")
        if not low <= value <= high:
            raise _refuse(f"`{name}` must be between {low:g} and {high:g}, got {value!r}")
        return kind(value)

    return BeforeValidator(check)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_Model):
    type: Literal["text"]
    text: str = ""


class AudioURL(_Model):
    url: str = ""


class AudioURLPart(_Model):
    """SGLang's shape: ``{"type": "audio_url", "audio_url": {"url": "data:..."}}``."""

    type: Literal["audio_url"]
    audio_url: AudioURL | str


class InputAudio(_Model):
    data: str = ""
    format: str | None = "wav"


class InputAudioPart(_Model):
    """OpenAI's shape: ``{"type": "input_audio", "input_audio": {"data": b64, "format": "wav"}}``."""

    type: Literal["input_audio"]
    input_audio: InputAudio


class OtherPart(_Model):
    """A part this server does not use (e.g. an image): ignored, as before."""

    type: str | None = None


def _part_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("text", "audio_url", "input_audio") else "other"


Part = Annotated[
    Annotated[TextPart, Tag("text")]
    | Annotated[AudioURLPart, Tag("audio_url")]
    | Annotated[InputAudioPart, Tag("input_audio")]
    | Annotated[OtherPart, Tag("other")],
    Discriminator(_part_kind),
]
AUDIO_PARTS = (AudioURLPart, InputAudioPart)


class FunctionCall(_Model):
    name: str
    arguments: Any = "{}"


class ToolCall(_Model):
    id: str | None = None
    type: str | None = "function"
    function: FunctionCall


class Message(_Model):
    role: str
    content: str | Annotated[list[Part], Field(max_length=MAX_PARTS)] | None = None
    tool_calls: Annotated[list[ToolCall], Field(max_length=MAX_TOOLS)] | None = None

    @field_validator("role", mode="before")
    @classmethod
    def _known_role(cls, role: Any) -> Any:
        if role not in ROLES:
            raise _refuse(f"unknown message role {role!r}; use one of {', '.join(ROLES)}")
        return role

    @property
    def parts(self) -> list[Any]:
        if isinstance(self.content, list):
            return self.content
        return [TextPart(type="text", text=self.content or "")]

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content or () if isinstance(p, TextPart))

    @property
    def has_audio(self) -> bool:
        return isinstance(self.content, list) and any(
            isinstance(p, AUDIO_PARTS) for p in self.content
        )


class FunctionDefinition(_Model):
    model_config = ConfigDict(extra="allow")
    name: str


class Tool(_Model):
    model_config = ConfigDict(extra="allow")
    type: Literal["function"] = "function"
    function: FunctionDefinition


class ChatBody(_Model):
    """The fields of an OpenAI chat-completions body this server reads (others are ignored)."""

    messages: Annotated[list[Message], Field(min_length=1, max_length=MAX_MESSAGES)]
    n: int | None = None
    max_tokens: Annotated[int | None, _number("max_tokens", int, 0, MAX_TOKENS_LIMIT)] = None
    max_completion_tokens: Annotated[
        int | None, _number("max_completion_tokens", int, 0, MAX_TOKENS_LIMIT)
    ] = None
    temperature: Annotated[float | None, _number("temperature", float, 0.0, 10.0)] = None
    top_p: Annotated[float | None, _number("top_p", float, 0.0, 1.0)] = None
    top_k: Annotated[int | None, _number("top_k", int, 0, 1_000_000)] = None
    seed: Annotated[int | None, _number("seed", int, 0, 2**63 - 1)] = None
    stream: bool | None = False
    tools: Annotated[list[Tool], Field(max_length=MAX_TOOLS)] | None = None
    tool_choice: Literal["auto", "none"] | None = None

    @field_validator("n", mode="before")
    @classmethod
    def _one(cls, n: Any) -> Any:
        if n not in (1, None):
            raise _refuse("only n=1 is supported")
        return n


# Field -> the message that says what a good value looks like.
_SHAPES = {
    "messages": f"`messages` must be a non-empty list of at most {MAX_MESSAGES} chat messages "
    "(objects with `role` and `content`)",
    "tools": f'`tools` must be a list of at most {MAX_TOOLS} {{"type": "function", "function": {{"name": ...}}}}',
    "tool_choice": 'tool_choice may be "auto" or "none" here; the model decides itself',
    "stream": "`stream` must be true or false",
}


def validate_body(body: Any) -> ChatBody:
    """``body`` as a ``ChatBody``, or the ``RequestError`` that says what to fix."""
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object with a `messages` list")
    try:
        return ChatBody.model_validate(body)
    except ValidationError as exc:
        raise RequestError(_explain(exc)) from None


_TYPE_NAMES = {"str", "int", "float", "bool", "none", "list", "dict", "function-after", "AudioURL"}


def _explain(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    custom = next((e for e in errors if e["type"] == "request"), None)
    if custom is not None:
        return custom["msg"]
    error = max(errors, key=lambda e: len(e["loc"]))  # the most specific of a union's branches
    where = [
        str(x) for x in error["loc"] if not (isinstance(x, str) and (x in _TYPE_NAMES or "[" in x))
    ]
    where = [
        x for i, x in enumerate(where) if i + 1 == len(where) or where[i + 1] != x
    ]  # part tags
    top = where[0] if where else ""
    if len(where) == 3 and top == "messages" and where[2] == "content":
        return f"`messages.{where[1]}.content` must be a string or a list of content parts"
    if top in ("tools", "tool_choice", "stream") or (top == "messages" and len(where) <= 2):
        return _SHAPES[top]
    if len(where) >= 3 and where[0] == "messages" and where[2] == "tool_calls":
        return 'each assistant tool call needs {"function": {"name": ..., "arguments": ...}}'
    if "input_audio" in where:
        return '`input_audio` must be an object {"data": BASE64, "format": "wav"}'
    return f"`{'.'.join(where) or 'body'}`: {error['msg'][0].lower()}{error['msg'][1:]}"


# --- what the request asks ----------------------------------------------------------------


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


__all__ = [
    "DEFAULT_MAX_TOKENS",
    "MAX_BODY_BYTES",
    "MAX_TOKENS_LIMIT",
    "ChatBody",
    "ChatRequest",
    "Message",
    "RequestError",
    "Sampling",
    "TextChatRequest",
    "load_json_body",
    "validate_body",
]
