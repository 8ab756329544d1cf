"""Running triggers on a recording's events as they are stored (``record --triggers``).

The recorder calls its ``on_events`` sinks from plain (blocking) code after each batch is
stored; triggers and their tools are asyncio. ``TriggerSink`` runs a ``TriggerEngine`` on
an event loop in a thread of its own, waits for each batch's firings and hands them back
in event order. What ``publish`` sends (and reminders falling due) goes to an MQTT broker
when one is given, else to an in-process bus that callers may subscribe to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from agent.bus.in_process import EventBus
from agent.bus.mqtt import MqttPublisher, MqttSettings, MqttUnavailableError
from agent.reasoning.triggers import Trigger, TriggerEngine, TriggerFiring
from agent.recording.loop_thread import LoopThread
from perception.events import Event
from perception.topics import session_topic
from tools import builtin_registry
from tools.context import Publisher
from tools.reminders import Reminder, ReminderScheduler

if TYPE_CHECKING:
    from memory import Memory

log = logging.getLogger(__name__)

OnFiring = Callable[[TriggerFiring], None]
OnReminder = Callable[[Reminder], None]


class TriggerSink:
    """A recorder ``on_events`` sink: ``with TriggerSink(triggers, memory) as sink:
    Recorder(..., on_events=sink)``; ``on_firing`` sees every firing in the caller's thread."""

    def __init__(
        self,
        triggers: Sequence[Trigger],
        memory: Memory,
        *,
        mqtt: MqttSettings | None = None,
        on_firing: OnFiring | None = None,
        on_reminder: OnReminder | None = None,
        give_up_after: float = 30.0,
    ) -> None:
        self._mqtt = MqttPublisher(mqtt, give_up_after=give_up_after) if mqtt else None
        self.bus: Publisher = self._mqtt or EventBus()
        self.reminders = ReminderScheduler(on_due=self._reminder_due)
        self.engine = TriggerEngine(
            triggers, builtin_registry(), memory, bus=self.bus, reminders=self.reminders
        )
        self.on_firing = on_firing
        self.on_reminder = on_reminder
        self._due: list[Reminder] = []
        self._loop = LoopThread("trigger-sink")

    def __enter__(self) -> TriggerSink:
        self._loop.open(self._mqtt.__aenter__() if self._mqtt else None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._loop.close(self._mqtt.aclose() if self._mqtt else None)

    def __call__(self, events: Sequence[Event]) -> None:
        async def handle_all() -> list[TriggerFiring | Reminder]:
            happened: list[TriggerFiring | Reminder] = []
            for event in events:
                fired = await self.engine.handle(event)
                # Reminders fall due as the event advances stream time, before it fires.
                happened += self._due
                happened += fired
                self._due = []
            return happened

        happened = self._loop.run(handle_all())
        for outcome in happened:
            if isinstance(outcome, Reminder):
                if self.on_reminder is not None:
                    self.on_reminder(outcome)
            elif self.on_firing is not None:
                self.on_firing(outcome)

    async def _reminder_due(self, reminder: Reminder) -> None:
        self._due.append(reminder)
        try:
            await self.bus.publish(session_topic(reminder.session_id, "reminders"), reminder)
        except MqttUnavailableError as exc:  # like a failed publish tool: reported, not fatal
            log.warning("could not publish %s: %s", reminder.summary_line(), exc)


__all__ = ["TriggerSink"]
