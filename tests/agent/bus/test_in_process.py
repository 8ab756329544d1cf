"""The in-process bus: topic matching, fan-out, backpressure, dropping, closing."""

from __future__ import annotations

import asyncio

import pytest

from agent.bus.in_process import EventBus, event_topic, session_topic, topic_matches, topic_parts
from perception.events import SoundEvent, TranscriptSegment


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("moss/#", "moss/s1/transcript", True),
        ("moss/+/sound", "moss/s1/sound", True),
        ("moss/+/sound", "moss/s1/transcript", False),
        ("moss/s1/#", "moss/s2/sound", False),
        ("moss/s1/transcript", "moss/s1/transcript", True),
        ("moss/+", "moss/s1/sound", False),
        ("#", "anything/at/all", True),
        ("moss/s1/#", "moss/s1", True),
    ],
)
def test_topic_matching(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected


def test_topics_per_session_and_kind() -> None:
    seg = TranscriptSegment(start=0, end=1, text="hi", session_id="s1")
    assert event_topic(seg) == "moss/s1/transcript"
    assert session_topic("a/b+c#", "alerts") == "moss/a_b_c_/alerts"
    assert topic_parts("moss/s1/sound") == ("s1", "sound")
    assert topic_parts("other/s1/sound") is None


async def test_fan_out_by_pattern() -> None:
    bus = EventBus()
    everything = bus.subscribe("moss/#")
    sounds = bus.subscribe("moss/+/sound")
    seg = TranscriptSegment(start=0, end=1, text="hi", session_id="s1")
    bell = SoundEvent(start=2, end=3, label="doorbell", session_id="s1")
    await bus.publish_event(seg)
    await bus.publish_event(bell)
    bus.close()
    assert [m.payload for m in [m async for m in everything]] == [seg, bell]
    assert [m.payload for m in [m async for m in sounds]] == [bell]


async def test_a_slow_subscriber_holds_the_publisher_back() -> None:
    bus = EventBus(maxsize=2)
    sub = bus.subscribe("moss/#")
    published = 0

    async def publisher() -> None:
        nonlocal published
        for i in range(5):
            await bus.publish("moss/s1/n", i)
            published += 1

    task = asyncio.create_task(publisher())
    await asyncio.sleep(0.05)
    assert published == 2 and not task.done()  # waiting for room: nothing is lost
    received = [(await sub.get()).payload for _ in range(5)]
    await task
    assert received == [0, 1, 2, 3, 4]


async def test_drop_oldest_never_blocks() -> None:
    bus = EventBus()
    ui = bus.subscribe("moss/#", maxsize=2, overflow="drop_oldest")
    for i in range(5):
        await bus.publish("moss/s1/n", i)
    bus.close()
    assert [m.payload async for m in ui] == [3, 4]
    assert ui.dropped == 3


async def test_closing_a_subscription_releases_a_blocked_publisher() -> None:
    bus = EventBus(maxsize=1)
    sub = bus.subscribe("moss/#")
    await bus.publish("moss/s1/n", 0)
    blocked = asyncio.create_task(bus.publish("moss/s1/n", 1))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    sub.close()
    await asyncio.wait_for(blocked, 1.0)
    assert bus.subscriber_count == 0
    with pytest.raises(StopAsyncIteration):
        await sub.get()


async def test_closed_bus_refuses_work() -> None:
    bus = EventBus()
    bus.close()
    with pytest.raises(RuntimeError, match="closed"):
        await bus.publish("moss/s1/n", 1)
    with pytest.raises(RuntimeError, match="closed"):
        bus.subscribe()
