"""`moss-agent record --mqtt`: a recording's events reach a UI in another process through mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import OptionList

from agent.bus.mqtt import MqttSettings, mqtt_messages
from agent.cli import main
from memory import open_memory
from perception import synthetic
from tests.fixtures.mosquitto import Broker
from tui.app import MossTUI
from tui.live import mqtt_events

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def short_clip_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 6 s of two espeak-ng voices."""
    scene = synthetic.compose(
        [
            ("say", "en-us", "Good morning, the budget review starts now."),
            ("say", "en-gb", "Thanks, I have the numbers ready."),
        ]
    )
    path = tmp_path_factory.mktemp("clip") / "short_call.wav"
    scene.write(str(path))
    return path


async def test_tui_in_another_process_follows_a_recording(
    short_clip_wav: Path, mosquitto: Broker, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    memory = open_memory(db)  # the UI's view of the same file the recorder writes
    settings = MqttSettings(port=mosquitto.port)
    ready, tap_ready = asyncio.Event(), asyncio.Event()
    heard: list = []

    async def tap() -> None:  # every message as it crossed the broker
        async for message in mqtt_messages(settings, "moss/#", ready=tap_ready):
            heard.append(message)

    tapping = asyncio.create_task(tap())
    app = MossTUI(memory, live=mqtt_events(settings, ready=ready))
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await asyncio.wait_for(asyncio.gather(ready.wait(), tap_ready.wait()), 10)
            assert app.view is None  # nothing recorded yet
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "agent.cli",
                "record",
                str(short_clip_wav),
                "--db",
                db,
                "--mqtt",
                f"127.0.0.1:{mosquitto.port}",
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 180)
            assert proc.returncode == 0, err.decode()[-2000:]
            session = memory.find_session("short_call")
            assert session is not None and session.event_count > 0
            stored = memory.session_events(session.id)
            for _ in range(250):
                if len({m.payload.event_id for m in heard}) >= len(stored):
                    break
                await pilot.pause(0.02)
            # Every stored event crossed the broker on its session's topic (at least once).
            assert {m.payload.event_id for m in heard} == {e.event_id for e in stored}
            assert all(m.topic == f"moss/{session.id}/{m.payload.kind}" for m in heard)
            # The UI adopted the new session and shows what was said.
            assert app.view is not None and app.view.id == session.id
            transcript = app.query_one("#transcript", OptionList)
            rows = " ".join(
                str(transcript.get_option_at_index(i).prompt)
                for i in range(transcript.option_count)
            )
            assert "budget" in rows.lower() and "numbers" in rows.lower()
    finally:
        tapping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tapping
        memory.close()


def test_unreachable_broker_is_a_one_line_error(
    short_clip_wav: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens here
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    assert main(["record", str(short_clip_wav), "--db", db, "--mqtt", f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "MQTT broker" in err[0] and str(port) in err[0]
    assert main(["record", str(short_clip_wav), "--db", db, "--mqtt", "127.0.0.1:notaport"]) == 2
    assert "HOST:PORT" in capsys.readouterr().err
