"""In-process publish/subscribe for events, with backpressure, on MQTT-style topics.

Topics are ``moss/<session>/<kind>`` (``moss/s1/transcript``, ``moss/s1/alerts``) and
patterns use MQTT's wildcards (``+`` one level, ``#`` the rest), so the same subscriber code
works on this bus and behind the MQTT bridge (``agent/bus/mqtt.py``). Each subscription has a
bounded queue: by default a publisher waits when a subscriber falls behind (backpressure,
nothing lost); a subscription made with ``overflow="drop_oldest"`` (a UI) never slows
perception down and drops its oldest messages instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from perception.events import BaseEvent
from perception.topics import TOPIC_ROOT, event_topic, session_topic, topic_matches, topic_parts

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1024

Overflow = Literal["block", "drop_oldest"]


@dataclass(frozen=True)
class BusMessage:
    topic: str
    payload: Any  # an event, another pydantic model, or plain JSON data
    published_at: float  # time.perf_counter() at publish, for latency measurements


_END = object()


class Subscription:
    """An async iterator of ``BusMessage`` for one topic pattern."""

    def __init__(self, bus: EventBus, pattern: str, maxsize: int, overflow: Overflow) -> None:
        self.bus = bus
        self.pattern = pattern
        self.overflow = overflow
        self.dropped = 0
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self._closed = False  # the subscriber left: drop what is queued
        self._ended = False  # the bus closed: deliver what is queued, then stop
        self._space = asyncio.Event()  # set whenever the reader takes a message

    @property
    def closed(self) -> bool:
        return self._closed

    def qsize(self) -> int:
        return self._queue.qsize()

    async def _deliver(self, message: BusMessage) -> None:
        if self._closed:
            return
        if self.overflow == "drop_oldest":
            while self._queue.full():
                self._queue.get_nowait()
                self.dropped += 1
            self._queue.put_nowait(message)
        else:
            while self._queue.full():
                self._space.clear()
                await self._space.wait()
                if self._closed:
                    return
            self._queue.put_nowait(message)

    def _end(self) -> None:
        self._ended = True
        # When full, the reader is busy draining; it stops once the queue runs dry.
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_END)

    async def get(self) -> BusMessage:
        """The next message; raises ``StopAsyncIteration`` once the subscription is over."""
        if self._closed or (self._ended and self._queue.empty()):
            raise StopAsyncIteration
        item = await self._queue.get()
        self._space.set()
        if item is _END or self._closed:
            raise StopAsyncIteration
        return item

    def __aiter__(self) -> AsyncIterator[BusMessage]:
        return self

    async def __anext__(self) -> BusMessage:
        return await self.get()

    def close(self) -> None:
        """Leave the bus; unblocks publishers waiting on this subscriber."""
        if self._closed:
            return
        self._closed = True
        self.bus._unsubscribe(self)  # noqa: SLF001
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_END)  # wakes a reader waiting in get()
        self._space.set()  # wakes publishers waiting for room

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """Many publishers, many subscribers, one process."""

    def __init__(self, maxsize: int = DEFAULT_QUEUE_SIZE) -> None:
        self.maxsize = maxsize
        self._subs: list[Subscription] = []
        self._routes: dict[str, list[Subscription]] = {}  # topic -> matching subscriptions
        self._closed = False

    def subscribe(
        self,
        pattern: str = f"{TOPIC_ROOT}/#",
        maxsize: int | None = None,
        overflow: Overflow = "block",
    ) -> Subscription:
        if self._closed:
            raise RuntimeError("the bus is closed")
        sub = Subscription(self, pattern, maxsize or self.maxsize, overflow)
        self._subs.append(sub)
        self._routes.clear()
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._routes.clear()

    def _route(self, topic: str) -> list[Subscription]:
        subs = self._routes.get(topic)
        if subs is None:
            subs = [s for s in self._subs if topic_matches(s.pattern, topic)]
            self._routes[topic] = subs
        return subs

    async def publish(self, topic: str, message: Any) -> None:
        """Deliver to every matching subscriber; waits while a blocking subscriber is full."""
        if self._closed:
            raise RuntimeError("the bus is closed")
        envelope = BusMessage(topic, message, time.perf_counter())
        for sub in self._route(topic):
            await sub._deliver(envelope)  # noqa: SLF001

    async def publish_event(self, event: BaseEvent) -> str:
        topic = event_topic(event)
        await self.publish(topic, event)
        return topic

    def close(self) -> None:
        """No more messages: subscribers get what is queued, then their iteration ends."""
        self._closed = True
        for sub in list(self._subs):
            sub._end()  # noqa: SLF001

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)


__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "TOPIC_ROOT",
    "BusMessage",
    "EventBus",
    "Overflow",
    "Subscription",
    "event_topic",
    "session_topic",
    "topic_matches",
    "topic_parts",
]
