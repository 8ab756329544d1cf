"""Which stored voice a resumed speaker is: decided on enough speech, never on one short phrase.

A fake encoder (in addition to the real one in the interrupted-recording test) makes the
point exact: like a real one, it recognises a voice only from a few seconds of speech.
"""

from __future__ import annotations

import numpy as np

from agent.recording.recorder import DECIDE_SECONDS, _VoiceBook
from perception.backend import SAMPLE_RATE
from perception.events import SoundEvent, TranscriptSegment, VoiceTraits

VOICES = {"S1": 0, "S2": 1, "S3": 2}


def _unit(i: int) -> np.ndarray:
    v = np.zeros(4)
    v[i] = 1.0
    return v


class ShortClipsAreVague:
    """Audio is filled with its voice's index; under 2 s of it the embedding is a blur."""

    def embed(self, audio: np.ndarray) -> np.ndarray | None:
        voice = int(audio[0])
        if len(audio) < 2 * SAMPLE_RATE:
            return np.full(4, 0.5)  # 0.5 against every voice: below any threshold
        return _unit(voice)


def _audio_of(voices: dict[tuple[float, float], int]):  # type: ignore[no-untyped-def]
    def audio_at(t0: float, t1: float) -> np.ndarray:
        return np.full(round((t1 - t0) * SAMPLE_RATE), voices[(t0, t1)], np.float32)

    return audio_at


def _book() -> _VoiceBook:
    return _VoiceBook(embeddings={sid: _unit(i) for sid, i in VOICES.items()}, threshold=0.86)


def test_speaker_is_matched_on_enough_speech_not_on_a_short_phrase() -> None:
    book, encoder = _book(), ShortClipsAreVague()
    # The new run calls the voice stored as S2 "S1"; its first phrase is one second long.
    short = TranscriptSegment(start=30.0, end=31.0, text="Thanks everyone,", speaker="S1")
    badge = VoiceTraits(start=30.0, end=31.0, speaker="S1", emotion="happy")
    more = TranscriptSegment(start=32.0, end=35.0, text="the budget is tight.", speaker="S1")
    bell = SoundEvent(start=31.0, end=32.0, label="doorbell")
    audio = _audio_of({(30.0, 31.0): 1, (32.0, 35.0): 1})
    assert book.offer(short, audio, encoder) == []  # held: one second says too little
    assert book.offer(badge, audio, encoder) == []  # its voice event waits with it
    assert [e.label for e in book.offer(bell, audio, encoder)] == ["doorbell"]  # no speaker: passes
    assert DECIDE_SECONDS <= 1.0 + 3.0  # the two phrases together are enough
    released = book.offer(more, audio, encoder)
    assert [e.start for e in released] == [30.0, 30.0, 32.0]
    assert {e.speaker for e in released} == {"S2"}
    assert all(
        w.speaker == "S2" for e in released if isinstance(e, TranscriptSegment) for w in e.words
    )
    later = TranscriptSegment(start=40.0, end=41.0, text="Yes.", speaker="S1")
    assert [e.speaker for e in book.offer(later, audio, encoder)] == ["S2"]  # decided once


def test_checkpoint_settles_waiting_speakers_and_new_voices_get_new_ids() -> None:
    book, encoder = _book(), ShortClipsAreVague()
    audio = _audio_of({(50.0, 51.0): 3})
    stranger = TranscriptSegment(start=50.0, end=51.0, text="Hi, I'm new.", speaker="S1")
    quiet = VoiceTraits(start=52.0, end=53.0, speaker="S2", emotion="calm")  # no speech yet
    assert book.offer(stranger, audio, encoder) == []
    assert book.offer(quiet, audio, encoder) == []
    settled = book.settle(encoder)  # a checkpoint: nothing may stay unstored before it
    assert book.held == [] and book.clips == {}
    assert [e.speaker for e in settled] == ["S4", "S5"]  # neither is a stored voice
