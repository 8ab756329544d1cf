"""Our reasoner as a LiveKit ``llm.LLM``.

A user turn becomes one ``reasoner.answer(question, ctx)``. When the session offers our
tools, the tool calls the reasoner made go out first, each complete in its own chunk;
LiveKit runs them (answered from ``ToolResultMemo``) and calls back with their outputs,
and the second round streams the answer text. Without tools the answer streams at once.

Reasoning never reaches the text stream: LiveKit only strips ``<think>`` for its own
plugins, so the answer is filtered here and reasoning and citations go to ``on_answer``
(the browser's data channel, memory's agent turns) instead.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from livekit.agents import llm
from livekit.agents.llm import ChatChunk, ChoiceDelta, FunctionToolCall
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)

from agent.voice.livekit.tools import ToolResultMemo
from agent.voice.reasoning_filter import strip_reasoning
from tools.context import ToolContext

logger = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# How a question (or a request to the assistant) starts, for speech that lost its "?".
_QUESTION_START = re.compile(
    r"^(?:what|when|who|whom|whose|where|why|how|which|was|were|is|are|did|do|does|"
    r"has|have|had|can|could|would|will|should|tell\s+me|show\s+me|list|summari[sz]e|"
    r"recap|remind\s+me|listen|play)\b",
    re.I,
)


def question_in(turn: str) -> str | None:
    """The question a user turn asks, or None for talk not addressed to the assistant.

    The assistant listens to a whole call; people talking to each other should not get a
    spoken reply. A turn that holds statements and then a question is answered on the
    question alone (the statements are already in memory).
    """
    sentences = [s.strip() for s in _SENTENCE_END.split(turn.strip()) if s.strip()]
    for sentence in reversed(sentences):
        if sentence.endswith("?") or _QUESTION_START.match(sentence):
            return sentence
    return None


NOT_PLACED = "Sorry, I could not place that question; ask me what was said, decided or heard."


class Reasoner(Protocol):
    async def answer(self, question: str, ctx: ToolContext) -> Any: ...


@dataclass
class SpokenAnswer:
    """What one user turn produced, in a form the page, memory and tests can use."""

    question: str
    text: str
    reasoning: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    raw: Any = None  # the reasoner's own answer object

    def to_message(self) -> dict[str, Any]:
        return {
            "type": "answer",
            "question": self.question,
            "text": self.text,
            "reasoning": self.reasoning,
            "tool_calls": self.tool_calls,
            "citations": self.citations,
        }


AnswerCallback = Callable[[SpokenAnswer], Awaitable[None] | None]


class ReasonerLLM(llm.LLM):
    """Any of our reasoners (``rules``, ``openai``, ``moss``) behind LiveKit's LLM API."""

    def __init__(
        self,
        reasoner: Reasoner,
        context: ToolContext,
        *,
        memo: ToolResultMemo | None = None,
        on_answer: AnswerCallback | None = None,
        answer_everything: bool = False,
        before_answer: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        super().__init__()
        # False: only questions get a spoken answer (see ``question_in``)
        self.answer_everything = answer_everything
        # awaited before the reasoner runs (e.g. until memory holds the question's context)
        self.before_answer = before_answer
        self.reasoner = reasoner
        self.context = context
        self.memo = memo or ToolResultMemo()
        self.on_answer = on_answer
        # answers waiting for LiveKit to run their tool calls, by turn id
        self._pending: OrderedDict[str, SpokenAnswer] = OrderedDict()
        self.answers: list[SpokenAnswer] = []

    @property
    def model(self) -> str:
        return getattr(self.reasoner, "name", type(self.reasoner).__name__)

    @property
    def provider(self) -> str:
        return "moss-agents"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> ReasonerLLMStream:
        return ReasonerLLMStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )

    async def _ask(self, question: str) -> SpokenAnswer:
        if self.before_answer is not None:
            await self.before_answer()
        # the call's earlier answers, for follow-ups ("why was it moved?")
        self.context.extras["previous_turns"] = [
            {"question": a.question, "answer": a.text, "citations": a.citations}
            for a in self.answers[-4:]
        ]
        try:
            raw = await self.reasoner.answer(question, self.context)
        except Exception as exc:  # a failed question must not end the call
            logger.exception("the reasoner failed on %r", question)
            return SpokenAnswer(question=question, text=f"Sorry, I could not answer that: {exc}.")
        return spoken_answer(question, raw)

    async def _deliver(self, answer: SpokenAnswer) -> None:
        self.answers.append(answer)
        del self.answers[:-100]
        if self.on_answer is None:
            return
        try:
            result = self.on_answer(answer)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("the answer callback failed")


class ReasonerLLMStream(llm.LLMStream):
    _llm: ReasonerLLM

    async def _run(self) -> None:
        owner = self._llm
        items = list(self._chat_ctx.items)
        answered = _answered_turn(items, owner._pending)
        if answered is not None:
            await self._speak(answered)
            return
        turn_text = _last_user_text(items)
        question = turn_text if owner.answer_everything else question_in(turn_text)
        if not question:
            logger.debug("not a question, no reply: %r", turn_text)
            return
        answer = await owner._ask(question)
        offered = {getattr(t, "id", None) or _tool_name(t) for t in self._tools}
        calls = [c for c in answer.tool_calls if c["name"] in offered]
        if not calls:
            await self._speak(answer)
            return
        turn = uuid.uuid4().hex[:10]
        owner._pending[turn] = answer
        while len(owner._pending) > 16:
            owner._pending.popitem(last=False)
        for i, call in enumerate(calls):
            call_id = f"{turn}_{i}"
            owner.memo.put(call_id, call["content"])
            self._event_ch.send_nowait(
                ChatChunk(
                    id=turn,
                    delta=ChoiceDelta(
                        role="assistant",
                        tool_calls=[
                            FunctionToolCall(
                                name=call["name"],
                                arguments=json.dumps(call["arguments"], default=str),
                                call_id=call_id,
                            )
                        ],
                    ),
                )
            )

    async def _speak(self, answer: SpokenAnswer) -> None:
        await self._llm._deliver(answer)
        chunk_id = uuid.uuid4().hex[:10]
        for sentence in _SENTENCE_END.split(answer.text):
            if sentence:
                self._event_ch.send_nowait(
                    ChatChunk(
                        id=chunk_id, delta=ChoiceDelta(role="assistant", content=sentence + " ")
                    )
                )


def spoken_answer(question: str, raw: Any) -> SpokenAnswer:
    """Normalise a reasoner's answer (object or dict) and keep reasoning out of the text."""
    get = raw.get if isinstance(raw, dict) else (lambda k, d=None: getattr(raw, k, d))
    text = strip_reasoning(str(get("answer", "") or "")).strip()
    reasoning = [str(step) for step in (get("reasoning", None) or [])]
    calls = [_tool_call_dict(c) for c in (get("tool_calls", None) or [])]
    citations = [_plain(c) for c in (get("citations", None) or [])]
    if get("understood", True) is False:  # one short sentence, never the reasoner's help list
        text = NOT_PLACED
    return SpokenAnswer(
        question=question,
        text=text or "I have no answer to that.",
        reasoning=reasoning,
        tool_calls=calls,
        citations=citations,
        raw=raw,
    )


def _tool_call_dict(call: Any) -> dict[str, Any]:
    data = _plain(call)
    name = str(data.get("name", ""))
    arguments = data.get("arguments") or {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            arguments = {"raw": arguments}
    summary_fn = getattr(call, "summary", None)
    summary = (
        summary_fn()
        if callable(summary_fn)
        else str(data.get("result_summary") or data.get("summary") or "")
    )
    error = data.get("error")
    content_fn = getattr(call, "content", None)
    if callable(content_fn):  # a tools.ToolResult: the exact text a model would get
        content = content_fn()
    elif error:
        content = json.dumps({"error": error})
    else:  # an agent.reasoning.answer.ToolCallRecord keeps a summary of what the call found
        content = summary
    out = {"name": name, "arguments": arguments, "content": content, "summary": summary}
    if error:
        out["error"] = str(error)
    return out


def _plain(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if hasattr(obj, "__dataclass_fields__"):
        return {k: getattr(obj, k) for k in obj.__dataclass_fields__}
    return {"value": str(obj)}


def _tool_name(tool: Any) -> str | None:
    info = getattr(tool, "info", None)
    return getattr(info, "name", None)


def _last_user_text(items: Sequence[llm.ChatItem]) -> str:
    for item in reversed(items):
        if isinstance(item, llm.ChatMessage) and item.role == "user":
            return (item.text_content or "").strip()
    return ""


def _answered_turn(
    items: Sequence[llm.ChatItem], pending: OrderedDict[str, SpokenAnswer]
) -> SpokenAnswer | None:
    """The pending answer whose tool outputs came back since the last user message."""
    outputs: set[str] = set()
    for item in reversed(items):
        if isinstance(item, llm.ChatMessage) and item.role == "user":
            break
        if isinstance(item, llm.FunctionCallOutput):
            outputs.add(item.call_id)
    for call_id in outputs:
        turn = call_id.rsplit("_", 1)[0]
        if turn in pending:
            return pending.pop(turn)
    return None
