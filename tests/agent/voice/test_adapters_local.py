"""The adapters that need nothing from other packages: espeak-ng TTS, webrtcvad VAD, filters."""

from __future__ import annotations

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import vad as lk_vad

from agent.voice.espeak import EspeakError, synthesize_pcm
from agent.voice.livekit.tts import ESPEAK_SAMPLE_RATE, EspeakTTS
from agent.voice.livekit.vad import WebRTCVAD
from agent.voice.reasoning_filter import strip_reasoning, strip_reasoning_stream
from perception import synthetic


async def test_espeak_tts_speaks_the_text() -> None:
    tts = EspeakTTS()
    frame = await tts.synthesize("The budget is tight this quarter.").collect()
    assert frame.sample_rate == ESPEAK_SAMPLE_RATE
    assert frame.num_channels == 1
    audio = np.frombuffer(bytes(frame.data), np.int16).astype(np.float32) / 32768
    assert 1.0 < frame.duration < 5.0
    assert np.sqrt(np.mean(audio**2)) > 0.02  # speech, not silence


async def test_espeak_tts_never_speaks_reasoning() -> None:
    tts = EspeakTTS()
    plain = await tts.synthesize("Yes.").collect()
    with_thought = await tts.synthesize(
        "<think>The user asked a long question about budgets and servers.</think>Yes."
    ).collect()
    # the thought would add seconds of speech; the answer alone is well under a second longer
    assert abs(with_thought.duration - plain.duration) < 0.1


async def test_espeak_tts_only_reasoning_gives_silence_not_an_error() -> None:
    frame = await EspeakTTS().synthesize("<think>nothing to say</think>").collect()
    audio = np.frombuffer(bytes(frame.data), np.int16)
    assert frame.duration < 0.1 and not audio.any()


async def test_espeak_unknown_voice_is_a_clear_error() -> None:
    with pytest.raises(EspeakError, match="voice"):
        async for _ in synthesize_pcm("hello", voice="no-such-voice-xx"):
            pass


def test_strip_reasoning() -> None:
    assert strip_reasoning("<think>plan</think>It rang at 0:10.") == "It rang at 0:10."
    assert strip_reasoning("It rang.<THINK>unclosed thought") == "It rang."
    assert strip_reasoning("plan steps</think>Answer.") == "Answer."
    assert strip_reasoning("No tags here.") == "No tags here."


async def test_strip_reasoning_stream_with_split_tags() -> None:
    async def chunks(parts: list[str]):
        for p in parts:
            yield p

    parts = ["Sure. <thi", "nk>secret ", "plan</th", "ink> The door", "bell rang at 0:10."]
    out = "".join([c async for c in strip_reasoning_stream(chunks(parts))])
    assert out == "Sure.  The doorbell rang at 0:10."
    assert (
        "".join([c async for c in strip_reasoning_stream(chunks(["a < b", " and c"]))])
        == "a < b and c"
    )


def _frames(audio: np.ndarray, rate: int = 16_000, ms: int = 20) -> list[rtc.AudioFrame]:
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    n = rate * ms // 1000
    return [
        rtc.AudioFrame(pcm[i : i + n].tobytes(), rate, 1, len(pcm[i : i + n]))
        for i in range(0, len(pcm) - n + 1, n)
    ]


async def test_webrtc_vad_finds_start_and_end_of_real_speech() -> None:
    speech = synthetic.speak("Was that a doorbell a minute ago?")
    silence = np.zeros(16_000, np.float32)
    audio = np.concatenate([silence, speech, silence])
    stream = WebRTCVAD().stream()
    for frame in _frames(audio):
        stream.push_frame(frame)
    stream.end_input()
    events = [ev async for ev in stream]
    starts = [e for e in events if e.type == lk_vad.VADEventType.START_OF_SPEECH]
    ends = [e for e in events if e.type == lk_vad.VADEventType.END_OF_SPEECH]
    assert len(starts) >= 1 and len(ends) >= 1
    assert 0.9 < starts[0].timestamp < 1.4  # speech begins at 1.0 s
    speech_end = 1.0 + len(speech) / 16_000
    assert speech_end < ends[-1].timestamp < speech_end + 1.0
    assert ends[-1].frames[0].duration > 0.5  # carries the user's speech
    inferences = [e for e in events if e.type == lk_vad.VADEventType.INFERENCE_DONE]
    assert any(e.speaking and e.speech_duration > 0.5 for e in inferences)


async def test_webrtc_vad_hears_nothing_in_silence_at_48k() -> None:
    stream = WebRTCVAD().stream()
    for frame in _frames(np.zeros(48_000 * 2, np.float32), rate=48_000):
        stream.push_frame(frame)
    stream.end_input()
    events = [ev async for ev in stream]
    assert events and all(
        e.type == lk_vad.VADEventType.INFERENCE_DONE and not e.speaking for e in events
    )


def test_espeak_tts_refuses_unknown_voice_at_construction() -> None:
    with pytest.raises(EspeakError, match="espeak-ng --voices"):
        EspeakTTS(voice="klingon-xx")
    EspeakTTS(voice="en-gb+f3")  # a known voice with a variant is fine
