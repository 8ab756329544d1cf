"""The acoustic sound detector and the speaker clusterer on their own (real audio, no Whisper)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from perception.backend import Window
from perception.events import SoundCategory, TranscriptSegment
from perception.sound_detector import SoundDetector
from perception.speakers import OnlineSpeakerClusterer, SpeakerEncoder, SpeakerTracker
from perception.synthetic import doorbell, noise_burst, phone_ring, speak

SR = 16_000


def _melody(seconds: float = 4.0) -> np.ndarray:
    notes = [262, 294, 330, 349, 392, 440, 494, 523]
    per = int(0.25 * SR)
    t = np.arange(per) / SR
    out = []
    for i in range(int(seconds / 0.25)):
        f = notes[i % len(notes)]
        tone = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)
        out.append(tone * np.minimum(1.0, 20 * t))
    return (0.2 * np.concatenate(out)).astype(np.float32)


@pytest.mark.parametrize(
    "make, category, word",
    [
        (doorbell, SoundCategory.TONAL, "chime"),
        (phone_ring, SoundCategory.TONAL, "ringing"),
        (lambda: noise_burst(1.0), SoundCategory.NOISE, "noise"),
        (
            lambda: (0.1 * np.random.default_rng(1).standard_normal(3 * SR)).astype(np.float32),
            SoundCategory.NOISE,
            "broadband",
        ),
        (_melody, SoundCategory.MUSIC, "music"),
        (
            lambda: np.tile(0.3 * np.sin(2 * np.pi * 1000 * np.arange(SR) / SR), 1).astype(
                np.float32
            ),
            SoundCategory.TONAL,
            "steady",
        ),
    ],
)
def test_each_kind_of_sound_is_named(make, category: SoundCategory, word: str) -> None:
    sound = SoundDetector().classify(make())
    assert sound.category == category, sound
    assert word in sound.label


def test_speech_without_a_transcript_is_not_called_a_tone() -> None:
    sound = SoundDetector().classify(speak("Can you hear me in the back of the room?", "en-gb+f3"))
    assert sound.category == SoundCategory.SPEECH


def test_sounds_between_words_are_found_with_their_times() -> None:
    gap = np.zeros(SR // 2, np.float32)
    speech = speak("Hello there.", "en-us+m3")
    audio = np.concatenate(
        [gap, speech, gap, doorbell(), gap, phone_ring(), gap, np.zeros(6 * SR, np.float32)]
    )
    speech_span = (0.5, 0.5 + len(speech) / SR)
    bell_start = speech_span[1] + 0.5
    found = SoundDetector().detect(audio, [speech_span])
    labels = [(round(s.start, 1), s.category, s.label) for s in found]
    assert [s.category for s in found] == [
        SoundCategory.TONAL,
        SoundCategory.TONAL,
        SoundCategory.SILENCE,
    ], labels
    assert found[0].start == pytest.approx(bell_start, abs=0.05)
    assert found[1].start == pytest.approx(bell_start + 1.6 + 0.5, abs=0.05)
    assert found[2].end - found[2].start >= 5.0


def test_clusterer_opens_ids_in_order_and_keeps_them() -> None:
    c = OnlineSpeakerClusterer(threshold=0.8)
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([0.0, 1.0, 0.0])
    near_a = np.array([0.95, 0.3, 0.0]) / np.linalg.norm([0.95, 0.3, 0.0])
    assert [c.assign(a, 2), c.assign(b, 2), c.assign(near_a, 2), c.assign(b, 2)] == [
        "S1",
        "S2",
        "S1",
        "S2",
    ]
    assert c.assign(np.array([0.0, 0.0, 1.0]), 1, may_open=False) in ("S1", "S2")
    assert len(c.voices) == 2


def test_tracker_gives_window_local_labels_session_ids() -> None:
    """For backends whose labels are per window (e.g. 'A', 'B'), ids come from the voices.

    Real voices (tests/fixtures/voices): two espeak-ng voices are too alike for CAM++."""
    import soundfile as sf

    voices = Path(__file__).resolve().parents[1] / "fixtures" / "voices"
    tracker = SpeakerTracker(SpeakerEncoder())
    bob = [sf.read(voices / f"{k}.flac", dtype="float32")[0] for k in ("a1", "a2")]
    alice = [sf.read(voices / f"{k}.flac", dtype="float32")[0] for k in ("b1", "b2")]
    ids = []
    for w, (first, second, labels) in enumerate(
        [(bob[0], alice[0], ("A", "B")), (alice[1], bob[1], ("A", "B"))]
    ):
        audio = np.concatenate([first, np.zeros(SR // 2, np.float32), second])
        t1 = len(first) / SR
        window = Window("s", w, 100.0 * w, audio.astype(np.float32))
        segs = [
            TranscriptSegment(
                start=window.start, end=window.start + t1, text="x", speaker=labels[0]
            ),
            TranscriptSegment(
                start=window.start + t1 + 0.5, end=window.end, text="y", speaker=labels[1]
            ),
        ]
        relabelled = tracker.relabel(segs, window)
        assert all(e.speaker_embedding is not None for e in relabelled)  # kept for refinement
        ids.append([e.speaker for e in relabelled])
    # Window 0: Bob, Alice. Window 1: Alice, Bob -- the local labels swapped, the ids did not.
    (bob0, alice0), (alice1, bob1) = ids
    assert {bob0, alice0} == {"S1", "S2"}
    assert (alice1, bob1) == (alice0, bob0)
