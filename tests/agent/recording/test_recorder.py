"""The recorder with the real lite backend into a real SQLite memory."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from agent.cli import main
from agent.recording.recorder import Recorder, RecordingResult
from memory import Memory, open_memory
from perception import synthetic
from perception.backend import PerceptionBackend
from perception.events import SoundEvent, TranscriptSegment

REPO = Path(__file__).resolve().parents[3]


def _no_repeats(events: list) -> None:
    """No two events of one kind cover the same stretch (the same thing stored twice)."""
    for i, a in enumerate(events):
        for b in events[i + 1 :]:
            if a.kind != b.kind:
                continue
            overlap = min(a.end, b.end) - max(a.start, b.start)
            shorter = max(0.01, min(a.duration, b.duration))
            assert overlap / shorter <= 0.5, f"stored twice: {a} / {b}"


def _checkpoint_of(path: Path, title: str) -> float | None:
    """The stored duration of ``title``, read without migrating: the recorder may still be
    creating the database, and a second migration beside its own would collide."""
    if not path.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute("SELECT duration FROM sessions WHERE title = ?", (title,)).fetchone()
    except sqlite3.OperationalError:  # no tables yet, or busy
        return None
    return float(row[0]) if row and row[0] else None


def test_records_the_meeting_into_memory(
    recorded: tuple[Memory, RecordingResult], meeting_scene: synthetic.Scene
) -> None:
    memory, result = recorded
    session = result.session
    assert result.resumed_from == 0.0 and not result.already_complete
    assert result.stored == session.event_count > 0
    assert session.duration == pytest.approx(meeting_scene.duration, abs=0.1)
    assert session.backend == "lite"
    segments = memory.transcript_between(session.id, 0, session.duration)
    text = " ".join(s.text.lower() for s in segments)
    for word in ("budget", "hiring", "engineers", "friday"):
        assert word in text
    assert len({s.speaker for s in segments}) == 3
    sounds = [e for e in memory.session_events(session.id) if isinstance(e, SoundEvent)]
    truth = {s.label: s for s in meeting_scene.sounds}
    for label in ("doorbell", "phone ringing"):
        assert any(abs(e.start - truth[label].start) < 1.0 for e in sounds), label
    _no_repeats(memory.session_events(session.id, kinds=["transcript", "sound"]))
    # --archive-audio: the audio can be read back for re-listening.
    clip = memory.read_audio(session.id, 5.0, 7.0)
    expected = meeting_scene.audio[5 * 16000 : 7 * 16000]
    assert len(clip) == len(expected) and np.abs(clip - expected).max() < 0.01


def test_recording_again_adds_nothing(
    recorded: tuple[Memory, RecordingResult], meeting_wav: Path, lite_backend: PerceptionBackend
) -> None:
    memory, first = recorded
    count = memory.find_session(first.session.id).event_count
    again = Recorder(memory, lite_backend).record_file(meeting_wav)
    assert again.already_complete and again.stored == 0
    assert again.session.id == first.session.id
    redo = Recorder(memory, lite_backend).record_file(meeting_wav, from_start=True)
    assert redo.events == count and redo.stored == 0  # same events, same ids: no duplicates
    assert memory.find_session(first.session.id).event_count == count


def test_completed_recording_is_reported_without_loading_a_model(
    recorded: tuple[Memory, RecordingResult],
    meeting_wav: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:  # type: ignore[no-untyped-def]
    import perception.backends

    memory, first = recorded
    count = memory.find_session(first.session.id).event_count

    def no_model(name: str) -> PerceptionBackend:
        raise AssertionError(
            f"the {name} backend was loaded for a recording with nothing left to do"
        )

    monkeypatch.setattr(perception.backends, "get_backend", no_model)
    db = memory.engine.url.render_as_string(hide_password=False)
    assert main(["record", str(meeting_wav), "--db", db]) == 0
    out = capsys.readouterr().out
    assert "already recorded to its end" in out and first.session.id in out
    assert memory.find_session(first.session.id).event_count == count
    # Asking for the work again (--from-start) does need the model.
    with pytest.raises(AssertionError, match="lite backend was loaded"):
        main(["record", str(meeting_wav), "--db", db, "--from-start"])


class _CheckpointWatch(Memory):
    """The real memory, noting the stored duration right after every ingestion: what a
    run killed between storing events and moving its checkpoint would resume from."""

    def __init__(self, url: str) -> None:
        super().__init__(open_memory(url).engine)
        self.checkpoints: list[float] = [0.0]
        self.after_ingest: list[tuple[float, float]] = []  # (stored duration, checkpoint)

    def set_duration(self, session_id: str, seconds: float) -> None:
        super().set_duration(session_id, seconds)
        self.checkpoints.append(seconds)

    def ingest(self, session_id, events, batch_size=1000, **kw):  # type: ignore[no-untyped-def]
        added = super().ingest(session_id, events, batch_size, **kw)
        stored = self.find_session(session_id).duration
        self.after_ingest.append((stored, self.checkpoints[-1]))
        return added


def test_storing_events_never_moves_the_resume_point_past_the_checkpoint(
    long_meeting_wav: Path, lite_backend: PerceptionBackend, tmp_path: Path
) -> None:
    memory = _CheckpointWatch(f"sqlite:///{tmp_path / 'memory.db'}")
    try:
        result = Recorder(memory, lite_backend).record_file(long_meeting_wav)
    finally:
        memory.close()
    assert result.stored > 0 and len(memory.after_ingest) >= 2
    assert all(stored == checkpoint for stored, checkpoint in memory.after_ingest)


def test_interrupted_recording_resumes_without_duplicates(
    long_meeting_wav: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "record", str(long_meeting_wav), "--db", db],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    checkpoint = 0.0
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            duration = _checkpoint_of(tmp_path / "memory.db", "long_meeting")
            if duration:
                checkpoint = duration
                proc.send_signal(signal.SIGKILL)  # no chance to clean up
                break
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        "the recording finished before it could be interrupted"
    )
    assert 0 < checkpoint < 60

    assert main(["record", str(long_meeting_wav), "--db", db]) == 0
    memory = open_memory(db)
    try:
        session = memory.find_session("long_meeting")
        assert session.duration == pytest.approx(sf.info(str(long_meeting_wav)).duration, abs=0.5)
        events = memory.session_events(session.id, kinds=["transcript", "sound"])
        _no_repeats(events)
        segments = [e for e in events if isinstance(e, TranscriptSegment)]
        assert sum("good morning" in s.text.lower() for s in segments) == 2
        assert sum("budget is tight" in s.text.lower() for s in segments) == 2
        assert sum(isinstance(e, SoundEvent) for e in events) >= 4  # 2 doorbells, 2 phones
        # Speakers after the seam keep the ids they had before it.
        assert {s.speaker for s in segments} == {"S1", "S2", "S3"}
        first_bob = next(s.speaker for s in segments if "good morning" in s.text.lower())
        assert all(s.speaker == first_bob for s in segments if "good morning" in s.text.lower())
        # Every attributed line lies in a turn of its speaker, also the turn open at the kill.
        turns = memory.session_events(session.id, kinds=["speaker"])
        for s in segments:
            assert any(
                t.speaker == s.speaker and t.start <= s.start + 0.01 and s.end <= t.end + 0.01
                for t in turns
            ), s
    finally:
        memory.close()


def test_records_a_wav_stream_from_stdin(
    meeting_scene: synthetic.Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    wav = io.BytesIO()
    meeting_scene.write(wav_path := str(tmp_path / "m.wav"), sample_rate=44100, channels=2)
    wav.write(Path(wav_path).read_bytes())
    wav.seek(0)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(wav))
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    assert main(["record", "-", "--session", "piped", "--db", db]) == 0
    assert "session 'piped'" in capsys.readouterr().out
    memory = open_memory(db)
    try:
        session = memory.find_session("piped")
        assert session.source == "stdin"
        assert session.duration == pytest.approx(meeting_scene.duration, abs=0.1)
        text = " ".join(s.text.lower() for s in memory.transcript_between(session.id, 0, 40))
        assert "budget" in text and "engineers" in text
    finally:
        memory.close()


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"", "empty"), (b"RIFF\x10\x00\x00\x00WAVEfmt garbage that is no audio" * 20, "")],
    ids=["empty", "corrupt"],
)
def test_bad_file_is_one_line_exit_2_and_nothing_lost(
    content: bytes, needle: str, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    memory = open_memory(db)
    kept = memory.create_session("earlier")
    memory.ingest(kept.id, [TranscriptSegment(start=0, end=1, text="keep me", speaker="S1")])
    memory.close()
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    assert main(["record", str(bad), "--db", db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("moss-agent record: error:") and needle in err[0]
    assert main(["record", str(tmp_path / "missing.wav"), "--db", db]) == 2
    memory = open_memory(db)
    try:
        assert [s.title for s in memory.list_sessions()] == ["earlier"]
        assert memory.transcript_between(kept.id, 0, 2)[0].text == "keep me"
    finally:
        memory.close()
