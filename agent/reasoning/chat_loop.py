"""The tool loop shared by chat-model reasoners (OpenAI-compatible servers, local MOSS).

Send the question with the tool schemas, run the tool calls the model asks for, send back
the results, until the model answers or ``max_steps`` rounds have passed (then it must
answer without tools). The model's reasoning (``reasoning_content`` or ``<think>``
blocks) goes to ``reasoning``, never into the answer. Tool calls written into the text
(Qwen3 ``<tool_call>`` blocks) are run like structured ones; broken ones are reported
back to the model as the tool's result so it can try again.
"""

from __future__ import annotations

import abc
import json
import uuid
from typing import Any

from agent.reasoning.answer import Answer, ToolCallRecord
from agent.reasoning.reasoner import Reasoner
from agent.reasoning.tool_loop import ToolLoop
from perception.moss.chat_format import parse_tool_calls, split_thinking
from tools.clock import format_clock
from tools.context import ToolContext
from tools.registry import ToolRegistry

DEFAULT_MAX_STEPS = 6

SYSTEM_PROMPT = """You answer questions about a recorded audio session: a meeting, a call, a room.
Use the tools to read what was said and heard; never invent what is not in their results.
Times are seconds from the start of the session; write them as mm:ss in your answer.
Say who said what (speaker names from the `speakers` tool) and when, and keep it short.
If the tools find nothing, say so.

Session: {title} (id {session_id}), {duration} long, {events} events recorded."""

# Said about the tools a registry holds, so the model picks the right one.
TOOL_HINTS = {
    "search_passages": "For a subject (also when other words were used: costs/budget, launch/release), "
    "call `search_passages`; quote what it finds with its time and speaker. If it says nothing relevant "
    "was said, say so and give what came closest.",
    "minutes": "For decisions, agreements, plans, action items, owners, deadlines, open questions, "
    "disagreements and the next meeting, call `minutes` and cite the items' times.",
    "topics": "For the main topics or a summary, call `topics` (and `minutes`).",
    "speaker_transcript": 'For "what did S2 / Alice say", call `speaker_transcript` with that speaker.',
}

FINAL_PROMPT = (
    "You have used all your tool calls. Answer the question now from the tool results above, "
    "without calling tools; say what you could not find."
)


class ChatToolReasoner(Reasoner):
    """A reasoner whose model takes OpenAI-style chat messages and tool schemas.

    Subclasses say how one chat turn is produced (``_chat``) and what the model is called.
    """

    def __init__(
        self,
        registry: ToolRegistry | None = None,
        *,
        max_steps: int = DEFAULT_MAX_STEPS,
        system_prompt: str = SYSTEM_PROMPT,
    ) -> None:
        super().__init__(registry)
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.max_steps = max_steps
        self.system_prompt = system_prompt

    @abc.abstractmethod
    async def _chat(
        self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        """The assistant message (``content``, maybe ``tool_calls``, ``reasoning_content``)."""

    @abc.abstractmethod
    async def _model_name(self) -> str:
        """The model's name for requests and for ``Answer.model``."""

    async def answer(self, question: str, ctx: ToolContext) -> Answer:
        model = await self._model_name()
        loop = ToolLoop(self.registry, ctx)
        reasoning: list[str] = []
        messages: list[dict[str, Any]] = [{"role": "system", "content": self._system(ctx)}]
        for turn in ctx.extras.get("previous_turns") or []:  # a follow-up: "why was it moved?"
            messages.append({"role": "user", "content": str(turn.get("question", ""))})
            messages.append({"role": "assistant", "content": str(turn.get("answer", ""))})
        messages.append({"role": "user", "content": question})
        tools = self.registry.openai_tools()
        text = ""
        for step in range(1, self.max_steps + 1):
            message = await self._chat(model, messages, tools)
            text, calls = self._read(message, reasoning)
            if not calls:
                break
            messages.append(self._assistant_turn(message, calls))
            for call in calls:
                if call["error"]:
                    reasoning.append(
                        f"Step {step}: the model wrote a broken tool call: {call['error']}"
                    )
                    content = json.dumps({"error": call["error"]})
                    loop.records.append(_broken_record(call))
                else:
                    result = await loop.call(call["name"], call["arguments"], call_id=call["id"])
                    outcome = result.summary()
                    reasoning.append(
                        f"Step {step}: called {call['name']}({_short(result.arguments)}): {outcome}."
                    )
                    content = result.content()
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": call["id"],
                        "name": call["name"],
                        "content": content,
                    }
                )
        else:
            reasoning.append(
                f"Stopped after {self.max_steps} tool rounds; asked the model to answer without tools."
            )
            messages.append({"role": "user", "content": FINAL_PROMPT})
            message = await self._chat(model, messages, None)
            text, calls = self._read(message, reasoning)
            if calls:
                reasoning.append(
                    "The model asked for more tools after the last round; they were not run."
                )
            if not text:
                text = (
                    f"I could not finish: the model kept calling tools for {self.max_steps} rounds "
                    "without answering. Try a narrower question or a larger --max-steps."
                )
        if not text:
            text = "The model returned an empty answer."
        return Answer(
            answer=text,
            reasoning=reasoning,
            tool_calls=loop.records,
            citations=loop.citations_for(text),
            reasoner=self.name,
            model=model,
        )

    def _system(self, ctx: ToolContext) -> str:
        info = ctx.memory.find_session(ctx.session_id)
        prompt = self.system_prompt.format(
            title=info.title if info else ctx.session_id,
            session_id=ctx.session_id,
            duration=format_clock(info.duration) if info else "unknown",
            events=info.event_count if info else "unknown",
        )
        hints = [hint for name, hint in TOOL_HINTS.items() if name in self.registry]
        return prompt + ("\n" + "\n".join(hints) if hints else "")

    # -- reading replies -------------------------------------------------------------------

    def _read(
        self, message: dict[str, Any], reasoning: list[str]
    ) -> tuple[str, list[dict[str, Any]]]:
        """(answer text, tool calls) of one assistant message; its reasoning goes to ``reasoning``."""
        content = message.get("content") or ""
        if not isinstance(content, str):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        thinking = message.get("reasoning_content") or message.get("reasoning") or ""
        inline, content = split_thinking(content)
        for thought in (thinking, inline):
            if isinstance(thought, str) and thought.strip():
                reasoning.append(thought.strip())
        calls: list[dict[str, Any]] = []
        for raw in message.get("tool_calls") or []:
            calls.append(_structured_call(raw))
        text_calls, content = parse_tool_calls(content)
        for call in text_calls:
            calls.append(
                {
                    "id": _call_id(),
                    "name": call.name,
                    "arguments": call.arguments,
                    "error": call.error,
                }
            )
        return content.strip(), calls

    @staticmethod
    def _assistant_turn(message: dict[str, Any], calls: list[dict[str, Any]]) -> dict[str, Any]:
        """The assistant message to send back: its tool calls in OpenAI's structured form."""
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {
                        "name": c["name"],
                        "arguments": c["arguments"]
                        if isinstance(c["arguments"], str)
                        else json.dumps(c["arguments"]),
                    },
                }
                for c in calls
            ],
        }


def _structured_call(raw: Any) -> dict[str, Any]:
    call_id = raw.get("id") if isinstance(raw, dict) else None
    function = raw.get("function") if isinstance(raw, dict) else None
    if (
        not isinstance(function, dict)
        or not isinstance(function.get("name"), str)
        or not function["name"]
    ):
        return {
            "id": call_id or _call_id(),
            "name": "",
            "arguments": json.dumps(raw)[:500],
            "error": 'a tool call needs {"function": {"name": ..., "arguments": "{...}"}}',
        }
    return {
        "id": call_id or _call_id(),
        "name": function["name"],
        "arguments": function.get("arguments") or "{}",
        "error": None,
    }


def _broken_record(call: dict[str, Any]) -> ToolCallRecord:
    return ToolCallRecord(
        name=call["name"] or "?", arguments={}, result_summary="", error=call["error"]
    )


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:12]}"


def _short(arguments: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    return text if len(text) <= 120 else text[:117] + "..."


__all__ = ["DEFAULT_MAX_STEPS", "FINAL_PROMPT", "SYSTEM_PROMPT", "TOOL_HINTS", "ChatToolReasoner"]
