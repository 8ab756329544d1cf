"""Audio I/O for an ``AgentSession`` without a room: real speech in, reply audio captured.

These replace only the transport (a LiveKit room, a browser); STT, LLM, TTS and VAD are
the real ones under test.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from livekit import rtc
from livekit.agents.voice import io

FRAME_MS = 20


class SpeechInput(io.AudioInput):
    """Plays ``audio`` (16 kHz float32) in real time, then silence for as long as asked."""

    def __init__(self, audio: np.ndarray, rate: int = 16_000, speed: float = 1.0) -> None:
        super().__init__(label="espeak-ng speech")
        self.rate = rate
        self.speed = speed
        self.pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        self.position = 0
        self.started: float | None = None
        self.n = rate * FRAME_MS // 1000

    @property
    def audio_end_wall(self) -> float | None:
        """Wall-clock time at which the scripted audio ends (silence after it)."""
        if self.started is None:
            return None
        return self.started + len(self.pcm) / self.rate / self.speed

    def say(self, audio: np.ndarray) -> None:
        """Speak ``audio`` from now on (the scripted audio must have finished)."""
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        self.pcm = np.concatenate(
            [
                self.pcm[: self.position],
                np.zeros(max(0, self.position - len(self.pcm)), np.int16),
                pcm,
            ]
        )

    async def __anext__(self) -> rtc.AudioFrame:
        if self.started is None:
            self.started = time.time()
        due = self.started + self.position / self.rate / self.speed
        await asyncio.sleep(max(0.0, due - time.time()))
        chunk = self.pcm[self.position : self.position + self.n]
        if len(chunk) < self.n:  # keep feeding silence: ending the input would stop STT
            chunk = np.concatenate([chunk, np.zeros(self.n - len(chunk), np.int16)])
        self.position += self.n
        return rtc.AudioFrame(chunk.tobytes(), self.rate, 1, self.n)


class CaptureOutput(io.AudioOutput):
    """Keeps every reply frame; playback 'finishes' as soon as a segment is flushed."""

    def __init__(self) -> None:
        super().__init__(label="capture", capabilities=io.AudioOutputCapabilities(pause=False))
        self.frames: list[rtc.AudioFrame] = []
        self.first_frame_wall: float | None = None
        self.segments = 0
        self.interrupted = 0
        self._pushed = 0.0

    @property
    def seconds(self) -> float:
        return sum(f.duration for f in self.frames)

    def samples(self) -> np.ndarray:
        if not self.frames:
            return np.zeros(0, np.float32)
        return (
            np.concatenate([np.frombuffer(bytes(f.data), np.int16) for f in self.frames]).astype(
                np.float32
            )
            / 32768
        )

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self.first_frame_wall is None:
            self.first_frame_wall = time.time()
        if not self._pushed:
            self.on_playback_started(created_at=time.time())
        self.frames.append(frame)
        self._pushed += frame.duration

    def flush(self) -> None:
        super().flush()
        if self._pushed:
            pushed, self._pushed = self._pushed, 0.0
            self.segments += 1
            self.on_playback_finished(playback_position=pushed, interrupted=False)

    def clear_buffer(self) -> None:
        if self._pushed:
            pushed, self._pushed = self._pushed, 0.0
            self.interrupted += 1
            self.on_playback_finished(playback_position=pushed, interrupted=True)


class PacedOutput(CaptureOutput):
    """Like a speaker: a segment takes as long to play as it lasts, unless cleared (barge-in)."""

    def __init__(self) -> None:
        super().__init__()
        self._segment_started: float | None = None
        self._segment_seconds = 0.0
        self._finish: asyncio.TimerHandle | None = None
        self.played: list[tuple[float, float, bool]] = []  # (played, queued, interrupted)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        if self._segment_started is None:
            self._segment_started = time.time()
            self._segment_seconds = 0.0
        self._segment_seconds += frame.duration
        await super().capture_frame(frame)

    def flush(self) -> None:
        io.AudioOutput.flush(self)
        if self._segment_started is None:
            return
        remaining = self._segment_started + self._segment_seconds - time.time()
        self._finish = asyncio.get_running_loop().call_later(max(0.0, remaining), self._done, False)

    def clear_buffer(self) -> None:
        if self._segment_started is not None:
            if self._finish is not None:
                self._finish.cancel()
            self._done(True)

    def _done(self, interrupted: bool) -> None:
        if self._segment_started is None:
            return
        played = min(time.time() - self._segment_started, self._segment_seconds)
        self.played.append((played, self._segment_seconds, interrupted))
        self._segment_started, self._finish, self._pushed = None, None, 0.0
        if interrupted:
            self.interrupted += 1
        else:
            self.segments += 1
        self.on_playback_finished(playback_position=played, interrupted=interrupted)
