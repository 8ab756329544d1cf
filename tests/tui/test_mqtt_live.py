"""The UI follows a live session through a real mosquitto broker, fed by another process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from textual.widgets import OptionList

from agent.bus.mqtt import MqttSettings
from memory import Memory
from tests.fixtures.mosquitto import Broker
from tests.tui.conftest import SESSION_ID
from tui.app import MossTUI
from tui.live import mqtt_events

REPO = Path(__file__).resolve().parents[2]

# Run in a separate interpreter: publishes two events of the open session through the
# agent's MQTT publisher, plus one non-event message the UI must skip.
PUBLISHER = """
import asyncio, sys
from agent.bus.mqtt import MqttPublisher, MqttSettings
from perception.events import SoundEvent, TranscriptSegment

async def main(port, session):
    async with MqttPublisher(MqttSettings(port=port)) as publisher:
        await publisher.publish(f"moss/{session}/alerts", {"message": "not an event"})
        await publisher.publish_event(TranscriptSegment(
            start=131.0, end=134.0, speaker="S3", text="Over MQTT: the budget review.", session_id=session))
        await publisher.publish_event(SoundEvent(start=135.0, end=136.0, label="door slam", session_id=session))

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""


def _rows(app: MossTUI) -> list[str]:
    transcript = app.query_one("#transcript", OptionList)
    return [str(transcript.get_option_at_index(i).prompt) for i in range(transcript.option_count)]


async def test_follows_events_published_by_another_process(
    memory: Memory, mosquitto: Broker
) -> None:
    ready = asyncio.Event()
    settings = MqttSettings(port=mosquitto.port)
    app = MossTUI(memory, session=SESSION_ID, live=mqtt_events(settings, ready=ready))
    async with app.run_test(size=(160, 40)) as pilot:
        await asyncio.wait_for(ready.wait(), 10)  # subscribed before anything is published
        before = len(_rows(app))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            PUBLISHER,
            str(mosquitto.port),
            SESSION_ID,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()[-2000:]
        for _ in range(250):
            if len(_rows(app)) >= before + 2:
                break
            await pilot.pause(0.02)
        rows = _rows(app)
        assert len(rows) == before + 2
        assert "Over MQTT: the budget review." in rows[-2] and "02:11" in rows[-2]
        assert "door slam" in rows[-1]
        transcript = app.query_one("#transcript", OptionList)
        assert transcript.highlighted == len(rows) - 1  # follows the tail
