"""Runs a reasoner's tool calls through the registry and keeps the record of what happened."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from agent.answer import Citation, ToolCallRecord
from perception.events import BaseEvent
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
        self, name: str, arguments: Mapping[str, Any] | str | None = None, *, call_id: str | None = None
    ) -> ToolResult:
        result = await self.registry.call(name, arguments, self.ctx, call_id=call_id)
        log.debug("tool %s(%s) -> %s", name, result.arguments, result.summary())
        self.results.append(result)
        self.records.append(
            ToolCallRecord(name=name, arguments=result.arguments, result_summary=result.summary(), error=result.error)
        )
        if isinstance(result.value, SpeakersOverview):
            self.speaker_names.update({s.speaker: s.name for s in result.value.speakers})
        return result

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


def citations_in(value: Any, loop: ToolLoop) -> list[Citation]:
    if isinstance(value, BaseEvent):
        return [loop.cite(value)]
    if isinstance(value, Relistened):
        return [Citation(start=value.start, end=value.end, kind="relisten", text=value.answer)]
    if isinstance(value, list | tuple):
        return [c for item in value for c in citations_in(item, loop)]
    return []


__all__ = ["ToolLoop", "citations_in"]
