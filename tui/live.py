"""Where a live session's events come from: the in-process bus, MQTT, or a recording
running beside the UI. Each source is an async iterator of events for ``MossTUI(live=...)``.
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
    from agent.bus import EventBus
    from agent.recorder import Recorder

log = logging.getLogger(__name__)


async def bus_events(bus: EventBus, pattern: str = "moss/#") -> AsyncIterator[BaseEvent]:
    """Events published on ``bus``; a slow screen drops its oldest, never slows perception."""
    with bus.subscribe(pattern, overflow="drop_oldest") as subscription:
        async for message in subscription:
            if isinstance(message.payload, BaseEvent):
                yield message.payload


def bus_publisher(bus: EventBus, loop: asyncio.AbstractEventLoop) -> Callable[[Sequence[Event]], None]:
    """A recorder ``on_events`` sink that publishes, from the recorder's thread, on ``bus``."""

    def publish(events: Sequence[Event]) -> None:
        for event in events:
            asyncio.run_coroutine_threadsafe(bus.publish_event(event), loop).result()

    return publish


def record_beside(
    recorder: Recorder, path: str | Path, title: str | None, done: Callable[[BaseException | None], None]
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


async def mqtt_events(host: str, port: int, pattern: str = "moss/#") -> AsyncIterator[BaseEvent]:
    """Events published on an MQTT broker (JSON lines, as the MQTT bridge sends them).

    Reconnects with a growing pause when the broker goes away; payloads that are not
    events (alerts, answers) are skipped.
    """
    import aiomqtt

    from perception.events import event_from_json

    pause = 1.0
    while True:
        try:
            async with aiomqtt.Client(host, port) as client:
                await client.subscribe(pattern, qos=1)
                pause = 1.0
                async for message in client.messages:
                    try:
                        yield event_from_json(bytes(message.payload))  # type: ignore[arg-type]
                    except ValueError:
                        log.debug("not an event on %s", message.topic)
        except aiomqtt.MqttError as exc:
            log.warning("MQTT broker %s:%d: %s; retrying in %.0f s", host, port, exc, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)


def parse_host_port(value: str, default_port: int = 1883) -> tuple[str, int]:
    """``HOST:PORT`` (or ``HOST``) -> (host, port); raises ValueError with a hint."""
    host, _, port = value.rpartition(":") if ":" in value else (value, "", "")
    if not host:
        raise ValueError(f"expected HOST:PORT for the MQTT broker, got {value!r}")
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"MQTT port must be a number, got {port!r}") from None
    if not 0 < number < 65536:
        raise ValueError(f"MQTT port out of range: {number}")
    return host, number


__all__ = ["bus_events", "bus_publisher", "mqtt_events", "parse_host_port", "record_beside"]
