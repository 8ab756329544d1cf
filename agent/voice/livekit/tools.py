"""Our tool registry as LiveKit function tools, so tool calls show up in the session.

LiveKit runs the tools an LLM asks for and records each call and output in the chat
context (and in ``RunResult`` for tests). Our reasoners plan and run their own tool calls;
``ReasonerLLM`` then hands those calls to LiveKit, and these tools answer them from the
results the reasoner already has (``ToolResultMemo``) rather than querying memory twice.
A call the reasoner did not make (another LLM using these tools) runs for real.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from livekit.agents import llm
from livekit.agents.voice import RunContext

from tools.context import ToolContext
from tools.registry import Tool, ToolRegistry

logger = logging.getLogger(__name__)

_MEMO_SIZE = 256


class ToolResultMemo:
    """Tool outputs already computed this call, by LiveKit call id (bounded)."""

    def __init__(self) -> None:
        self._by_call: OrderedDict[str, str] = OrderedDict()

    def put(self, call_id: str, content: str) -> None:
        self._by_call[call_id] = content
        while len(self._by_call) > _MEMO_SIZE:
            self._by_call.popitem(last=False)

    def pop(self, call_id: str) -> str | None:
        return self._by_call.pop(call_id, None)


def livekit_tools(
    registry: ToolRegistry, context: ToolContext, memo: ToolResultMemo | None = None
) -> list[llm.Tool]:
    """One LiveKit raw function tool per registry tool, bound to one call's context."""
    return [_as_livekit_tool(tool, registry, context, memo) for tool in registry]


def _as_livekit_tool(
    tool: Tool, registry: ToolRegistry, context: ToolContext, memo: ToolResultMemo | None
) -> llm.Tool:
    async def run(raw_arguments: dict[str, object], ctx: RunContext) -> str:
        call_id = ctx.function_call.call_id
        if memo is not None and (known := memo.pop(call_id)) is not None:
            return known
        result = await registry.call(tool.name, dict(raw_arguments), context, call_id=call_id)
        return result.content()

    schema: dict[str, Any] = {
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters_schema(),
    }
    return llm.function_tool(run, raw_schema=schema)
