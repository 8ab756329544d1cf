"""What ``moss-agent record`` tells the user on stderr: progress lines when piped, a warning
when nothing was heard, and a dead perception server found before any work starts."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from agent.cli import main
from agent.cli.record_feedback import ProgressLines
from agent.recording.recorder import RecordingProgress
from memory import open_memory


def test_piped_record_prints_progress_lines_on_stderr(
    meeting_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    assert main(["record", str(meeting_wav), "--db", db]) == 0  # capsys: stderr is no terminal
    captured = capsys.readouterr()
    lines = [
        line
        for line in captured.err.splitlines()
        if line.startswith(f"recording {meeting_wav.name}:")
    ]
    assert lines, captured.err
    assert lines[-1].endswith("events") and "(100 %)" in lines[-1]
    assert "session" in captured.out and "warning" not in captured.err


def test_progress_lines_are_spaced_by_the_interval() -> None:
    from rich.console import Console

    console = Console(record=True, width=200, force_terminal=False)
    now = [0.0]
    lines = ProgressLines(console, "recording x.wav", interval=10.0, clock=lambda: now[0])
    for second in range(0, 31):
        now[0] = float(second)
        lines(RecordingProgress(float(second), 30.0, float(second), second, second))
    lines.close()
    text = console.export_text().splitlines()
    assert text == [
        "recording x.wav: 0.0/30.0 s (0 %), 0 events",
        "recording x.wav: 10.0/30.0 s (33 %), 10 events",
        "recording x.wav: 20.0/30.0 s (67 %), 20 events",
        "recording x.wav: 30.0/30.0 s (100 %), 30 events",
    ]


def test_a_recording_with_no_events_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    silence = tmp_path / "silence.wav"
    sf.write(silence, np.zeros(5 * 16_000, np.float32), 16_000)
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    assert main(["record", str(silence), "--db", db]) == 0
    err = capsys.readouterr().err
    assert "warning: no events were heard" in err and "silence.wav" in err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dead_remote_server_fails_before_recording_starts(
    meeting_wav: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agent.recording.recorder import Recorder

    monkeypatch.setenv("MOSS_AUDIO_URL", f"http://127.0.0.1:{_closed_port()}/v1")
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    with open_memory(db) as memory:  # an earlier, interrupted recording of the same file
        earlier = memory.create_session(
            meeting_wav.stem, source=str(meeting_wav.resolve()), backend="lite"
        )
    started: list[str] = []
    record_file = Recorder.record_file

    def spy(self: Recorder, *args: object, **kwargs: object) -> object:
        started.append("record_file")
        return record_file(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Recorder, "record_file", spy)
    assert main(["record", str(meeting_wav), "--backend", "remote", "--db", db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("moss-agent record: error: cannot reach the perception server")
    assert started == []  # failed before reading any audio
    assert not any(line.startswith("recording ") for line in err)  # no progress was shown
    with open_memory(db) as memory:
        assert [s.id for s in memory.list_sessions()] == [earlier.id]
        assert memory.find_session(earlier.id).duration == 0.0  # nothing moved
