"""``PerceptionSTT`` as LiveKit sees it: a streaming RecognizeStream over real speech."""

from __future__ import annotations

import asyncio

import numpy as np
from livekit import rtc
from livekit.agents import stt as lk_stt

from agent.voice.livekit.stt import PerceptionSTT
from perception import synthetic

SENTENCE = "We moved the servers to the new data center."


def _frames(audio: np.ndarray, rate: int = 48_000) -> list[rtc.AudioFrame]:
    from scipy.signal import resample_poly

    pcm = (np.clip(resample_poly(audio, rate // 16_000, 1), -1, 1) * 32767).astype(np.int16)
    n = rate // 50
    return [
        rtc.AudioFrame(pcm[i : i + n].tobytes(), rate, 1, n) for i in range(0, len(pcm) - n + 1, n)
    ]


async def _run(stt: PerceptionSTT, audio: np.ndarray, offset: float) -> list[lk_stt.SpeechEvent]:
    stream = stt.stream()
    stream.start_time_offset = offset
    for frame in _frames(audio):
        stream.push_frame(frame)
    stream.end_input()
    return [ev async for ev in stream]


async def test_stream_gives_diarised_word_aligned_finals_on_the_stream_clock(lite_backend) -> None:
    recorded = []
    stt = PerceptionSTT(lite_backend, on_events=recorded.extend)
    caps = stt.capabilities
    assert caps.streaming and caps.diarization and caps.aligned_transcript == "word"
    pause = np.zeros(16_000, np.float32)
    speech = synthetic.speak(SENTENCE, "en-gb+f3", words_per_minute=150)
    events = await asyncio.wait_for(
        _run(stt, np.concatenate([pause, speech, pause]), offset=5.0), 60
    )

    types = [e.type for e in events]
    assert types[0] == lk_stt.SpeechEventType.START_OF_SPEECH
    assert lk_stt.SpeechEventType.END_OF_SPEECH in types
    finals = [e for e in events if e.type == lk_stt.SpeechEventType.FINAL_TRANSCRIPT]
    assert len(finals) == 1
    data = finals[0].alternatives[0]
    assert "moved the" in data.text.lower() and "center" in data.text.lower()
    assert data.speaker_id and data.words
    # speech starts 1.0 s into the stream; the stream began 5.0 s into the session
    assert 5.8 < data.start_time < 6.4
    assert all(w.speaker_id == data.speaker_id for w in data.words), [
        (w, w.speaker_id) for w in data.words
    ]
    assert all(abs(w.start_time_offset - 5.0) < 0.01 for w in data.words)
    assert [w.start_time for w in data.words] == sorted(w.start_time for w in data.words)
    # the same words reached the event sink on the call's own clock (for memory)
    stored = [e for e in recorded if e.kind == "transcript"]
    assert stored and abs(stored[0].start - (data.start_time - 5.0)) < 0.05


async def test_quick_transcripts_answer_first_and_engine_events_still_recorded(
    lite_backend,
) -> None:
    from agent.voice.quick_transcript import QuickTranscriber

    recorded = []
    stt = PerceptionSTT(
        lite_backend, on_events=recorded.extend, quick=QuickTranscriber(), quick_finals=True
    )
    pause = np.zeros(16_000, np.float32)
    audio = np.concatenate(
        [pause, synthetic.speak(SENTENCE, "en-gb+f3", words_per_minute=150), pause]
    )
    events = await asyncio.wait_for(_run(stt, audio, offset=0.0), 60)
    finals = [e for e in events if e.type == lk_stt.SpeechEventType.FINAL_TRANSCRIPT]
    assert len(finals) == 1  # the engine's segment for the same words is not repeated
    assert "center" in finals[0].alternatives[0].text.lower()
    assert finals[0].alternatives[0].words
    stored = [e for e in recorded if e.kind == "transcript"]
    assert stored and stored[0].speaker  # diarised events for memory
