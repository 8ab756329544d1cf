"""Bridges between aiortc media tracks and a LiveKit ``AgentSession``'s audio I/O.

The browser's microphone arrives as an aiortc track of ``av.AudioFrame``s; the session
reads ``rtc.AudioFrame``s from an ``io.AudioInput``. The session writes the spoken answer
to an ``io.AudioOutput``; the browser plays an aiortc track that we pace in real time.
Barge-in lands in ``clear_buffer``: queued answer audio is dropped at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from livekit import rtc
from livekit.agents.voice import io

logger = logging.getLogger(__name__)

TRACK_SAMPLE_RATE = 48_000
FRAME_SECONDS = 0.02
FRAME_SAMPLES = int(TRACK_SAMPLE_RATE * FRAME_SECONDS)
_BYTES_PER_FRAME = FRAME_SAMPLES * 2


def av_to_rtc_frame(frame: av.AudioFrame) -> rtc.AudioFrame:
    """Mix an aiortc frame (any layout, s16 or float) down to a mono 16-bit ``rtc.AudioFrame``."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    samples = data.reshape(channels, -1).T if frame.format.is_planar else data.reshape(-1, channels)
    if samples.dtype.kind == "f":
        samples = np.clip(samples, -1.0, 1.0).astype(np.float32) * np.float32(32767.0)
    mono = samples.astype(np.float32).mean(axis=1) if channels > 1 else samples[:, 0]
    pcm = np.clip(mono, -32768, 32767).astype(np.int16)
    return rtc.AudioFrame(
        data=pcm.tobytes(),
        sample_rate=frame.sample_rate,
        num_channels=1,
        samples_per_channel=len(pcm),
    )


class TrackAudioInput(io.AudioInput):
    """The remote microphone track as the session's audio input.

    Frames are read by a task of our own so a slow consumer never stalls aiortc's
    receiver; on overflow the oldest audio is dropped with a warning (a live call must
    not fall further and further behind).
    """

    def __init__(self, track: MediaStreamTrack, *, max_queued_seconds: float = 5.0) -> None:
        super().__init__(label="WebRTC microphone")
        self._track = track
        self._queue: asyncio.Queue[rtc.AudioFrame | None] = asyncio.Queue()
        self._max_frames = int(max_queued_seconds / FRAME_SECONDS)
        self._reader: asyncio.Task[None] | None = None
        self.frames_received = 0
        # callbacks that see every frame (e.g. the call's audio archive, a level meter)
        self.listeners: list[Callable[[rtc.AudioFrame], None]] = []

    def start(self) -> None:
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name="webrtc-mic-reader")

    async def _read(self) -> None:
        try:
            while True:
                frame = await self._track.recv()
                if not isinstance(frame, av.AudioFrame):
                    continue
                converted = av_to_rtc_frame(frame)
                self.frames_received += 1
                for listener in self.listeners:
                    listener(converted)
                if self._queue.qsize() >= self._max_frames:
                    self._queue.get_nowait()
                    logger.warning(
                        "microphone audio is arriving faster than it is processed; dropping"
                    )
                self._queue.put_nowait(converted)
        except MediaStreamError:
            logger.info("microphone track ended")
        finally:
            self._queue.put_nowait(None)

    async def __anext__(self) -> rtc.AudioFrame:
        self.start()
        frame = await self._queue.get()
        if frame is None:
            self._queue.put_nowait(None)  # stay ended for later readers
            raise StopAsyncIteration
        return frame

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


class AnswerAudioTrack(MediaStreamTrack):
    """An outgoing audio track: queued answer audio, or silence, paced at real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        self._start: float | None = None
        self._timestamp = 0
        self.played_bytes = 0  # answer audio (not silence) sent so far
        self.queued_bytes = 0  # answer audio ever queued
        self._progress = asyncio.Event()
        self._playing = False
        # called when answer audio starts going out after silence (latency measurements)
        self.on_audio_starts: Callable[[], None] | None = None

    def queue(self, pcm48k_mono: bytes) -> None:
        self._pending.extend(pcm48k_mono)
        self.queued_bytes += len(pcm48k_mono)

    def clear(self) -> float:
        """Drop queued audio; returns the seconds dropped."""
        dropped = len(self._pending)
        self._pending.clear()
        self.queued_bytes -= dropped
        self._progress.set()
        return dropped / 2 / TRACK_SAMPLE_RATE

    @property
    def pending_seconds(self) -> float:
        return len(self._pending) / 2 / TRACK_SAMPLE_RATE

    async def wait_played(self, target_bytes: int) -> None:
        while self.played_bytes < min(target_bytes, self.queued_bytes):
            self._progress.clear()
            await self._progress.wait()

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
            self._timestamp = 0
        else:
            self._timestamp += FRAME_SAMPLES
            wait = self._start + self._timestamp / TRACK_SAMPLE_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        chunk = bytes(self._pending[:_BYTES_PER_FRAME])
        del self._pending[:_BYTES_PER_FRAME]
        if chunk:
            if not self._playing and self.on_audio_starts is not None:
                self.on_audio_starts()
            self._playing = True
            self.played_bytes += len(chunk)
            self._progress.set()
        else:
            self._playing = False
        if len(chunk) < _BYTES_PER_FRAME:
            chunk = chunk + bytes(_BYTES_PER_FRAME - len(chunk))
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(chunk)
        frame.pts = self._timestamp
        frame.sample_rate = TRACK_SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, TRACK_SAMPLE_RATE)
        return frame


class TrackAudioOutput(io.AudioOutput):
    """The session's audio output, played to the browser on an ``AnswerAudioTrack``."""

    def __init__(self, track: AnswerAudioTrack) -> None:
        super().__init__(
            label="WebRTC answer track",
            next_in_chain=None,
            sample_rate=TRACK_SAMPLE_RATE,
            capabilities=io.AudioOutputCapabilities(pause=False),
        )
        self.track = track
        self._segment_start_bytes = 0
        self._pushed_seconds = 0.0
        self._flush_task: asyncio.Task[None] | None = None
        self._interrupted = asyncio.Event()
        # hooks for the call: first answer audio of a segment queued / played
        self.on_segment_started: Callable[[], None] | None = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._flush_task is not None and not self._flush_task.done():
            await self._flush_task
        if frame.sample_rate != TRACK_SAMPLE_RATE or frame.num_channels != 1:
            raise ValueError(
                f"answer audio must be {TRACK_SAMPLE_RATE} Hz mono, got "
                f"{frame.sample_rate} Hz x{frame.num_channels}"
            )
        if not self._pushed_seconds:
            self._segment_start_bytes = self.track.queued_bytes
            self._interrupted.clear()
            self.on_playback_started(created_at=time.time())
            if self.on_segment_started is not None:
                self.on_segment_started()
        self.track.queue(bytes(frame.data))
        self._pushed_seconds += frame.duration

    def flush(self) -> None:
        super().flush()
        if not self._pushed_seconds:
            return
        self._flush_task = asyncio.create_task(self._wait_for_playout(self.track.queued_bytes))

    def clear_buffer(self) -> None:
        if not self._pushed_seconds:
            return
        self.track.clear()
        self._interrupted.set()
        if self._flush_task is None or self._flush_task.done():
            # cleared before flush(): finish the segment here
            self._flush_task = asyncio.create_task(self._wait_for_playout(self.track.queued_bytes))

    async def _wait_for_playout(self, target_bytes: int) -> None:
        played = asyncio.create_task(self.track.wait_played(target_bytes))
        interrupted = asyncio.create_task(self._interrupted.wait())
        try:
            await asyncio.wait([played, interrupted], return_when=asyncio.FIRST_COMPLETED)
        finally:
            played.cancel()
            interrupted.cancel()
        was_interrupted = self._interrupted.is_set()
        position = (self.track.played_bytes - self._segment_start_bytes) / 2 / TRACK_SAMPLE_RATE
        position = min(max(position, 0.0), self._pushed_seconds)
        self._pushed_seconds = 0.0
        self._interrupted.clear()
        self.on_playback_finished(playback_position=position, interrupted=was_interrupted)
