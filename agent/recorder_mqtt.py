"""Publishing a recording's events on MQTT from the recorder's synchronous loop.

The recorder calls its ``on_events`` sink from plain (blocking) code; the MQTT bridge
(``agent.mqtt.MqttPublisher``) is asyncio. ``MqttEventSink`` runs the publisher on an
event loop in a thread of its own and waits for the broker's acknowledgement of each
batch, so events reach the broker in the order they were stored, and a broker that stays
away fails the recording with ``MqttUnavailableError`` instead of losing events silently
(what is stored in memory stays stored; re-running resumes).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from types import TracebackType

from agent.mqtt import MqttPublisher, MqttSettings, MqttUnavailableError
from agent.recorder import RecorderError
from perception.events import Event

log = logging.getLogger(__name__)


class MqttEventSink:
    """A recorder ``on_events`` sink: ``with MqttEventSink(settings) as sink: Recorder(..., on_events=sink)``."""

    def __init__(self, settings: MqttSettings, give_up_after: float = 30.0) -> None:
        self.settings = settings
        self.published = 0
        self._publisher = MqttPublisher(settings, give_up_after=give_up_after)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mqtt-sink", daemon=True)

    def __enter__(self) -> MqttEventSink:
        self._thread.start()
        try:
            self._run(self._publisher.__aenter__())  # connect now: a wrong address fails before any work
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._run(self._publisher.aclose())
        finally:
            self._stop()

    def __call__(self, events: Sequence[Event]) -> None:
        async def publish_all() -> None:
            for event in events:
                await self._publisher.publish_event(event)

        try:
            self._run(publish_all())
        except MqttUnavailableError as exc:
            raise RecorderError(
                f"{exc}; everything heard so far is stored in memory: run the same command again to resume"
            ) from exc
        self.published += len(events)

    def _run(self, coroutine):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


__all__ = ["MqttEventSink"]
