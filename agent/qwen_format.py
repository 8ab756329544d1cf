"""Qwen3's text conventions: ``<think>...</think>`` reasoning and ``<tool_call>`` JSON blocks.

Servers that do not parse tool calls themselves (and the local MOSS-Audio model, whose
language model is Qwen3) leave them in the text; these functions take them out. Malformed
blocks are kept as calls with an ``error`` so the model can be told and try again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.S)
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)


@dataclass
class TextToolCall:
    name: str
    arguments: dict[str, Any] | str  # a dict when the JSON parsed, else the raw text
    error: str | None = None


def split_thinking(text: str) -> tuple[str, str]:
    """(reasoning, the rest): ``<think>`` blocks out of ``text``; an unclosed one runs to the end.

    A lone ``</think>`` (templates that open the block in the prompt) ends the reasoning.
    """
    thoughts = [m.group(1).strip() for m in _THINK.finditer(text)]
    rest = _THINK.sub("", text)
    if "</think>" in rest:
        head, _, rest = rest.partition("</think>")
        thoughts.insert(0, head.strip())
    return "\n\n".join(t for t in thoughts if t), rest.strip()


def parse_tool_calls(text: str) -> tuple[list[TextToolCall], str]:
    """(calls, the text without them) from Qwen3-style ``<tool_call>`` blocks."""
    calls: list[TextToolCall] = []
    for match in _TOOL_CALL.finditer(text):
        body = match.group(1).strip()
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            name_guess = re.search(r'"name"\s*:\s*"([^"]+)"', body)
            calls.append(
                TextToolCall(
                    name=name_guess.group(1) if name_guess else "",
                    arguments=body,
                    error=f"the <tool_call> block is not valid JSON ({exc.msg} at character {exc.pos}); "
                    'write {"name": ..., "arguments": {...}}',
                )
            )
            continue
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            calls.append(TextToolCall(name="", arguments=body, error='a tool call needs {"name": ..., "arguments": {...}}'))
            continue
        arguments = data.get("arguments", data.get("parameters", {}))
        if isinstance(arguments, str | dict):  # a string: some models double-encode
            calls.append(TextToolCall(name=data["name"], arguments=arguments))
        else:
            calls.append(TextToolCall(name=data["name"], arguments=str(arguments), error="arguments must be a JSON object"))
    return calls, _TOOL_CALL.sub("", text).strip()


def format_tool_response(content: str) -> str:
    """A tool result as Qwen3's template puts it in the user turn."""
    return f"<tool_response>\n{content}\n</tool_response>"


__all__ = ["TextToolCall", "format_tool_response", "parse_tool_calls", "split_thinking"]
