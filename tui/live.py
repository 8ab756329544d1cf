"""Where a live session's events come from: the in-process bus, MQTT (through the agent's
bridge), or a recording running beside the UI. Each source is an async iterator of events for ``MossTUI(live=...)``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from perception.events import BaseEvent, Event

if TYPE_CHECKING:
    from agent.bus.in_process import EventBus
    from agent.bus.mqtt import MqttSettings
    from agent.recording.recorder import Recorder

log = logging.getLogger(__name__)


async def bus_events(bus: EventBus, pattern: str = "moss/#") -> AsyncIterator[BaseEvent]:
    """Events published on ``bus``; a slow screen drops its oldest, never slows perception."""
    with bus.subscribe(pattern, overflow="drop_oldest") as subscription:
        async for message in subscription:
            if isinstance(message.payload, BaseEvent):
                yield message.payload


def bus_publisher(
    bus: EventBus, loop: asyncio.AbstractEventLoop
) -> Callable[[Sequence[Event]], None]:
    """A recorder ``on_events`` sink that publishes, from the recorder's thread, on ``bus``."""

    def publish(events: Sequence[Event]) -> None:
        for event in events:
            asyncio.run_coroutine_threadsafe(bus.publish_event(event), loop).result()

    return publish


def record_beside(
    recorder: Recorder,
    path: str | Path,
    title: str | None,
    done: Callable[[BaseException | None], None],
) -> threading.Thread:
    """Record ``path`` in a thread (perception is CPU-bound and synchronous)."""

    def run() -> None:
        try:
            recorder.record_file(path, title)
        except BaseException as exc:  # reported to the UI, which stays up
            log.exception("recording %s failed", path)
            done(exc)
            return
        done(None)

    thread = threading.Thread(target=run, name="recorder", daemon=True)
    thread.start()
    return thread


async def mqtt_events(
    settings: MqttSettings, pattern: str = "moss/#", ready: asyncio.Event | None = None
) -> AsyncIterator[BaseEvent]:
    """Events published on an MQTT broker, through the agent's MQTT bridge
    (``agent.bus.mqtt.mqtt_messages``: QoS 1, reconnects by itself). Messages that are not
    events (alerts, answers) are skipped; ``ready`` is set once subscribed.
    """
    from agent.bus.mqtt import mqtt_messages

    async for message in mqtt_messages(settings, pattern, ready=ready):
        if isinstance(message.payload, BaseEvent):
            yield message.payload


__all__ = ["bus_events", "bus_publisher", "mqtt_events", "record_beside"]
