"""Event bus throughput and latency: in-process, and through mosquitto on loopback.

One publisher sends transcript events, one subscriber receives them; latency is the time
from ``publish`` to the subscriber holding the decoded event (same clock, same process).
For MQTT the broker is a real Debian mosquitto started on a free loopback port; QoS 1,
so every publish waits for the broker's acknowledgement ("sequential"), or up to
``--window`` publishes are in flight at once ("pipelined").

    .venv/bin/python benchmarks/bus.py [--events 20000] [--mqtt-events 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from agent.bus.in_process import EventBus
from agent.bus.mqtt import MqttPublisher, MqttSettings, mqtt_messages
from perception.events import TranscriptSegment


def event(i: int) -> TranscriptSegment:
    return TranscriptSegment(
        start=i * 0.5, end=i * 0.5 + 0.4, text=f"segment {i}", speaker="S1", session_id="bench"
    )


def report(name: str, count: int, seconds: float, latencies_ms: list[float]) -> None:
    q = statistics.quantiles(latencies_ms, n=100)
    print(
        f"| {name} | {count} | {count / seconds:,.0f} | {statistics.median(latencies_ms):.3f} | {q[98]:.3f} |"
    )


async def in_process(count: int, queue_size: int) -> None:
    bus = EventBus(maxsize=queue_size)
    sub = bus.subscribe("moss/+/transcript")
    latencies: list[float] = []

    async def consume() -> None:
        async for message in sub:
            latencies.append((time.perf_counter() - message.published_at) * 1000)

    events = [event(i) for i in range(count)]
    consumer = asyncio.create_task(consume())
    t0 = time.perf_counter()
    for e in events:
        await bus.publish_event(e)
    bus.close()
    await consumer
    report(f"in-process (queue {queue_size})", count, time.perf_counter() - t0, latencies)


async def through_mosquitto(port: int, count: int, window: int) -> None:
    settings = MqttSettings(port=port)
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    ready = asyncio.Event()
    done = asyncio.Event()

    async def consume() -> None:
        async for message in mqtt_messages(settings, "moss/bench/#", ready=ready):
            latencies.append((time.perf_counter() - sent_at[message.payload.text]) * 1000)
            if len(latencies) == count:
                done.set()
                return

    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(ready.wait(), 10)
    events = [event(i) for i in range(count)]
    async with MqttPublisher(settings) as publisher:
        t0 = time.perf_counter()
        if window <= 1:
            for e in events:
                sent_at[e.text] = time.perf_counter()
                await publisher.publish_event(e)
        else:
            semaphore = asyncio.Semaphore(window)

            async def send(e: TranscriptSegment) -> None:
                async with semaphore:
                    sent_at[e.text] = time.perf_counter()
                    await publisher.publish_event(e)

            await asyncio.gather(*(send(e) for e in events))
        await asyncio.wait_for(done.wait(), 120)
        elapsed = time.perf_counter() - t0
    consumer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await consumer
    label = (
        "mosquitto, QoS 1, sequential" if window <= 1 else f"mosquitto, QoS 1, {window} in flight"
    )
    report(label, count, elapsed, latencies)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the broker starter of the tests
    from tests.fixtures.mosquitto import start_mosquitto, stop_mosquitto

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--mqtt-events", type=int, default=3_000)
    parser.add_argument("--window", type=int, default=32)
    args = parser.parse_args()
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt warns on every queued publish
    print(
        "| path | events | events/s | p50 latency ms | p99 latency ms |\n|---|---:|---:|---:|---:|"
    )
    asyncio.run(in_process(args.events, 1024))
    asyncio.run(in_process(args.events, 16))
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_mosquitto(Path(tmp))
        try:
            asyncio.run(through_mosquitto(broker.port, args.mqtt_events, 1))
            asyncio.run(through_mosquitto(broker.port, args.mqtt_events, args.window))
        finally:
            stop_mosquitto(broker)


if __name__ == "__main__":
    main()
