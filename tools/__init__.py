"""Typed functions over memory (and a few actions) that reasoners call as tools.

``builtin_registry()`` holds every built-in tool; ``ToolRegistry`` turns any typed Python
function into a tool with a JSON schema for OpenAI-style and Qwen3 function calling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tools.actions import Alert, Note, note, publish, schedule_reminder
from tools.audio_scene import sound_events_between, voice_traits_between
from tools.clock import format_clock, format_span
from tools.context import Publisher, ToolContext, ToolInputError, ToolUnavailableError
from tools.minutes import minutes, topics
from tools.passages import Passage, PassageResult, search_passages
from tools.registry import Tool, ToolRegistry, ToolResult, tool_from_function
from tools.relisten import Relistened, relisten
from tools.reminders import Reminder, ReminderScheduler
from tools.session import SessionOverview, SpeakersOverview, SpeakerSummary, session_info, speakers
from tools.transcript import (
    search_transcript,
    speaker_transcript,
    transcript_at,
    transcript_between,
)

# Tools that only read; safe to give any model. Actions change the world outside memory.
READ_TOOLS = (
    session_info,
    transcript_at,
    transcript_between,
    search_transcript,
    search_passages,
    speaker_transcript,
    minutes,
    topics,
    speakers,
    sound_events_between,
    voice_traits_between,
)
LISTEN_TOOLS = (relisten,)
ACTION_TOOLS = (publish, schedule_reminder, note)


def builtin_registry(
    *,
    actions: bool = True,
    listen: bool = True,
    timeout: float | None = None,
    sync_in_thread: bool = True,
) -> ToolRegistry:
    """A registry with the built-in tools (reading ones always; re-listen and actions optional).

    ``sync_in_thread=False`` runs the memory tools inline (see ``ToolRegistry``)."""
    registry = ToolRegistry(sync_in_thread=sync_in_thread)
    if timeout is not None:
        registry.default_timeout = timeout
    funcs: tuple[Callable[..., Any], ...] = (
        READ_TOOLS + (LISTEN_TOOLS if listen else ()) + (ACTION_TOOLS if actions else ())
    )
    for func in funcs:
        registry.register(func, timeout=120.0 if func is relisten else None)
    return registry


__all__ = [
    "ACTION_TOOLS",
    "LISTEN_TOOLS",
    "Note",
    "Passage",
    "PassageResult",
    "READ_TOOLS",
    "Alert",
    "Publisher",
    "Relistened",
    "Reminder",
    "ReminderScheduler",
    "SessionOverview",
    "SpeakerSummary",
    "SpeakersOverview",
    "Tool",
    "ToolContext",
    "ToolInputError",
    "ToolRegistry",
    "ToolResult",
    "ToolUnavailableError",
    "builtin_registry",
    "format_clock",
    "format_span",
    "tool_from_function",
]
