"""The bus over a real mosquitto on loopback: payloads, reconnects, and two processes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.bus.in_process import BusMessage, EventBus
from agent.bus.mqtt import (
    MqttPublisher,
    MqttSettings,
    MqttUnavailableError,
    PayloadError,
    decode_payload,
    encode_payload,
    mqtt_messages,
)
from agent.reasoning.triggers import TriggerEngine, parse_triggers
from agent.recording.memory_sink import store_events
from agent.testing import ScriptedSession
from perception.events import SoundEvent, TranscriptSegment
from tests.fixtures.mosquitto import Broker, start_mosquitto, stop_mosquitto
from tools import builtin_registry

REPO = Path(__file__).resolve().parents[3]


@contextlib.asynccontextmanager
async def subscribed(
    settings: MqttSettings, pattern: str
) -> AsyncIterator[asyncio.Queue[BusMessage]]:
    """Messages on ``pattern`` collected into a queue by a background task."""
    queue: asyncio.Queue[BusMessage] = asyncio.Queue()
    ready = asyncio.Event()

    async def pump() -> None:
        async for message in mqtt_messages(settings, pattern, ready=ready):
            await queue.put(message)

    task = asyncio.create_task(pump())
    await asyncio.wait_for(ready.wait(), 10)
    try:
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_payloads_round_trip_as_events_or_json() -> None:
    seg = TranscriptSegment(start=1.5, end=2.0, text="hello", session_id="s1", speaker="S1")
    assert decode_payload("moss/s1/transcript", encode_payload(seg)) == seg
    assert decode_payload("moss/s1/alerts", encode_payload({"message": "hi"})) == {"message": "hi"}
    with pytest.raises(PayloadError, match="not JSON"):
        decode_payload("moss/s1/sound", b"\xff{")
    with pytest.raises(PayloadError, match="not a valid sound event"):
        decode_payload("moss/s1/sound", b'{"kind": "sound", "start": 1, "end": 0, "label": "x"}')


def test_settings_from_url() -> None:
    s = MqttSettings.from_url("mqtt://user:pw@broker.local:1884")
    assert (s.host, s.port, s.username, s.password) == ("broker.local", 1884, "user", "pw")
    with pytest.raises(ValueError, match="mqtt://host:port"):
        MqttSettings.from_url("http://x")


async def test_events_cross_the_broker_with_qos1(mosquitto: Broker) -> None:
    settings = MqttSettings(port=mosquitto.port)
    bell = SoundEvent(start=9.9, end=11.5, label="doorbell", session_id="q1")
    async with subscribed(settings, "moss/q1/#") as queue, MqttPublisher(settings) as publisher:
        await publisher.publish_event(bell)
        await publisher.publish("moss/q1/alerts", {"message": "ding"})
        first = await asyncio.wait_for(queue.get(), 10)
        second = await asyncio.wait_for(queue.get(), 10)
    assert first.topic == "moss/q1/sound" and first.payload == bell
    assert second.payload == {"message": "ding"}


async def test_publisher_reconnects_after_the_broker_restarts(tmp_path: Path) -> None:
    broker = start_mosquitto(tmp_path)
    settings = MqttSettings(
        port=broker.port, reconnect_initial=0.05, reconnect_max=0.5, timeout=1.0
    )
    publisher = MqttPublisher(settings, give_up_after=15.0)
    try:
        await publisher.publish("moss/r1/alerts", {"n": 1})
        stop_mosquitto(broker)

        def restart_later() -> Broker:
            time.sleep(0.5)  # the publisher sees the outage first
            return start_mosquitto(tmp_path, broker.port)

        restart = asyncio.get_running_loop().run_in_executor(None, restart_later)
        async with asyncio.timeout(20):
            await publisher.publish("moss/r1/alerts", {"n": 2})  # waits through the outage
        broker = await restart
        assert publisher.reconnects >= 1
    finally:
        await publisher.aclose()
        stop_mosquitto(broker)


async def test_publisher_gives_up_with_a_clear_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    publisher = MqttPublisher(MqttSettings(port=port, reconnect_initial=0.05), give_up_after=0.3)
    with pytest.raises(MqttUnavailableError, match="is mosquitto running"):
        await publisher.publish("moss/x/alerts", {})


TRIGGERS = """
[[trigger]]
name = "doorbell"
kind = "sound"
match = "doorbell"
action = "publish"
arguments = { message = "Doorbell at {time}", level = "alert", at = "{start}" }

[[trigger]]
name = "action items"
kind = "phrase"
match = "action item"
action = "note"
arguments = { title = "action item", text = "{speaker}: {text}", at = "{start}" }
"""


async def test_perception_process_to_memory_and_agent_process(mosquitto: Broker) -> None:
    """Perception publishes from a child process; here memory stores, triggers fire, and
    the agent answers from what arrived."""
    import tomllib

    settings = MqttSettings(port=mosquitto.port)
    alerts = EventBus()
    alert_sub = alerts.subscribe("moss/+/alerts")
    async with ScriptedSession(reasoner="rules", title="placeholder") as agent_side:
        memory = agent_side.memory
        session = "meeting-over-mqtt"
        engine = TriggerEngine(
            parse_triggers(tomllib.loads(TRIGGERS)), builtin_registry(), memory, bus=alerts
        )
        ready = asyncio.Event()
        events = mqtt_messages(settings, f"moss/{session}/+", ready=ready)
        consumer = asyncio.create_task(
            store_events(events, memory, on_event=engine.handle, stop_after=12)
        )
        await asyncio.wait_for(ready.wait(), 10)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.agent.bus.mqtt_publisher",
            str(mosquitto.port),
            session,
            cwd=REPO,
        )
        assert await asyncio.wait_for(child.wait(), 60) == 0
        stored = await asyncio.wait_for(consumer, 30)
        assert stored == 12

        for speaker, name in {"S1": "Bob", "S2": "Alice", "S3": "Carol"}.items():
            memory.rename_speaker(session, speaker, name)
        agent_side.session_id = session
        bell = await agent_side.ask("Was there a doorbell?")
        bell.expect.answer_contains("Yes: doorbell at 00:09").contains_citation(
            at=10.0, label="doorbell"
        )
        who = await agent_side.ask("Who said action item?")
        who.expect.answer_contains("Carol (at 00:20) said 'action item'")

        alert = await asyncio.wait_for(alert_sub.get(), 1)
        assert alert.topic == f"moss/{session}/alerts"
        assert alert.payload.message == "Doorbell at 00:09" and alert.payload.at == 9.9
        notes = [t for t in memory.agent_turns(session) if t.question.startswith("[note]")]
        assert [n.answer for n in notes] == [
            "S3: Action item: Alice will write the job description by Friday."
        ]
        assert [f.trigger for f in engine.firings] == ["doorbell", "action items"]
