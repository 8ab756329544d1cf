"""Qwen3's chat conventions, which MOSS-Audio's language model follows: the chat template,
``<think>...</think>`` reasoning and ``<tool_call>`` JSON blocks.

Servers that do not parse tool calls themselves (and the local MOSS-Audio model, whose
language model is Qwen3) leave them in the text; these functions take them out. Malformed
blocks are kept as calls with an ``error`` so the model can be told and try again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from perception.parsers.reasoning import split_reasoning

_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)


@dataclass
class TextToolCall:
    name: str
    arguments: dict[str, Any] | str  # a dict when the JSON parsed, else the raw text
    error: str | None = None


split_thinking = split_reasoning  # (reasoning, answer), shared with perception


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
            calls.append(
                TextToolCall(
                    name="",
                    arguments=body,
                    error='a tool call needs {"name": ..., "arguments": {...}}',
                )
            )
            continue
        arguments = data.get("arguments", data.get("parameters", {}))
        if isinstance(arguments, str | dict):  # a string: some models double-encode
            calls.append(TextToolCall(name=data["name"], arguments=arguments))
        else:
            calls.append(
                TextToolCall(
                    name=data["name"],
                    arguments=str(arguments),
                    error="arguments must be a JSON object",
                )
            )
    return calls, _TOOL_CALL.sub("", text).strip()


def tools_system_block(tools: list[dict[str, Any]]) -> str:
    """The tools section of Qwen3's chat template (appended to the system message)."""
    lines = [
        "# Tools",
        "",
        "You may call one or more functions to assist with the user query.",
        "",
        "You are provided with function signatures within <tools></tools> XML tags:",
        "<tools>",
        *(json.dumps(tool, ensure_ascii=False) for tool in tools),
        "</tools>",
        "",
        "For each function call, return a json object with function name and arguments "
        "within <tool_call></tool_call> XML tags:",
        "<tool_call>",
        '{"name": <function-name>, "arguments": <args-json-object>}',
        "</tool_call>",
    ]
    return "\n".join(lines)


def render_chat(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
    """OpenAI-style messages as Qwen3's chat template renders them, ending with the open
    assistant turn. Tool results go back as ``<tool_response>`` blocks in a user turn."""
    out: list[str] = []
    rest = list(messages)
    system = rest.pop(0)["content"] if rest and rest[0]["role"] == "system" else ""
    if tools:
        system = f"{system}\n\n{tools_system_block(tools)}" if system else tools_system_block(tools)
    if system:
        out.append(f"<|im_start|>system\n{system}<|im_end|>")
    i = 0
    while i < len(rest):
        msg = rest[i]
        if msg["role"] == "tool":
            responses = []
            while i < len(rest) and rest[i]["role"] == "tool":
                responses.append(format_tool_response(str(rest[i]["content"])))
                i += 1
            out.append("<|im_start|>user\n" + "\n".join(responses) + "<|im_end|>")
            continue
        content = msg.get("content") or ""
        if msg["role"] == "assistant" and msg.get("tool_calls"):
            blocks = []
            for call in msg["tool_calls"]:
                fn = call["function"]
                try:
                    arguments: Any = json.loads(fn["arguments"])
                except (json.JSONDecodeError, TypeError):
                    arguments = fn["arguments"]
                blocks.append(
                    "<tool_call>\n"
                    + json.dumps({"name": fn["name"], "arguments": arguments}, ensure_ascii=False)
                    + "\n</tool_call>"
                )
            content = (content + "\n" if content else "") + "\n".join(blocks)
        out.append(f"<|im_start|>{msg['role']}\n{content}<|im_end|>")
        i += 1
    out.append("<|im_start|>assistant\n")
    return "\n".join(out)


def format_tool_response(content: str) -> str:
    """A tool result as Qwen3's template puts it in the user turn."""
    return f"<tool_response>\n{content}\n</tool_response>"


__all__ = [
    "TextToolCall",
    "format_tool_response",
    "parse_tool_calls",
    "render_chat",
    "split_thinking",
    "tools_system_block",
]
