"""Where events travel: MQTT-style topics ``moss/<session>/<kind>``, and how patterns match.

The addressing half of the event contract: the in-process bus, the MQTT bridge, tools that
publish alerts and subscribers on other machines all name topics with these functions.
"""

from __future__ import annotations

from perception.events import BaseEvent

__all__ = ["TOPIC_ROOT", "event_topic", "session_topic", "topic_matches", "topic_parts"]

TOPIC_ROOT = "moss"


def session_topic(session_id: str, kind: str) -> str:
    """``moss/<session>/<kind>``; MQTT's special characters in ids become ``_``."""
    return f"{TOPIC_ROOT}/{_level(session_id or 'unknown')}/{_level(str(kind))}"


def event_topic(event: BaseEvent) -> str:
    return session_topic(event.session_id, event.kind)  # type: ignore[attr-defined]


def _level(part: str) -> str:
    return part.replace("/", "_").replace("+", "_").replace("#", "_")


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT matching: ``+`` is exactly one level, a trailing ``#`` any number (even none)."""
    pat = pattern.split("/")
    top = topic.split("/")
    for i, part in enumerate(pat):
        if part == "#":
            return True
        if i >= len(top):
            return False
        if part != "+" and part != top[i]:
            return False
    return len(pat) == len(top)


def topic_parts(topic: str) -> tuple[str, str] | None:
    """(session, kind) of a ``moss/<session>/<kind>`` topic, else None."""
    parts = topic.split("/")
    if len(parts) == 3 and parts[0] == TOPIC_ROOT:
        return parts[1], parts[2]
    return None
