"""What a tool may touch while it runs: the memory, the session and a few optional actions.

Tools are plain functions; the registry passes them this context as their first argument,
so a tool never looks anything up globally and never knows which reasoner called it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from memory import Memory
    from perception.backend import PerceptionBackend
    from tools.reminders import ReminderScheduler


class Publisher(Protocol):
    """Anything that can put a message on a topic (the in-process bus, the MQTT bridge)."""

    async def publish(self, topic: str, message: Any) -> None: ...


@dataclass
class ToolContext:
    """One session's view of the world for the duration of a question or a trigger."""

    memory: Memory
    session_id: str
    backend: PerceptionBackend | None = None  # for re-listening to archived audio
    bus: Publisher | None = None  # for publish()
    reminders: ReminderScheduler | None = None  # for schedule_reminder()
    extras: dict[str, Any] = field(default_factory=dict)


class ToolUnavailableError(RuntimeError):
    """A tool needs a part of the context that this run does not have."""


class ToolInputError(ValueError):
    """Arguments that pass the schema but make no sense together (end before start)."""


__all__ = ["Publisher", "ToolContext", "ToolInputError", "ToolUnavailableError"]
