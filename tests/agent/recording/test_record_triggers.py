"""`moss-agent record --triggers`: rules fire on a real recording, alerts cross mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from agent.bus.mqtt import MqttSettings, mqtt_messages
from agent.cli import main
from memory import open_memory
from tests.fixtures.mosquitto import Broker
from tools.audio_scene import label_matches
from tools.clock import format_clock

TRIGGERS = """
[[trigger]]
name = "doorbell"
kind = "sound"
match = "doorbell"
action = "publish"
arguments = { message = "Doorbell at {time}", level = "alert" }
cooldown = 30

[[trigger]]
name = "budget"
kind = "phrase"
match = "budget"
action = "note"
arguments = { title = "budget mentioned", text = "{speaker}: {text}", at = "{start}" }

[[trigger]]
name = "follow-up"
kind = "phrase"
match = "budget"
action = "schedule_reminder"
arguments = { message = "check the budget follow-up", in_seconds = 4 }
cooldown = 60
"""


async def test_triggers_fire_while_recording_and_alerts_reach_the_broker(
    meeting_wav: Path, mosquitto: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "triggers.toml"
    rules.write_text(TRIGGERS)
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    settings = MqttSettings(port=mosquitto.port)
    heard: list = []
    tap_ready = asyncio.Event()

    async def tap() -> None:
        async for message in mqtt_messages(settings, "moss/+/+", ready=tap_ready):
            if message.topic.endswith(("/alerts", "/reminders")):
                heard.append(message)

    tapping = asyncio.create_task(tap())
    try:
        await asyncio.wait_for(tap_ready.wait(), 10)
        argv = ["record", str(meeting_wav), "--db", db, "--triggers", str(rules),
                "--mqtt", f"127.0.0.1:{mosquitto.port}"]  # fmt: skip
        assert await asyncio.to_thread(main, argv) == 0
        for _ in range(100):
            if len(heard) >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        tapping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tapping
    out, err = capsys.readouterr()

    with open_memory(db) as memory:
        session = memory.find_session("meeting")
        assert session is not None
        sounds = memory.session_events(session.id, kinds=["sound"])
        doorbells = [e for e in sounds if label_matches(e.label, "doorbell")]  # "chime-like"
        budget = memory.search_text(session.id, "budget")
        notes = [
            t for t in memory.agent_turns(session.id) if t.question == "[note] budget mentioned"
        ]
    assert doorbells and budget
    # One note per segment that says "budget", at that segment's time.
    assert sorted(n.session_time for n in notes) == sorted(round(h.start, 2) for h in budget)
    # The doorbell alert went out on the session's alerts topic, with the time it rang.
    alerts = [m for m in heard if m.topic == f"moss/{session.id}/alerts"]
    assert (
        len(alerts) == 1
        and alerts[0].payload["message"] == f"Doorbell at {format_clock(doorbells[0].start)}"
    )
    assert alerts[0].payload["level"] == "alert"
    # The reminder the first "budget" scheduled (4 s of audio after what had been heard by
    # then, at least that segment) fell due during the recording and reached the bus too.
    reminders = [m for m in heard if m.topic == f"moss/{session.id}/reminders"]
    assert [m.payload["message"] for m in reminders] == ["check the budget follow-up"]
    first = min(budget, key=lambda h: h.segment.start).segment
    assert (
        first.end + 4 - 0.01 <= reminders[0].payload["due"] < min(first.end + 10, session.duration)
    )
    # What the user sees: one line per firing, the reminder, and a count.
    assert err.count("trigger budget at") == len(budget)
    assert "trigger doorbell at" in err and "due reminder #1" in err
    assert f"triggers fired {len(budget) + 2} times" in out  # notes, one reminder, the doorbell


def test_a_broken_trigger_file_stops_before_anything_is_recorded(
    meeting_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "triggers.toml"
    rules.write_text(
        '[[trigger]]\nname = "x"\nkind = "sound"\nmatch = "bell"\naction = "explode"\n'
    )
    db = tmp_path / "memory.db"
    assert main(["record", str(meeting_wav), "--db", str(db), "--triggers", str(rules)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'explode' is not a tool" in err[0] and "publish" in err[0]
    assert not db.exists()  # no model loaded, no database made
    assert (
        main(
            ["record", str(meeting_wav), "--db", str(db), "--triggers", str(tmp_path / "none.toml")]
        )
        == 2
    )
    assert "cannot read trigger file" in capsys.readouterr().err
