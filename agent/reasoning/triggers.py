"""Proactive rules: when an event matches, run a tool (publish an alert, note it in memory).

Rules live in a TOML or JSON file::

    [[trigger]]
    name = "doorbell"
    kind = "sound"                 # sound | emotion | phrase
    match = "doorbell"             # sound label, emotion(s) "angry|upset", or phrase
    action = "publish"             # any tool: publish, note, schedule_reminder, ...
    arguments = { message = "Doorbell at {time}", level = "alert" }
    cooldown = 30                  # seconds of stream time before it may fire again

Argument strings are templates over the event: ``{time}`` (mm:ss), ``{start}``, ``{end}``,
``{speaker}``, ``{label}``, ``{emotion}``, ``{text}``, ``{match}``, ``{session}``,
``{trigger}``; ``{start}`` alone (a whole string) stays a number, so ``at = "{start}"`` works.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.bus.in_process import BusMessage
from perception.events import BaseEvent, MusicEvent, SoundEvent, TranscriptSegment, VoiceTraits
from tools.audio_scene import label_matches
from tools.clock import format_clock
from tools.context import Publisher, ToolContext
from tools.registry import ToolRegistry, ToolResult
from tools.reminders import ReminderScheduler

if TYPE_CHECKING:
    from memory import Memory
    from perception.backend import PerceptionBackend

log = logging.getLogger(__name__)


class TriggerConfigError(ValueError):
    """A trigger file that cannot be used; the message names the file and the entry."""


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    kind: Literal["sound", "emotion", "phrase"]
    match: str = Field(min_length=1)
    action: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    cooldown: float = Field(default=0.0, ge=0.0)
    speaker: str | None = None
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("match")
    @classmethod
    def _phrase_is_a_pattern(cls, value: str) -> str:
        return value.strip()

    def matches(self, event: BaseEvent) -> str | None:
        """What matched (label, emotion or phrase) when ``event`` fires this trigger, else None."""
        if self.speaker is not None and (event.speaker or "") != self.speaker:
            return None
        if (
            self.min_confidence is not None
            and event.confidence is not None
            and event.confidence < self.min_confidence
        ):
            return None
        if self.kind == "sound" and isinstance(event, SoundEvent | MusicEvent):
            return event.label if label_matches(event.label, self.match) else None
        if self.kind == "emotion" and isinstance(event, VoiceTraits) and event.emotion:
            wanted = {e.strip().lower() for e in self.match.split("|")}
            return event.emotion if event.emotion.lower() in wanted else None
        if self.kind == "phrase" and isinstance(event, TranscriptSegment):
            words = r"\s+".join(re.escape(w) for w in self.match.split())
            found = re.search(rf"\b{words}\b", event.text, re.I)
            return found.group(0) if found else None
        return None


@dataclass
class TriggerFiring:
    trigger: str
    event: BaseEvent
    matched: str
    result: ToolResult


def load_triggers(path: str | Path, registry: ToolRegistry | None = None) -> list[Trigger]:
    """Read triggers from a ``.toml`` or ``.json`` file (a list, or ``{"trigger": [...]}``)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TriggerConfigError(f"cannot read trigger file {path}: {exc.strerror or exc}") from exc
    try:
        data: Any = (
            json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw.decode())
        )
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TriggerConfigError(
            f"{path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {exc}"
        ) from exc
    return parse_triggers(data, source=str(path), registry=registry)


def parse_triggers(
    data: Any, source: str = "triggers", registry: ToolRegistry | None = None
) -> list[Trigger]:
    entries = data.get("trigger", data.get("triggers")) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise TriggerConfigError(
            f"{source}: expected a list of triggers ([[trigger]] tables in TOML)"
        )
    triggers: list[Trigger] = []
    for index, entry in enumerate(entries, 1):
        label = f"{source}: trigger #{index}" + (
            f" ({entry.get('name')!r})" if isinstance(entry, dict) and entry.get("name") else ""
        )
        try:
            trigger = Trigger.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors()
            )
            raise TriggerConfigError(f"{label}: {problems}") from None
        if registry is not None and trigger.action not in registry:
            raise TriggerConfigError(
                f"{label}: action {trigger.action!r} is not a tool; tools: {', '.join(registry.names())}"
            )
        triggers.append(trigger)
    names = [t.name for t in triggers]
    if len(set(names)) != len(names):
        raise TriggerConfigError(f"{source}: trigger names must be unique")
    return triggers


class TriggerEngine:
    """Checks each event against the triggers and runs the matching ones' tools."""

    def __init__(
        self,
        triggers: Sequence[Trigger],
        registry: ToolRegistry,
        memory: Memory,
        *,
        bus: Publisher | None = None,
        reminders: ReminderScheduler | None = None,
        backend: PerceptionBackend | None = None,
    ) -> None:
        for trigger in triggers:
            if trigger.action not in registry:
                raise TriggerConfigError(
                    f"trigger {trigger.name!r}: action {trigger.action!r} is not a tool"
                )
        self.triggers = list(triggers)
        self.registry = registry
        self.memory = memory
        self.bus = bus
        self.reminders = reminders
        self.backend = backend
        self.firings: list[TriggerFiring] = []
        self._last_fired: dict[tuple[str, str], float] = {}  # (trigger, session) -> stream time

    async def handle(self, event: BaseEvent) -> list[TriggerFiring]:
        """Run every trigger ``event`` matches (respecting cooldowns); advance reminders."""
        fired: list[TriggerFiring] = []
        session = event.session_id
        if self.reminders is not None and session:
            # The event has been heard to its end: that is "now" for reminders made below.
            await self.reminders.advance(session, event.end)
        for trigger in self.triggers:
            matched = trigger.matches(event)
            if matched is None:
                continue
            last = self._last_fired.get((trigger.name, session))
            if last is not None and event.start - last < trigger.cooldown:
                log.debug("trigger %s in cooldown at %.1f", trigger.name, event.start)
                continue
            self._last_fired[(trigger.name, session)] = event.start
            ctx = ToolContext(
                memory=self.memory,
                session_id=session,
                backend=self.backend,
                bus=self.bus,
                reminders=self.reminders,
            )
            arguments = _fill(trigger.arguments, _template_values(trigger, event, matched))
            result = await self.registry.call(trigger.action, arguments, ctx)
            if result.error:
                log.warning("trigger %s: %s failed: %s", trigger.name, trigger.action, result.error)
            firing = TriggerFiring(trigger.name, event, matched, result)
            fired.append(firing)
        self.firings.extend(fired)
        return fired

    async def run(self, messages: AsyncIterable[BusMessage]) -> int:
        """Handle every event in ``messages`` (e.g. a bus subscription) until it ends."""
        count = 0
        async for message in messages:
            if isinstance(message.payload, BaseEvent):
                count += len(await self.handle(message.payload))
        return count


def _template_values(trigger: Trigger, event: BaseEvent, matched: str) -> dict[str, Any]:
    return {
        "time": format_clock(event.start),
        "start": round(event.start, 2),
        "end": round(event.end, 2),
        "speaker": event.speaker or "someone",
        "label": getattr(event, "label", ""),
        "emotion": getattr(event, "emotion", "") or "",
        "text": getattr(event, "text", ""),
        "match": matched,
        "session": event.session_id,
        "trigger": trigger.name,
    }


_WHOLE = re.compile(r"^\{(\w+)\}$")


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        try:
            return value.format_map(values)
        except (KeyError, ValueError, IndexError):
            log.warning("template %r has unknown fields; sent as written", value)
            return value
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


__all__ = [
    "Trigger",
    "TriggerConfigError",
    "TriggerEngine",
    "TriggerFiring",
    "load_triggers",
    "parse_triggers",
]
