"""webrtcvad as a LiveKit ``vad.VAD``: prompt voice activity for turn-taking and barge-in.

LiveKit interrupts the assistant when its VAD hears the user for ``min_duration``
seconds. webrtcvad (the same detector perception gates windows with) needs no model
download and costs microseconds per 30 ms frame, so it runs on the event loop.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from livekit import rtc
from livekit.agents import vad

from perception.backend import SAMPLE_RATE
from perception.endpointing import Endpointer
from perception.vad import FRAME, FRAME_SECONDS, VoiceActivityDetector

logger = logging.getLogger(__name__)

# at most this much speech audio is kept for the END_OF_SPEECH event
_MAX_SPEECH_SECONDS = 30.0


class WebRTCVAD(vad.VAD):
    """Speech starts after ``min_speech`` s of voiced frames and ends after ``min_silence`` s."""

    def __init__(
        self, *, aggressiveness: int = 2, min_speech: float = 0.12, min_silence: float = 0.45
    ) -> None:
        super().__init__(capabilities=vad.VADCapabilities(update_interval=FRAME_SECONDS))
        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"aggressiveness must be 0..3, got {aggressiveness}")
        self.aggressiveness = aggressiveness
        self.min_speech = min_speech
        self.min_silence = min_silence

    @property
    def model(self) -> str:
        return f"webrtcvad-{self.aggressiveness}"

    @property
    def provider(self) -> str:
        return "webrtcvad"

    def stream(self) -> WebRTCVADStream:
        return WebRTCVADStream(self)


class WebRTCVADStream(vad.VADStream):
    _vad: WebRTCVAD

    async def _main_task(self) -> None:
        detector = VoiceActivityDetector(aggressiveness=self._vad.aggressiveness)
        endpointer = Endpointer(self._vad.min_speech, self._vad.min_silence)
        resampler: rtc.AudioResampler | None = None
        input_rate = 0
        carry = np.zeros(0, np.float32)
        samples_index = 0
        speech_duration = silence_duration = 0.0  # published durations
        speech_audio: list[np.ndarray] = []
        preroll_frames = endpointer.start_frames + 1

        def reset() -> None:
            nonlocal carry, speech_duration, silence_duration
            carry = np.zeros(0, np.float32)
            endpointer.reset()
            speech_duration = silence_duration = 0.0
            speech_audio.clear()

        def speech_frame() -> rtc.AudioFrame:
            audio = np.concatenate(speech_audio) if speech_audio else np.zeros(0, np.float32)
            pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
            return rtc.AudioFrame(pcm.tobytes(), SAMPLE_RATE, 1, len(pcm))

        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                reset()
                continue
            if item.sample_rate != input_rate:
                input_rate = item.sample_rate
                resampler = (
                    rtc.AudioResampler(input_rate, SAMPLE_RATE, num_channels=1)
                    if input_rate != SAMPLE_RATE
                    else None
                )
            frames = resampler.push(item) if resampler else [item]
            for frame in frames:
                pcm = np.frombuffer(bytes(frame.data), np.int16).reshape(-1, frame.num_channels)
                carry = np.concatenate((carry, pcm.mean(axis=1).astype(np.float32) / 32768.0))
            whole = len(carry) // FRAME * FRAME
            if not whole:
                continue
            started = time.perf_counter()
            flags = detector.frames(carry[:whole]).speech
            inference = time.perf_counter() - started
            for i, is_speech in enumerate(flags):
                chunk = carry[i * FRAME : (i + 1) * FRAME]
                samples_index += FRAME
                speaking = endpointer.speaking
                if speaking:
                    speech_audio.append(chunk)
                    if sum(len(a) for a in speech_audio) > _MAX_SPEECH_SECONDS * SAMPLE_RATE:
                        speech_audio.pop(0)
                    speech_duration += FRAME_SECONDS
                else:
                    silence_duration += FRAME_SECONDS
                    if is_speech:
                        speech_audio.append(chunk)
                        del speech_audio[:-preroll_frames]
                    else:
                        speech_audio.clear()
                change = endpointer.push(bool(is_speech))
                self._event_ch.send_nowait(
                    vad.VADEvent(
                        type=vad.VADEventType.INFERENCE_DONE,
                        samples_index=samples_index,
                        timestamp=samples_index / SAMPLE_RATE,
                        speech_duration=speech_duration,
                        silence_duration=silence_duration,
                        probability=1.0 if is_speech else 0.0,
                        inference_duration=inference / max(1, len(flags)),
                        speaking=speaking,
                        raw_accumulated_silence=endpointer.silence_seconds,
                        raw_accumulated_speech=endpointer.speech_seconds,
                    )
                )
                if change == "start":
                    speech_duration, silence_duration = endpointer.speech_seconds, 0.0
                    self._event_ch.send_nowait(
                        vad.VADEvent(
                            type=vad.VADEventType.START_OF_SPEECH,
                            samples_index=samples_index,
                            timestamp=samples_index / SAMPLE_RATE,
                            speech_duration=speech_duration,
                            silence_duration=0.0,
                            frames=[speech_frame()],
                            speaking=True,
                        )
                    )
                elif change == "end":
                    silence = endpointer.silence_seconds
                    self._event_ch.send_nowait(
                        vad.VADEvent(
                            type=vad.VADEventType.END_OF_SPEECH,
                            samples_index=samples_index,
                            timestamp=samples_index / SAMPLE_RATE,
                            speech_duration=max(0.0, speech_duration - silence),
                            silence_duration=silence,
                            frames=[speech_frame()],
                            speaking=False,
                        )
                    )
                    speech_duration, silence_duration = 0.0, silence
                    speech_audio.clear()
            carry = carry[whole:]
