"""The perception side in its own process: publishes the scripted meeting's events over MQTT.

Run as ``python -m tests.agent.bus.mqtt_publisher PORT SESSION``.
"""

from __future__ import annotations

import asyncio
import sys

from agent.bus.mqtt import MqttPublisher, MqttSettings
from tests.agent.scripts import meeting_script


async def main(port: int, session: str) -> int:
    async with MqttPublisher(MqttSettings(port=port), give_up_after=10.0) as publisher:
        events = sorted(meeting_script().events, key=lambda e: e.start)
        for event in events:
            event.session_id = session
            await publisher.publish_event(event)
        await publisher.publish(f"moss/{session}/status", {"done": True, "events": len(events)})
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]), sys.argv[2])))
