"""A bus consumer that stores every event it sees in memory (the subscriber side of the bus)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import TYPE_CHECKING, cast

from agent.bus.in_process import BusMessage
from perception.events import BaseEvent

if TYPE_CHECKING:
    from memory import Memory
    from perception.events import Event

log = logging.getLogger(__name__)

OnEvent = Callable[[BaseEvent], Awaitable[object]]


async def store_events(
    messages: AsyncIterable[BusMessage],
    memory: Memory,
    *,
    on_event: OnEvent | None = None,
    stop_after: int | None = None,
) -> int:
    """Ingest each event of ``messages`` into its session (created when new), then call
    ``on_event`` (e.g. a ``TriggerEngine.handle``). Returns how many events were new.

    Stops when the messages end, or after ``stop_after`` events.
    """
    known: set[str] = set()
    added = 0
    seen = 0
    async for message in messages:
        event = message.payload
        if not isinstance(event, BaseEvent):
            continue
        session = event.session_id
        if session not in known:
            await asyncio.to_thread(_ensure_session, memory, session)
            known.add(session)
        added += await asyncio.to_thread(memory.ingest, session, [cast("Event", event)])
        if on_event is not None:
            await on_event(event)
        seen += 1
        if stop_after is not None and seen >= stop_after:
            break
    return added


def _ensure_session(memory: Memory, session_id: str) -> None:
    if memory.find_session(session_id) is None:
        log.info("new session %s from the bus", session_id)
        memory.create_session(session_id, source="bus", session_id=session_id)


__all__ = ["store_events"]
