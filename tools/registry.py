"""Typed Python functions as tools: JSON schema from the signature, validated calls.

A tool is a plain function (sync or async) whose first parameter may be the
``ToolContext``; every other parameter becomes a property of the JSON schema, described by
the ``Args:`` section of the docstring. The same schema serves OpenAI-style function calling
and Qwen3's ``<tool_call>`` format. A call never raises: bad arguments, unknown tools,
timeouts and exceptions come back as a ``ToolResult`` with ``error`` set, which a reasoner
hands to the model as the tool's answer so it can correct itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
import re
import time
import typing
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import to_jsonable_python

from perception.events import BaseEvent
from tools.clock import format_span
from tools.context import ToolContext, ToolInputError, ToolUnavailableError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
# What a model sees of one result; long transcripts are cut with a note saying so.
MAX_CONTENT_CHARS = 12_000

ToolFunction = Callable[..., Any] | Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Tool:
    """One registered function with its argument model and JSON schema."""

    name: str
    description: str
    func: ToolFunction
    arguments_model: type[BaseModel]
    takes_context: bool
    timeout: float

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    def parameters_schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments object (no titles, no pydantic noise)."""
        schema = self.arguments_model.model_json_schema()
        return _strip_titles(schema)

    def openai_spec(self) -> dict[str, Any]:
        """``{"type": "function", "function": {...}}`` as OpenAI's ``tools`` list wants it."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters_schema(),
            },
        }


@dataclass
class ToolResult:
    """What came back from one call; ``error`` is set instead of raising."""

    name: str
    arguments: dict[str, Any]
    value: Any = None
    error: str | None = None
    elapsed: float = 0.0
    call_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def content(self) -> str:
        """The text a model gets as the tool message: compact JSON, or the error."""
        if self.error is not None:
            return json.dumps({"error": self.error})
        text = json.dumps(to_model_payload(self.value), ensure_ascii=False, separators=(",", ":"))
        if len(text) > MAX_CONTENT_CHARS:
            text = (
                text[:MAX_CONTENT_CHARS]
                + f"... [cut: {len(text) - MAX_CONTENT_CHARS} more characters; ask for a shorter time range]"
            )
        return text

    def summary(self) -> str:
        """One line for people: what the call found."""
        if self.error is not None:
            return f"error: {self.error}"
        return summarize(self.value)


@dataclass
class ToolRegistry:
    """Named tools; ``call`` validates, runs with a timeout and never raises."""

    default_timeout: float = DEFAULT_TIMEOUT
    # Sync tools run in a worker thread so a slow one cannot stall the event loop and its
    # timeout holds. ``False`` runs them inline: faster for local SQLite reads, but then
    # only async tools have a timeout.
    sync_in_thread: bool = True
    _tools: dict[str, Tool] = field(default_factory=dict)

    def register(
        self,
        func: ToolFunction | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Add ``func`` (usable bare or as ``@registry.register(name=...)``); returns it."""

        def add(f: ToolFunction) -> ToolFunction:
            tool = tool_from_function(
                f, name=name, description=description, timeout=timeout or self.default_timeout
            )
            if tool.name in self._tools:
                raise ValueError(f"a tool named {tool.name!r} is already registered")
            self._tools[tool.name] = tool
            return f

        return add(func) if func is not None else add

    def add(self, tool: Tool) -> None:
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def subset(self, names: Iterable[str]) -> ToolRegistry:
        """A registry with only ``names`` (e.g. to keep actions away from a model)."""
        wanted = set(names)
        kept = {n: t for n, t in self._tools.items() if n in wanted}
        return ToolRegistry(self.default_timeout, self.sync_in_thread, kept)

    def openai_tools(self) -> list[dict[str, Any]]:
        return [tool.openai_spec() for tool in self._tools.values()]

    def qwen_tools_prompt(self) -> str:
        """The tools section of Qwen3's chat template, to append to a system prompt."""
        from perception.moss.chat_format import tools_system_block

        return tools_system_block(self.openai_tools())

    async def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | str | None,
        ctx: ToolContext,
        *,
        call_id: str | None = None,
        timeout: float | None = None,
    ) -> ToolResult:
        """Run one tool. Arguments may be a dict or the JSON text a model produced."""
        started = time.perf_counter()
        raw_args: dict[str, Any] = {}
        result = ToolResult(name=name, arguments=raw_args, call_id=call_id)
        try:
            raw_args = parse_arguments(arguments)
            result.arguments = raw_args
            tool = self._tools.get(name)
            if tool is None:
                raise _CallError(
                    f"unknown tool {name!r}; available tools: {', '.join(self._tools) or 'none'}"
                )
            try:
                parsed = tool.arguments_model.model_validate(raw_args)
            except ValidationError as exc:
                raise _CallError(
                    f"invalid arguments for {name}: {_describe_validation(exc)}"
                ) from None
            kwargs = {k: getattr(parsed, k) for k in tool.arguments_model.model_fields}
            args = (ctx,) if tool.takes_context else ()
            limit = timeout or tool.timeout
            if tool.is_async:
                result.value = await asyncio.wait_for(tool.func(*args, **kwargs), limit)
            else:
                if self.sync_in_thread:
                    result.value = await asyncio.wait_for(
                        asyncio.to_thread(tool.func, *args, **kwargs), limit
                    )
                else:
                    result.value = tool.func(*args, **kwargs)
        except _CallError as exc:
            result.error = str(exc)
        except TimeoutError:
            result.error = (
                f"{name} timed out after {timeout or self._tools[name].timeout:g} s; "
                "try a shorter time range"
            )
        except ToolUnavailableError as exc:
            result.error = str(exc)
        except ToolInputError as exc:
            result.error = f"invalid arguments for {name}: {exc}"
        except Exception as exc:  # a tool's bug must not end the conversation
            log.warning("tool %s failed", name, exc_info=True)
            result.error = f"{name} failed: {type(exc).__name__}: {exc}"
        result.elapsed = time.perf_counter() - started
        return result


class _CallError(Exception):
    pass


def parse_arguments(arguments: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Arguments as a dict; a model's malformed JSON becomes an error it can act on."""
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, str):
        try:
            decoded = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise _CallError(
                f"arguments are not valid JSON ({exc.msg} at character {exc.pos}); "
                'send one JSON object such as {"start": 60, "end": 120}'
            ) from None
        if decoded is None:
            return {}
        arguments = decoded
    if not isinstance(arguments, Mapping):
        raise _CallError(f"arguments must be a JSON object, not {type(arguments).__name__}")
    return dict(arguments)


def tool_from_function(
    func: ToolFunction,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Tool:
    """Build a ``Tool``: parameters -> pydantic model, docstring -> descriptions."""
    signature = inspect.signature(func)
    hints = typing.get_type_hints(func, include_extras=True)
    summary, arg_docs = _parse_docstring(inspect.getdoc(func) or "")
    fields: dict[str, Any] = {}
    takes_context = False
    for index, (pname, param) in enumerate(signature.parameters.items()):
        annotation = hints.get(pname, Any)
        if index == 0 and (annotation is ToolContext or pname == "ctx"):
            takes_context = True
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {func.__name__}: *args/**kwargs cannot become a JSON schema")
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[pname] = (annotation, Field(default, description=arg_docs.get(pname)))
    tool_name = name or func.__name__
    model = create_model(f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    return Tool(
        name=tool_name,
        description=description or summary or tool_name.replace("_", " "),
        func=func,
        arguments_model=model,
        takes_context=takes_context,
        timeout=timeout,
    )


_ARGS_HEADER = re.compile(r"^(Args|Arguments|Parameters):\s*$")
_ARG_LINE = re.compile(r"^\s{2,}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Google-style docstring -> (description before ``Args:``, {argument: description})."""
    lines = doc.splitlines()
    description: list[str] = []
    args: dict[str, str] = {}
    current: str | None = None
    in_args = False
    for line in lines:
        if _ARGS_HEADER.match(line):
            in_args = True
            continue
        if in_args:
            if line and not line[0].isspace():  # next section (Returns:, ...)
                in_args = False
                current = None
                continue
            match = _ARG_LINE.match(line)
            if match:
                current = match.group(1)
                args[current] = match.group(2).strip()
            elif current and line.strip():
                args[current] += " " + line.strip()
            continue
        description.append(line)
    text = " ".join(part.strip() for part in description if part.strip())
    return text, args


def _strip_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: _strip_titles(v) for k, v in schema.items() if k != "title" or not isinstance(v, str)
        }
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def _describe_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def to_model_payload(value: Any) -> Any:
    """JSON-able data for a model: events lose ids and provenance, times keep 2 decimals;
    a value with a ``compact()`` method (e.g. minutes) is given as what that returns."""
    if callable(getattr(value, "compact", None)) and not isinstance(value, type):
        return to_model_payload(value.compact())
    if isinstance(value, BaseEvent):
        return _compact_event(value)
    if isinstance(value, BaseModel):
        return {k: to_model_payload(getattr(value, k)) for k in type(value).model_fields}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_model_payload(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_model_payload(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_model_payload(v) for v in value]
    if isinstance(value, float):
        return round(value, 2)
    return to_jsonable_python(value, fallback=str)


_DROPPED_EVENT_FIELDS = {"session_id", "window_id", "backend", "model", "words", "event_id"}


def _compact_event(event: BaseEvent) -> dict[str, Any]:
    data = event.model_dump(mode="json", exclude=_DROPPED_EVENT_FIELDS, exclude_none=True)
    for key in ("start", "end"):
        data[key] = round(data[key], 2)
    return {k: v for k, v in data.items() if v not in ({}, [], False)}


def summarize(value: Any) -> str:
    """One line saying what a result holds (for people and for the ``tool_calls`` record)."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return value if len(value) <= 160 else value[:157] + "..."
    if hasattr(value, "summary_line") and not isinstance(value, type):
        return str(value.summary_line())
    if isinstance(value, list | tuple):
        if not value:
            return "no results"
        events = [v for v in value if isinstance(v, BaseEvent)]
        if len(events) == len(value):
            kinds = sorted({str(e.kind) for e in events})  # type: ignore[attr-defined]
            span = format_span(min(e.start for e in events), max(e.end for e in events))
            return (
                f"{len(events)} {'/'.join(kinds)} event{'s' if len(events) != 1 else ''} at {span}"
            )
        return f"{len(value)} item{'s' if len(value) != 1 else ''}"
    text = json.dumps(to_model_payload(value), ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + "..."


__all__ = [
    "DEFAULT_TIMEOUT",
    "Tool",
    "ToolFunction",
    "ToolRegistry",
    "ToolResult",
    "parse_arguments",
    "summarize",
    "to_model_payload",
    "tool_from_function",
]
