"""The streaming engine with fast fake backends: exact times over hours, flat memory,
stitching without duplicated or dropped words, cuts in pauses, silence gating, live feed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest
import soundfile as sf

from perception.backend import SAMPLE_RATE, BackendError, PerceptionBackend, Window
from perception.engine import Perceiver
from perception.events import Event, SoundEvent, SpeakerTurn, TranscriptSegment
from perception.windowing import WindowConfig, Windower

from .fakes import BurstBackend, ScriptBackend, StagedBurstBackend, TrueWord

SR = SAMPLE_RATE


def _burst(n: int) -> np.ndarray:
    # A square wave: loud on every sample, so the fake's burst edges are sample-exact.
    return (0.5 * np.where((np.arange(n) // 8) % 2 == 0, 1.0, -1.0)).astype(np.float32)


def _silence_and_bursts(hours: float, seed: int = 0) -> tuple[Iterator[np.ndarray], list[int]]:
    """A long stream of silence with 0.3 s bursts at random integer sample positions."""
    rng = np.random.default_rng(seed)
    total = int(hours * 3600 * SR)
    chunk = 10 * SR
    length = int(0.3 * SR)
    onsets: list[int] = []
    pos = 7 * SR + 123
    while pos + length < total:
        onsets.append(pos)
        pos += int(rng.integers(15 * SR, 240 * SR))

    def chunks() -> Iterator[np.ndarray]:
        for c0 in range(0, total, chunk):
            c = np.zeros(min(chunk, total - c0), np.float32)
            for o in onsets:
                a, b = max(o, c0), min(o + length, c0 + len(c))
                if a < b:
                    c[a - c0 : b - c0] = _burst(o + length - o)[a - o : b - o]
            yield c

    return chunks(), onsets


def test_no_drift_over_three_hours_of_silence_and_sound() -> None:
    chunks, onsets = _silence_and_bursts(hours=3.0)
    backend = BurstBackend()
    perceiver = Perceiver(backend, WindowConfig(length=30, hop=25))
    buffered: list[float] = []
    events = [
        e
        for e in perceiver.process_stream(
            chunks,
            "long",
            on_progress=lambda done, total: buffered.append(perceiver.buffered_seconds),
        )
        if isinstance(e, TranscriptSegment)
    ]
    assert len(events) == len(onsets) > 40
    starts = np.array([e.start for e in events])
    truth = np.array(onsets) / SR
    # Times come from integer sample counts: exact to float precision after 3 hours.
    assert np.max(np.abs(starts - truth)) < 1e-6
    assert events[-1].start > 2.9 * 3600 - 240
    # Memory stays flat: the ring buffer never holds much more than a window.
    assert max(buffered) < 45.0
    # Silence was gated: far fewer windows than a plain 25 s hop would make.
    assert len(backend.windows) <= 2 * len(onsets)


def _continuous_words(seconds: float, step: float = 0.37, dur: float = 0.3) -> list[TrueWord]:
    n = int(seconds / step) - 1
    return [TrueWord(0.2 + i * step, 0.2 + i * step + dur, f"w{i}") for i in range(n)]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_words_across_window_edges_are_neither_duplicated_nor_dropped(seed: int) -> None:
    # Continuous sound, no pauses: every cut goes through words, windows overlap by 2 s,
    # and each window's timing is shifted differently (up to 0.08 s either way).
    seconds = 60.0
    audio = (0.05 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(
        np.float32
    )
    truth = _continuous_words(seconds)
    backend = ScriptBackend(truth, jitter=0.08, seed=seed)
    perceiver = Perceiver(backend, WindowConfig(length=8.0, hop=6.0))
    events = list(perceiver.process_array(audio, "edges"))
    words = [w.text for e in events if isinstance(e, TranscriptSegment) for w in e.words]
    assert words == [t.text for t in truth]
    segments = [e for e in events if isinstance(e, TranscriptSegment)]
    assert len(segments) > 8  # many windows took part
    assert all(s.text == " ".join(w.text for w in s.words) for s in segments)


def test_a_sound_cut_by_a_window_edge_comes_out_whole() -> None:
    seconds = 30.0
    audio = (0.05 * np.random.default_rng(5).standard_normal(int(seconds * SR))).astype(np.float32)
    ring = TrueWord(6.5, 9.5, "ringing")  # spans the cut near 7 s (length 8, hop 6)
    backend = ScriptBackend([], sounds=[ring], jitter=0.0)
    events = list(Perceiver(backend, WindowConfig(length=8.0, hop=6.0)).process_array(audio, "s"))
    sounds = [e for e in events if isinstance(e, SoundEvent)]
    assert len(sounds) == 1
    assert sounds[0].start == pytest.approx(6.5) and sounds[0].end == pytest.approx(9.5)


def test_cuts_land_in_pauses_and_windows_tile_the_timeline() -> None:
    # Bursts of 1.3 s separated by 0.6 s pauses, 60 s in all.
    audio = np.zeros(60 * SR, np.float32)
    t = 0.5
    while t + 1.3 < 60:
        a = int(t * SR)
        audio[a : a + int(1.3 * SR)] = _burst(int(1.3 * SR)) * 0.3
        t += 1.9
    windower = Windower(WindowConfig(length=10.0, hop=8.0), "p")
    planned = []
    for i in range(0, len(audio), SR // 2):
        planned += windower.push(audio[i : i + SR // 2])
    planned += windower.finish()
    assert len(planned) >= 6
    for prev, nxt in zip(planned, planned[1:], strict=False):
        assert nxt.commit_start == prev.commit_end  # owned stretches tile with no gap
        cut = int(round(prev.commit_end * SR))
        assert np.all(audio[cut - 80 : cut + 80] == 0), "cut must be inside a pause"
        assert prev.cut_in_pause
    for p in planned:
        assert p.window.duration <= 10.0 + 1e-9
        assert p.window.start == pytest.approx(round(p.window.start * SR) / SR, abs=1e-12)


def test_silence_is_gated_and_skipped() -> None:
    audio = np.zeros(10 * 60 * SR, np.float32)
    a = 300 * SR
    audio[a : a + SR // 2] = _burst(SR // 2)
    backend = BurstBackend()
    events = list(Perceiver(backend, WindowConfig(length=30, hop=25)).process_array(audio, "quiet"))
    assert len(backend.windows) == 1
    assert backend.windows[0].start == pytest.approx(300 - 0.2)
    assert [e.start for e in events if isinstance(e, TranscriptSegment)] == [pytest.approx(300.0)]


def test_speaker_turns_are_derived_from_the_stitched_transcript() -> None:
    audio = np.zeros(20 * SR, np.float32)
    for s in (1.0, 3.0, 12.0):
        audio[int(s * SR) : int((s + 0.5) * SR)] = _burst(SR // 2)
    events = list(
        Perceiver(BurstBackend(), WindowConfig(length=30, hop=25)).process_array(audio, "t")
    )
    turns = [e for e in events if isinstance(e, SpeakerTurn)]
    # Same speaker: one turn for the first two bursts (gap 1.5 s), another after 8.5 s.
    assert [(round(t.start, 2), round(t.end, 2)) for t in turns] == [(1.0, 3.5), (12.0, 12.5)]
    assert all(t.speaker == "S1" and t.backend == "fake-bursts" for t in turns)


def test_live_feed_emits_each_utterance_after_a_short_pause() -> None:
    backend = BurstBackend()
    perceiver = Perceiver(backend, WindowConfig(length=30, hop=25, end_of_utterance=0.4), "live")
    audio = np.zeros(8 * SR, np.float32)
    for s in (1.0, 4.0):
        audio[int(s * SR) : int((s + 0.8) * SR)] = _burst(int(0.8 * SR))
    got: list[tuple[float, float]] = []  # (time fed so far, event start)
    turns: list[tuple[float, float]] = []
    step = int(0.02 * SR)
    for i in range(0, len(audio), step):
        for e in perceiver.feed(audio[i : i + step]):
            if isinstance(e, TranscriptSegment):
                got.append(((i + step) / SR, e.start))
            elif isinstance(e, SpeakerTurn):
                turns.append((round(e.start, 3), round(e.end, 3)))
    assert [round(s, 3) for _, s in got] == [1.0, 4.0]
    for fed, start in got:
        # The event is out once 0.4 s of silence followed the 0.8 s burst (30 ms frames).
        assert fed - (start + 0.8) <= 0.4 + 0.07
    # A turn closes while listening, once the silence after it passes 2 s (the gap of
    # 2.2 s between the bursts also splits the turns of the one voice).
    assert turns == [(1.0, 1.8), (4.0, 4.8)]
    assert perceiver.flush() == []


def test_live_feed_accepts_int16_bytes_at_48k_stereo() -> None:
    backend = BurstBackend()
    perceiver = Perceiver(backend, WindowConfig(length=30, hop=25), "live48")
    rate = 48_000
    audio = np.zeros((3 * rate, 2), np.int16)
    audio[rate : rate + rate // 2, :] = 12000
    raw = audio.tobytes()
    events: list[Event] = []
    step = 960 * 4  # 20 ms of stereo int16
    for i in range(0, len(raw), step):
        events += perceiver.feed(raw[i : i + step], sample_rate=rate, channels=2)
    events += perceiver.flush()
    segs = [e for e in events if isinstance(e, TranscriptSegment)]
    assert len(segs) == 1
    assert segs[0].start == pytest.approx(1.0, abs=0.01)
    assert segs[0].end == pytest.approx(1.5, abs=0.01)


def test_process_file_streams_with_progress(tmp_path) -> None:
    audio = np.zeros(70 * SR, np.float32)
    audio[50 * SR : 51 * SR] = _burst(SR)
    path = tmp_path / "x.flac"
    sf.write(path, audio, SR)
    seen: list[tuple[float, float | None]] = []
    events = list(
        Perceiver(BurstBackend()).process_file(path, on_progress=lambda d, t: seen.append((d, t)))
    )
    assert [round(e.start, 3) for e in events if isinstance(e, TranscriptSegment)] == [50.0]
    assert all(e.session_id == "x" for e in events)
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == pytest.approx(70.0)
    assert seen[0][1] == pytest.approx(70.0)


def test_window_config_is_checked() -> None:
    with pytest.raises(ValueError, match="hop"):
        WindowConfig(length=10, hop=12)
    with pytest.raises(ValueError, match="maximum"):
        WindowConfig.for_backend(BurstBackend(), length=500)
    cfg = WindowConfig.for_backend(BurstBackend(), length=12)
    assert cfg.hop == pytest.approx(10.0) and cfg.overlap == pytest.approx(2.0)


class _Broken(PerceptionBackend):
    name = "broken"

    def analyze(self, windows: Sequence[Window]) -> list[list[Event]]:
        return []

    def ask(self, samples: np.ndarray, question: str) -> str:
        return ""


def test_a_backend_returning_the_wrong_number_of_results_is_an_error() -> None:
    audio = _burst(SR)
    with pytest.raises(BackendError, match="0 results for 1 windows"):
        list(Perceiver(_Broken()).process_array(audio, "b"))


class _SpeculatingBackend(BurstBackend):
    """Bursts, plus session state a dropped speculative window must not leave behind."""

    supports_speculation = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, int] = {}  # windows counted per session
        self.restored = 0

    def analyze(self, windows: Sequence[Window]) -> list[list[Event]]:
        for w in windows:
            self.seen[w.session_id] = self.seen.get(w.session_id, 0) + 1
        return super().analyze(windows)

    def save_session(self, session_id: str) -> object:
        return self.seen.get(session_id, 0)

    def restore_session(self, session_id: str, saved: object) -> None:
        assert isinstance(saved, int)
        self.restored += 1
        self.seen[session_id] = saved


def test_live_speculation_starts_early_and_leaves_no_trace_when_speech_resumes() -> None:
    # burst, 0.3 s pause (long enough to speculate on, too short to end the utterance),
    # burst, 1 s pause (ends it), burst, silence.
    parts = [
        np.zeros(SR // 2),
        _burst(SR),
        np.zeros(int(0.3 * SR)),
        _burst(SR),
        np.zeros(SR),
        _burst(SR // 2),
        np.zeros(2 * SR),
    ]
    audio = np.concatenate(parts).astype(np.float32)
    pause_end = (SR // 2 + 2 * SR + int(0.3 * SR)) / SR  # where the 1 s pause starts
    step = int(0.02 * SR)

    def run(speculate: bool) -> tuple[_SpeculatingBackend, list[Event], list[float]]:
        backend = _SpeculatingBackend()
        config = WindowConfig(length=29, hop=25, speculate_after=0.2 if speculate else None)
        perceiver = Perceiver(backend, config, session_id="spec")
        events: list[Event] = []
        analysed_at: list[float] = []
        for i in range(0, len(audio), step):
            before = len(backend.windows)
            events += perceiver.feed(audio[i : i + step])
            analysed_at += [(i + step) / SR] * (len(backend.windows) - before)
        return backend, events + perceiver.flush(), analysed_at

    spec_backend, spec_events, spec_at = run(True)
    plain_backend, plain_events, plain_at = run(False)
    key = [(type(e).__name__, e.start, e.end, getattr(e, "text", None)) for e in plain_events]
    assert [
        (type(e).__name__, e.start, e.end, getattr(e, "text", None)) for e in spec_events
    ] == key
    assert len([e for e in plain_events if isinstance(e, TranscriptSegment)]) == 3
    # The 0.3 s pause was speculated on and dropped; the state it left was undone.
    assert spec_backend.restored >= 1
    assert spec_backend.seen["spec"] == plain_backend.seen["spec"]
    # The utterance before the 1 s pause went to the backend about 0.2 s into the pause,
    # not 0.4 s.
    first_spec = min(t for t in spec_at if t > pause_end)
    first_plain = min(t for t in plain_at if t > pause_end)
    assert first_spec - pause_end <= 0.25
    assert first_plain - first_spec >= 0.15


def test_a_window_with_pieces_maps_its_times_onto_the_timeline() -> None:
    # 1 s at 10 s, then (after 20 s left out) 2 s at 31 s.
    window = Window(
        "s", 0, 10.0, np.arange(3 * SR, dtype=np.float32), ((0, 10 * SR), (SR, 31 * SR))
    )
    assert window.duration == 3.0
    assert window.end == 33.0
    assert window.absolute(0.5) == 10.5
    assert window.absolute(1.0) == 31.0  # the seam belongs to the later piece
    assert window.absolute(2.5) == 32.5
    assert window.gaps() == [(11.0, 31.0)]
    assert window.clip(10.5, 31.5)[[0, -1]].tolist() == [0.5 * SR, 1.5 * SR - 1]
    assert len(window.clip(20.0, 25.0)) == 0  # left out
    plain = Window("s", 0, 10.0, np.zeros(SR, np.float32))
    assert plain.end == 11.0 and plain.absolute(0.5) == 10.5 and plain.gaps() == []


def test_files_leave_long_silences_out_of_windows_with_exact_times() -> None:
    # Bursts 15-240 s apart: contiguous windows hold one burst each; with long silences
    # left out, windows hold several, and every time is still exact.
    chunks, onsets = _silence_and_bursts(hours=1.0, seed=3)
    backend = BurstBackend()
    perceiver = Perceiver(backend, WindowConfig(length=30, hop=25, max_gap=1.0))
    buffered: list[float] = []
    events = [
        e
        for e in perceiver.process_stream(
            chunks, "packed", on_progress=lambda d, t: buffered.append(perceiver.buffered_seconds)
        )
        if isinstance(e, TranscriptSegment)
    ]
    assert len(events) == len(onsets) > 15
    starts = np.array([e.start for e in events])
    ends = np.array([e.end for e in events])
    assert np.max(np.abs(starts - np.array(onsets) / SR)) < 1e-6
    assert np.max(np.abs(ends - (np.array(onsets) / SR + 0.3))) < 1e-6
    assert len(backend.windows) < 0.7 * len(onsets)
    # A window spans at most MAX_SPAN_FACTOR times its length of the stream.
    assert max(buffered) < 4 * 30 + 15


def test_packed_windows_are_only_for_files() -> None:
    config = WindowConfig(length=30, hop=25, max_gap=1.0)
    audio = np.zeros(40 * SR, np.float32)
    audio[SR : 2 * SR] = _burst(SR)
    audio[30 * SR : 31 * SR] = _burst(SR)
    live = Windower(config, "s", live=True)
    planned = live.push(audio) + live.finish()
    assert all(not p.window.pieces for p in planned)
    files = Windower(config, "s", live=False)
    planned = files.push(audio) + files.finish()
    assert len(planned) == 1
    window = planned[0].window
    assert window.gaps() and window.duration < 4.0
    assert window.clip(30.0, 31.0).tolist() == audio[30 * SR : 31 * SR].tolist()
    with pytest.raises(ValueError, match="max_gap"):
        WindowConfig(max_gap=0.1)


def _dumped(events: list[Event]) -> list[dict]:
    return [e.model_dump(exclude={"backend"}) for e in events]


def _stream(minutes: float, seed: int = 3) -> list[np.ndarray]:
    chunks, _ = _silence_and_bursts(minutes / 60, seed)
    return list(chunks)


@pytest.mark.parametrize("workers", [1, 3])
def test_a_pipelined_backend_prepares_ahead_and_gives_the_same_events(workers: int) -> None:
    chunks = _stream(12)
    plain = list(Perceiver(BurstBackend()).process_stream(iter(chunks), "s"))
    staged = StagedBurstBackend(wait_for_next=5.0, prepare_workers=workers)
    piped = list(Perceiver(staged).process_stream(iter(chunks), "s"))
    assert _dumped(piped) == _dumped(plain)
    assert staged.completed == staged.prepared and len(staged.completed) > 3
    # Every window but the last completed while the next one was being prepared ...
    assert staged.overlapped == [True] * (len(staged.completed) - 1) + [False]
    # ... on one worker thread, so completions (the session's state) stay in order.
    assert len(staged.threads["complete"]) == 1
    assert staged.threads["complete"].isdisjoint(staged.threads["prepare"])
    assert 1 <= len(staged.threads["prepare"]) <= workers


def test_damage_mid_stream_still_yields_what_came_before_it_when_pipelined() -> None:
    chunks = _stream(12)

    def damaged(n: int) -> Iterator[np.ndarray]:
        yield from chunks[:n]
        raise RuntimeError("damaged audio")

    for backend in (BurstBackend(), StagedBurstBackend(prepare_workers=2)):
        got: list[Event] = []
        with pytest.raises(RuntimeError, match="damaged"):
            for event in Perceiver(backend).process_stream(damaged(50), "s"):
                got.append(event)
        if isinstance(backend, StagedBurstBackend):
            piped = got
            assert backend.completed == backend.prepared
        else:
            plain = got
    assert len(plain) > 3 and _dumped(piped) == _dumped(plain)


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_the_settled_time_never_passes_an_event_still_to_come(workers: int) -> None:
    """What a recording resumes from: everything before it has been yielded, even while
    windows are still being analysed (0: one window at a time)."""
    backend = BurstBackend() if workers == 0 else StagedBurstBackend(prepare_workers=workers)
    perceiver = Perceiver(backend)
    out: list[Event] = []
    marks: list[tuple[int, float]] = []
    for event in perceiver.process_stream(
        iter(_stream(12, seed=5)),
        "s",
        on_progress=lambda done, total: marks.append((len(out), perceiver.settled_seconds)),
    ):
        out.append(event)
    assert len(out) > 5 and max(s for _, s in marks) > 600
    for yielded, settled in marks:
        # (a speaker turn stays open until the voice changes: derived, not perceived)
        later = [e for e in out[yielded:] if not isinstance(e, SpeakerTurn)]
        assert all(e.start >= settled for e in later), (yielded, settled)
