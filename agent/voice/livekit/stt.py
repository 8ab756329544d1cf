"""Our perception as a LiveKit ``stt.STT``: streaming, diarised, word-aligned transcripts.

One ``PerceptionSTT`` serves one call. It owns a ``Perceiver`` (windows, VAD, stitching,
stable speaker ids) whose timeline is the call's audio, so every event it makes is on the
same clock as memory; LiveKit gets the same times shifted onto the stream's timeline
(``start_time_offset``). Each ``FINAL_TRANSCRIPT`` carries word ``TimedString``s and the
speaker id; every perception event (sounds, voice traits, turns) also goes to
``on_events``, which is how the call records itself in memory and on the bus.

The heavy part (the backend) runs on one worker thread per call, so the event loop that
paces WebRTC audio never blocks, and a light webrtcvad pass on the loop gives LiveKit a
prompt start of speech and a wall-clock end of speech for its endpointing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from livekit import rtc
from livekit.agents import stt
from livekit.agents._exceptions import APIConnectionError
from livekit.agents.language import LanguageCode
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
    TimedString,
)
from livekit.agents.utils import AudioBuffer

from perception.backend import SAMPLE_RATE, BackendError, PerceptionBackend
from perception.endpointing import Endpointer, frames_for
from perception.engine import Perceiver
from perception.events import Event, TranscriptSegment
from perception.vad import FRAME, FRAME_SECONDS, VoiceActivityDetector
from perception.windowing import WindowConfig

if TYPE_CHECKING:
    from agent.voice.quick_transcript import QuickTranscriber

_T = TypeVar("_T")
logger = logging.getLogger(__name__)

EventsCallback = Callable[[list[Event]], Awaitable[None] | None]

# Audio goes to the backend in chunks of this length (seconds): small enough that an
# utterance's window closes promptly, large enough to keep per-call overhead low.
CHUNK_SECONDS = 0.1
# Speech for this long (of the last few VAD frames) is the user starting to talk.
START_SPEECH_SECONDS = 0.15
# Silence for this long after speech, with all audio analysed, ends the user's speech.
END_SPEECH_SECONDS = 0.45


# Audio kept from before the VAD noticed speech, so a quick transcript has the first word.
PREROLL_SECONDS = 0.3
# An engine segment starting before a quick transcript's end (give or take) is the same speech.
QUICK_COVER_SLACK = 0.1


# A pause this long starts the quick transcript (kept only if the pause ends the utterance).
QUICK_AFTER_SILENCE = 0.24
# While someone speaks, an interim transcript of the utterance so far this often (seconds).
INTERIM_EVERY = 1.0


@dataclass(frozen=True)
class _Utterance:
    """An utterance's 16 kHz audio, ``start`` seconds into the stream; ``interim`` while
    it is still going on."""

    samples: np.ndarray
    start: float
    last_voice_wall: float | None
    interim: bool = False
    generation: int = 0  # bumped by every voiced frame
    speculative: bool = False  # made at a pause that may not end the utterance


@dataclass(frozen=True)
class _Chunk:
    """16 kHz int16 PCM plus what the VAD knew when its last sample arrived."""

    pcm: bytes
    speaking: bool
    silence: float  # seconds of silence at the end of this chunk
    last_voice_wall: float | None  # time.time() when the last voiced frame arrived


class PerceptionSTT(stt.STT):
    """LiveKit STT over a perception backend (``lite``, ``moss`` or ``remote``)."""

    def __init__(
        self,
        backend: PerceptionBackend,
        *,
        session_id: str | None = None,
        on_events: EventsCallback | None = None,
        language: str = "en",
        window: WindowConfig | None = None,
        quick: QuickTranscriber | None = None,
        quick_finals: bool = False,
    ) -> None:
        super().__init__(
            capabilities=stt.STTCapabilities(
                streaming=True,
                # interim transcripts come from the quick transcriber, when there is one
                interim_results=quick is not None,
                diarization=True,
                aligned_transcript="word",
                offline_recognize=True,
            )
        )
        self.backend = backend
        self.session_id = session_id or f"call-{uuid.uuid4().hex[:12]}"
        self.on_events = on_events
        self.language = language
        self.perceiver = Perceiver(backend, config=window, session_id=self.session_id)
        # per-utterance transcripts for interim results (engine events still go to memory);
        # quick finals carry no speaker id, which the engine adds in memory a moment later
        self.quick = quick
        # also use it for the final transcript of each utterance (measured slower than the
        # engine on a 2-core CPU, see docs/BENCHMARKS.md, so off by default)
        self.quick_finals = quick is not None and quick_finals
        # how far (call time) the engine has analysed and handed its events to ``on_events``
        self.analysed_until = 0.0
        self.last_final_start = 0.0  # where the latest final transcript sent to LiveKit began
        self._progress: asyncio.Condition | None = None  # made on first use, in the loop
        # every 16 kHz chunk as it is analysed: (start on the call's timeline, float32 samples)
        self.on_audio: Callable[[float, np.ndarray], None] | None = None
        self._executor = _worker_for(backend)

    @property
    def model(self) -> str:
        return self.backend.model or self.backend.name

    @property
    def provider(self) -> str:
        return f"moss-agents:{self.backend.name}"

    async def run_in_worker(self, func: Callable[..., _T], *args: object) -> _T:
        """Run ``func`` on this STT's perception thread (serialised with the stream)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, func, *args)

    async def emit_events(self, events: Sequence[Event]) -> None:
        if not events or self.on_events is None:
            return
        try:
            result = self.on_events(list(events))
            if inspect.isawaitable(result):
                await result
        except Exception:  # recording must never take the conversation down
            logger.exception("the call's event sink failed on %d events", len(events))

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        frame = rtc.combine_audio_frames(buffer)
        pcm = np.frombuffer(bytes(frame.data), dtype=np.int16).reshape(-1, frame.num_channels)
        perceiver = Perceiver(self.backend, session_id=f"{self.session_id}-clip")

        def run() -> list[Event]:
            return list(perceiver.process_array(pcm, sample_rate=frame.sample_rate))

        try:
            events = await asyncio.get_running_loop().run_in_executor(self._executor, run)
        except BackendError as exc:
            raise APIConnectionError(str(exc), retryable=False) from exc
        segments = [e for e in events if isinstance(e, TranscriptSegment)]
        lang = language if isinstance(language, str) else self.language
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=uuid.uuid4().hex[:12],
            alternatives=[_speech_data(segments, lang, offset=0.0)] if segments else [],
        )

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> PerceptionRecognizeStream:
        return PerceptionRecognizeStream(
            stt=self,
            conn_options=conn_options,
            language=language if isinstance(language, str) else self.language,
        )

    async def wait_analysed(self, until: float, timeout: float) -> bool:
        """Wait until the engine's events up to ``until`` (call time) are out; False on timeout.

        Quick transcripts get ahead of the engine; a question about what was just heard
        must not be answered from a memory that has not caught up yet.
        """
        if self._progress is None:
            self._progress = asyncio.Condition()
        async with self._progress:
            try:
                await asyncio.wait_for(
                    self._progress.wait_for(lambda: self.analysed_until >= until), timeout
                )
            except TimeoutError:
                logger.warning(
                    "perception is %.1f s behind; answering from what memory has",
                    until - self.analysed_until,
                )
                return False
        return True

    async def _mark_analysed(self, until: float) -> None:
        self.analysed_until = max(self.analysed_until, until)
        if self._progress is None:
            self._progress = asyncio.Condition()
        async with self._progress:
            self._progress.notify_all()

    def feed(self, pcm: bytes) -> list[Event]:
        """Analyse one 16 kHz int16 chunk (on the perception thread); the events now final."""
        start = self.perceiver.seconds_received
        events = self.perceiver.feed(pcm)
        if self.on_audio is not None:
            try:
                self.on_audio(start, np.frombuffer(pcm, np.int16).astype(np.float32) / 32768.0)
            except Exception:
                logger.exception("the call's audio sink failed")
        return events


# One perception thread per backend, shared by its calls: the Perceivers are stateful and a
# backend (Whisper, the speaker encoder) is not re-entrant.
_WORKERS: dict[int, tuple[PerceptionBackend, concurrent.futures.ThreadPoolExecutor]] = {}


def _worker_for(backend: PerceptionBackend) -> concurrent.futures.ThreadPoolExecutor:
    entry = _WORKERS.get(id(backend))
    if entry is None or entry[0] is not backend:
        entry = (
            backend,
            concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="perception"),
        )
        _WORKERS[id(backend)] = entry
    return entry[1]


class PerceptionRecognizeStream(stt.RecognizeStream):
    _stt: PerceptionSTT

    def __init__(
        self, *, stt: PerceptionSTT, conn_options: APIConnectOptions, language: str
    ) -> None:
        super().__init__(stt=stt, conn_options=conn_options, sample_rate=SAMPLE_RATE)
        self._language = language
        self._request_id = uuid.uuid4().hex[:12]
        # where this stream's audio starts on the call's (perceiver's) timeline
        self._origin = stt.perceiver.seconds_received
        self._vad = VoiceActivityDetector(
            aggressiveness=stt.perceiver.config.vad_aggressiveness,
            sound_threshold_db=stt.perceiver.config.sound_threshold_db,
        )
        self._speaking_reported = False
        self._quick_until = -1.0  # call time up to which quick transcripts went to LiveKit
        self._interim_busy = False
        self._finals_sent = 0
        # a transcript made at a pause: (generation, segment), used if the pause ends the turn
        self._ahead: tuple[int, TranscriptSegment | None] | None = None
        self.utterances_finalised = 0

    # LiveKit's stream time = perceiver time - origin + start_time_offset
    def _offset(self) -> float:
        return self.start_time_offset - self._origin

    async def _run(self) -> None:
        # (priority, sequence, item): utterances for a quick transcript jump the audio queue
        work: asyncio.PriorityQueue[tuple[int, int, _Chunk | _Utterance | None]] = (
            asyncio.PriorityQueue()
        )
        reader = asyncio.create_task(self._read_input(work), name="stt-reader")
        try:
            await self._process(work)
        finally:
            reader.cancel()

    async def _read_input(self, work: asyncio.PriorityQueue) -> None:
        """Frames -> VAD flags (on the loop, cheap) -> fixed-size chunks for the worker,
        plus each finished utterance's audio when quick transcripts are on."""
        chunk_bytes = int(CHUNK_SECONDS * SAMPLE_RATE) * 2
        vad_carry = np.zeros(0, np.float32)
        pending = bytearray()
        # webrtcvad drops single frames inside words: a start tolerates two of them
        endpointer = Endpointer(START_SPEECH_SECONDS, END_SPEECH_SECONDS, start_slack_frames=2)
        preroll_frames = frames_for(PREROLL_SECONDS)
        quick_after_frames = frames_for(QUICK_AFTER_SILENCE)
        last_voice_wall: float | None = None
        history: list[np.ndarray] = []  # recent frames (pre-roll), then the utterance
        utterance_start = 0
        interim_frames = frames_for(INTERIM_EVERY)
        next_interim = 0
        generation = 0
        seq = 0
        quick = self._stt.quick is not None
        quick_finals = self._stt.quick_finals

        def put(priority: int, item: _Chunk | _Utterance | None) -> None:
            nonlocal seq
            seq += 1
            work.put_nowait((priority, seq, item))

        def put_voiced(speculative: bool) -> None:
            """The utterance so far without its trailing silence, for a quick final."""
            voiced = history[: len(history) - endpointer.silence_run + 2]
            start = utterance_start * FRAME_SECONDS
            put(0, _Utterance(np.concatenate(voiced), start, last_voice_wall, generation=generation,
                              speculative=speculative))  # fmt: skip

        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                continue  # we endpoint on our own VAD; a flush is not the end of a window
            data = bytes(item.data)
            if item.num_channels != 1:
                stereo = np.frombuffer(data, np.int16).reshape(-1, item.num_channels)
                data = stereo.mean(axis=1).astype(np.int16).tobytes()
            pending.extend(data)
            vad_carry = np.concatenate((vad_carry, np.frombuffer(data, np.int16) / 32768.0))
            whole = len(vad_carry) // FRAME * FRAME
            if whole:
                block = vad_carry[:whole].astype(np.float32)
                flags = self._vad.frames(block).speech
                vad_carry = vad_carry[whole:]
                now = time.time()
                for i, is_speech in enumerate(flags):
                    if quick:
                        history.append(block[i * FRAME : (i + 1) * FRAME])
                        if not endpointer.speaking:
                            del history[:-preroll_frames]
                    change = endpointer.push(bool(is_speech))
                    frames_seen, silence_frames = endpointer.frames_seen, endpointer.silence_run
                    if is_speech:
                        last_voice_wall = now
                    if change == "start":
                        utterance_start = frames_seen - len(history)
                        next_interim = frames_seen + interim_frames
                        self._report_start_of_speech()
                    elif (
                        quick and endpointer.speaking and frames_seen >= next_interim
                        and silence_frames == 0 and work.empty() and not self._interim_busy
                    ):  # fmt: skip
                        # only when the worker is idle: a final must never wait behind it
                        next_interim = frames_seen + interim_frames
                        self._interim_busy = True
                        put(
                            0,
                            _Utterance(
                                np.concatenate(history),
                                utterance_start * FRAME_SECONDS,
                                now,
                                interim=True,
                            ),
                        )
                    elif change == "end":
                        if quick_finals and history:
                            # the transcript started at the pause is used if no word came since
                            put_voiced(speculative=False)
                        history = history[-preroll_frames:]
                    elif (
                        quick_finals
                        and endpointer.speaking
                        and silence_frames == quick_after_frames
                    ):
                        # transcribe ahead, before the engine closes its window (it would go first)
                        put_voiced(speculative=True)
                    if is_speech:
                        generation += 1  # speech after a pause: a transcript made ahead is stale
            while len(pending) >= chunk_bytes:
                put(
                    1,
                    _Chunk(
                        bytes(pending[:chunk_bytes]),
                        endpointer.speaking,
                        endpointer.silence_seconds,
                        last_voice_wall,
                    ),
                )
                del pending[:chunk_bytes]
        if pending:
            put(
                1,
                _Chunk(
                    bytes(pending), endpointer.speaking, endpointer.silence_seconds, last_voice_wall
                ),
            )
        put(2, None)

    def _report_start_of_speech(self) -> None:
        if self._speaking_reported:
            return
        self._speaking_reported = True
        self._event_ch.send_nowait(
            stt.SpeechEvent(
                type=stt.SpeechEventType.START_OF_SPEECH,
                request_id=self._request_id,
                speech_start_time=time.time(),
            )
        )

    async def _process(self, work: asyncio.PriorityQueue) -> None:
        stt_ = self._stt
        while True:
            _, _, item = await work.get()
            if item is None:
                break
            if isinstance(item, _Utterance):
                await self._quick_final(item)
                continue
            try:
                events = await stt_.run_in_worker(stt_.feed, item.pcm)
            except BackendError as exc:
                raise APIConnectionError(
                    f"perception backend {stt_.backend.name!r} failed: {exc}", retryable=False
                ) from exc
            await self._publish(events)
            await stt_._mark_analysed(stt_.perceiver.seconds_received)
            if (
                self._speaking_reported
                and not item.speaking
                and item.silence >= END_SPEECH_SECONDS
                and work.empty()
            ):
                self._report_end_of_speech(item.last_voice_wall)
        # end of input: what the windower still holds becomes final
        until = stt_.perceiver.seconds_received
        events = await stt_.run_in_worker(stt_.perceiver.flush)
        await self._publish(events)
        await stt_._mark_analysed(until)
        if self._speaking_reported:
            self._report_end_of_speech(None)

    async def _quick_final(self, utterance: _Utterance) -> None:
        """Answer-grade words now; the engine's full events follow for memory."""
        quick = self._stt.quick
        assert quick is not None
        start = self._origin + utterance.start
        finals_before = self._finals_sent
        ahead = self._ahead
        if (
            not utterance.interim
            and not utterance.speculative
            and ahead is not None
            and ahead[0] == utterance.generation
        ):
            segment: TranscriptSegment | None = ahead[
                1
            ]  # transcribed at the pause, nobody spoke since
        else:
            try:
                segment = await self._stt.run_in_worker(quick.transcribe, utterance.samples, start)
            finally:
                if utterance.interim:
                    self._interim_busy = False
        if utterance.speculative:
            self._ahead = (utterance.generation, segment)
            return
        self._ahead = None
        if utterance.interim:
            # stale if the utterance was finalised meanwhile
            if segment is not None and segment.text.strip() and self._finals_sent == finals_before:
                self._event_ch.send_nowait(
                    stt.SpeechEvent(
                        type=stt.SpeechEventType.INTERIM_TRANSCRIPT,
                        request_id=self._request_id,
                        alternatives=[_speech_data([segment], self._language, self._offset())],
                    )
                )
            return
        if segment is not None and segment.text.strip():
            self._report_start_of_speech()
            self._quick_until = max(self._quick_until, segment.end)
            self._stt.last_final_start = segment.start
            self._event_ch.send_nowait(
                stt.SpeechEvent(
                    type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                    request_id=self._request_id,
                    alternatives=[_speech_data([segment], self._language, self._offset())],
                )
            )
            self.utterances_finalised += 1
            self._finals_sent += 1
        if self._speaking_reported:
            self._report_end_of_speech(utterance.last_voice_wall)

    async def _publish(self, events: list[Event]) -> None:
        if not events:
            return
        await self._stt.emit_events(events)
        segments = [
            e for e in events
            if isinstance(e, TranscriptSegment) and e.text.strip()
            # words a quick transcript already gave LiveKit go to memory only
            and e.start >= self._quick_until - QUICK_COVER_SLACK
        ]  # fmt: skip
        if not segments:
            return
        # LiveKit needs a start before a final; a very short word may have slipped under it
        self._report_start_of_speech()
        offset = self._offset()
        for segment in segments:
            self._stt.last_final_start = segment.start
            self._event_ch.send_nowait(
                stt.SpeechEvent(
                    type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                    request_id=self._request_id,
                    alternatives=[_speech_data([segment], self._language, offset)],
                )
            )
            self.utterances_finalised += 1
            self._finals_sent += 1

    def _report_end_of_speech(self, last_voice_wall: float | None) -> None:
        self._speaking_reported = False
        self._event_ch.send_nowait(
            stt.SpeechEvent(
                type=stt.SpeechEventType.END_OF_SPEECH,
                request_id=self._request_id,
                speech_end_time=last_voice_wall,
            )
        )


def _speech_data(
    segments: Sequence[TranscriptSegment], language: str, offset: float
) -> stt.SpeechData:
    """One LiveKit alternative from perception segments, times moved by ``offset`` seconds."""
    words: list[TimedString] = []
    for seg in segments:
        for w in seg.words:
            words.append(
                TimedString(
                    w.text,
                    start_time=w.start + offset,
                    end_time=w.end + offset,
                    confidence=w.confidence if w.confidence is not None else NOT_GIVEN,
                    start_time_offset=offset,
                    speaker_id=w.speaker or seg.speaker,
                )
            )
    confidences = [s.confidence for s in segments if s.confidence is not None]
    speakers = {s.speaker for s in segments if s.speaker}
    return stt.SpeechData(
        language=LanguageCode(language),
        text=" ".join(s.text.strip() for s in segments),
        start_time=segments[0].start + offset,
        end_time=segments[-1].end + offset,
        confidence=float(np.mean(confidences)) if confidences else 0.0,
        speaker_id=next(iter(speakers)) if len(speakers) == 1 else None,
        words=words or None,
    )
