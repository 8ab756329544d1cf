"""Runs a reasoner's tool calls through the registry and keeps the record of what happened."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from agent.reasoning.answer import Citation, ToolCallRecord, dedupe_citations
from perception.events import BaseEvent, TranscriptSegment
from tools.context import ToolContext
from tools.registry import ToolRegistry, ToolResult
from tools.relisten import Relistened
from tools.session import SpeakersOverview

log = logging.getLogger(__name__)


class ToolLoop:
    """One question's worth of tool calls against one session."""

    def __init__(self, registry: ToolRegistry, ctx: ToolContext) -> None:
        self.registry = registry
        self.ctx = ctx
        self.results: list[ToolResult] = []
        self.records: list[ToolCallRecord] = []
        # Speaker id -> display name, learnt from ``speakers`` results, for readable citations.
        self.speaker_names: dict[str, str] = {}

    async def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | str | None = None,
        *,
        call_id: str | None = None,
    ) -> ToolResult:
        result = await self.registry.call(name, arguments, self.ctx, call_id=call_id)
        if result.ok and self.ctx.extras.get("addressed_spans"):
            result.value = without_addressed(result.value, self.ctx.extras["addressed_spans"])
        log.debug("tool %s(%s) -> %s", name, result.arguments, result.summary())
        self.results.append(result)
        self.records.append(
            ToolCallRecord(
                name=name,
                arguments=result.arguments,
                result_summary=result.summary(),
                error=result.error,
            )
        )
        if isinstance(result.value, SpeakersOverview):
            self.speaker_names.update({s.speaker: s.name for s in result.value.speakers})
        return result

    def learn_speaker_names(self) -> None:
        """Speaker names from memory, for citations of a model that never asked for them."""
        try:
            names = self.ctx.memory.speaker_names(self.ctx.session_id)
        except Exception:  # names only make citations nicer; never fail an answer for them
            log.debug("no speaker names for %s", self.ctx.session_id, exc_info=True)
            return
        for speaker, name in names.items():
            self.speaker_names.setdefault(speaker, name)

    def name_of(self, speaker: str | None) -> str | None:
        if speaker is None:
            return None
        return self.speaker_names.get(speaker, speaker)

    def cite(self, event: BaseEvent) -> Citation:
        return Citation.from_event(event, self.speaker_names)

    def citations_from_results(self) -> list[Citation]:
        """Everything the tools returned that points at a stretch of audio."""
        out: list[Citation] = []
        for result in self.results:
            out.extend(citations_in(result.value, self))
        return out

    def citations_for(self, answer: str, limit: int = 20) -> list[Citation]:
        """What a model's free-text answer rests on: the tool results at the times it names
        (mm:ss or seconds) or whose words it quotes; all results if it names none."""
        self.learn_speaker_names()
        found = dedupe_citations(self.citations_from_results())
        times = mentioned_times(answer)
        lowered = answer.lower()
        named = [
            c
            for c in found
            if any(c.start - 2.0 <= t <= c.end + 2.0 for t in times)
            or (c.text and len(c.text) > 12 and c.text.lower()[:40] in lowered)
            or (c.label and c.kind in {"sound", "music"} and c.label.lower() in lowered)
        ]
        return (named or found)[:limit]


def without_addressed(value: Any, spans: list[tuple[float, float]]) -> Any:
    """A transcript or passage result without what was said to the assistant itself (its
    questions are no evidence about the session, for any reasoner)."""

    def heard(item: Any) -> bool:
        return any(start - 0.5 <= float(item.start) <= end + 0.5 for start, end in spans)

    if isinstance(value, list) and value and all(isinstance(v, TranscriptSegment) for v in value):
        return [v for v in value if not heard(v)]
    passages = getattr(value, "passages", None)
    if isinstance(value, BaseModel) and isinstance(passages, list):
        update: dict[str, Any] = {
            f: [p for p in getattr(value, f) if not heard(p)]
            for f in ("passages", "closest")
            if hasattr(value, f)
        }
        if len(update["passages"]) < len(passages):
            # "relevant" and "strong" may have rested on the question itself; meaning scores
            # borrow from neighbours, so only the query's own words count as strong now
            words = set(re.findall(r"[a-z]{3,}", str(getattr(value, "query", "")).lower()))
            kept = update["passages"]
            if hasattr(value, "relevant"):
                update["relevant"] = bool(kept)
            if hasattr(value, "strong"):
                update["strong"] = any(
                    words & set(re.findall(r"[a-z]{3,}", str(p.text).lower())) for p in kept
                )
        return value.model_copy(update=update)
    return value


_CLOCK_IN_TEXT = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])")
_SECONDS_IN_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)\b")


def mentioned_times(text: str) -> list[float]:
    """Stream times written in ``text`` as mm:ss, h:mm:ss or "12.5 s"."""
    times: list[float] = []
    for m in _CLOCK_IN_TEXT.finditer(text):
        a, b, c = m.groups()
        times.append(int(a) * 3600 + int(b) * 60 + int(c) if c else int(a) * 60 + int(b))
    times += [float(m.group(1)) for m in _SECONDS_IN_TEXT.finditer(text)]
    return [float(t) for t in times]


def citations_in(value: Any, loop: ToolLoop) -> list[Citation]:
    if isinstance(value, BaseEvent):
        return [loop.cite(value)]
    if isinstance(value, Relistened):
        return [Citation(start=value.start, end=value.end, kind="relisten", text=value.answer)]
    if isinstance(value, list | tuple):
        return [c for item in value for c in citations_in(item, loop)]
    if isinstance(value, BaseModel) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    ):
        return _said_in(value, loop)
    return []


def _said_in(value: Any, loop: ToolLoop) -> list[Citation]:
    """Passages, minutes items and topics: what was said at a time (their own citations
    when they carry some, else themselves)."""
    names = (
        type(value).model_fields
        if isinstance(value, BaseModel)
        else [f.name for f in dataclasses.fields(value)]
    )
    fields = [
        getattr(value, n) for n in names if n != "closest"
    ]  # what came closest is no evidence
    inner = [
        f
        for f in fields
        if isinstance(f, list | tuple | BaseModel)
        or (dataclasses.is_dataclass(f) and not isinstance(f, type))
    ]
    own = [c for item in inner for c in citations_in(item, loop)]
    if own:
        return own
    text, start, end = (
        getattr(value, "text", None),
        getattr(value, "start", None),
        getattr(value, "end", None),
    )
    if isinstance(text, str) and isinstance(start, int | float) and isinstance(end, int | float):
        speaker = loop.name_of(getattr(value, "speaker", None))
        return [
            Citation(
                start=float(start),
                end=float(end),
                kind="transcript",
                text=text.strip(),
                speaker=speaker,
            )
        ]
    return []


__all__ = ["ToolLoop", "citations_in", "mentioned_times", "without_addressed"]
