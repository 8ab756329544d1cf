"""Publishing a recording's events on MQTT from the recorder's synchronous loop.

The recorder calls its ``on_events`` sink from plain (blocking) code; the MQTT bridge
(``agent.bus.mqtt.MqttPublisher``) is asyncio. ``MqttEventSink`` runs the publisher on an
event loop in a thread of its own and waits for the broker's acknowledgement of each
batch, so events reach the broker in the order they were stored, and a broker that stays
away fails the recording with ``MqttUnavailableError`` instead of losing events silently
(what is stored in memory stays stored; re-running resumes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType

from agent.bus.mqtt import MqttPublisher, MqttSettings, MqttUnavailableError
from agent.recording.loop_thread import LoopThread
from agent.recording.recorder import RecorderError
from perception.events import Event

log = logging.getLogger(__name__)


class MqttEventSink:
    """A recorder ``on_events`` sink: ``with MqttEventSink(settings) as sink: Recorder(..., on_events=sink)``."""

    def __init__(self, settings: MqttSettings, give_up_after: float = 30.0) -> None:
        self.settings = settings
        self.published = 0
        self._publisher = MqttPublisher(settings, give_up_after=give_up_after)
        self._loop = LoopThread("mqtt-sink")

    def __enter__(self) -> MqttEventSink:
        self._loop.open(self._publisher.__aenter__())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._loop.close(self._publisher.aclose())

    def __call__(self, events: Sequence[Event]) -> None:
        async def publish_all() -> None:
            for event in events:
                await self._publisher.publish_event(event)

        try:
            self._loop.run(publish_all())
        except MqttUnavailableError as exc:
            raise RecorderError(
                f"{exc}; everything heard so far is stored in memory: run the same command again to resume"
            ) from exc
        self.published += len(events)


__all__ = ["MqttEventSink"]
