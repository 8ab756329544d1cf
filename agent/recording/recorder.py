"""The recorder: audio -> perception -> memory (and the bus), resumable after a crash.

Resuming rests on a checkpoint kept as the session's ``duration``: a time before which
every event is final and stored. The engine cuts windows in pauses, and audio it has
dropped from its ring buffer has been windowed and analysed, so at each progress report
the recorder stores the events yielded so far and moves the checkpoint to the start of
the buffer. A re-run of the same audio skips to the checkpoint and carries on from there;
ingestion is idempotent, and events the new run hears again around the seam are dropped,
so nothing is stored twice. Speaker ids of the new run are mapped back to the voices
stored before the seam by comparing voice embeddings.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memory import Memory, SessionInfo
from memory.minutes import minutes_after_recording
from perception.backend import SAMPLE_RATE, PerceptionBackend
from perception.engine import Perceiver
from perception.events import Event, SpeakerTurn, TranscriptSegment

log = logging.getLogger(__name__)

# A session whose checkpoint is this close to the file's length is complete.
END_TOLERANCE = 0.05
# Around a resume seam, a new event overlapping a stored one of the same kind by more
# than this fraction of the shorter of the two is the same event heard twice.
SEAM_OVERLAP = 0.5
SEAM_SECONDS = 5.0
# Stored speech per speaker used to recognise voices after a seam.
VOICE_SECONDS = 20.0
# How far before a resume seam to look for a speaker turn the killed run left open.
TURN_LOOKBACK = 600.0
# Speech of a resumed speaker heard before deciding which stored voice it is.
DECIDE_SECONDS = 3.0


class RecorderError(RuntimeError):
    """The recording cannot go on; the message says what to do next."""


@dataclass(frozen=True)
class RecordingProgress:
    seconds: float  # session time reached (audio consumed, absolute)
    total: float | None  # session length when known
    checkpoint: float  # every event before this time is stored
    events: int  # events produced by this run
    stored: int  # new events stored by this run


@dataclass(frozen=True)
class RecordingResult:
    session: SessionInfo
    resumed_from: float  # 0.0 for a fresh recording
    events: int
    stored: int
    already_complete: bool = False


ProgressHandler = Callable[[RecordingProgress], None]


def completed_recording(
    memory: Memory, title: str, source: str, total: float | None
) -> SessionInfo | None:
    """The session titled ``title`` if it already holds ``source`` to its end, else None.

    A cheap check from memory alone, so a finished recording is reported without loading
    a perception model.
    """
    if total is None:
        return None
    session = memory.find_session(title)
    if session is None or session.title != title or session.source != source:
        return None
    return session if session.duration > 0 and session.duration >= total - END_TOLERANCE else None


EventSink = Callable[[Sequence[Event]], None]


@dataclass
class _VoiceBook:
    """Voices stored before a resume seam, to give the new run's speakers their old ids.

    A new-run speaker is matched on ``DECIDE_SECONDS`` of their speech, not on their
    first segment: short segments (a two-word phrase) embed too noisily to recognise a
    voice. Their events wait (``held``) until the decision, which is forced at every
    checkpoint so nothing before a checkpoint is left unstored.
    """

    embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    mapping: dict[str, str] = field(default_factory=dict)  # new-run id -> stored id
    threshold: float = 0.86
    clips: dict[str, list[np.ndarray]] = field(default_factory=dict)  # undecided speakers' speech
    held: list[Event] = field(default_factory=list)

    def offer(
        self, event: Event, audio_at: Callable[[float, float], np.ndarray], encoder: Any
    ) -> list[Event]:
        """Events now ready, with stored speaker ids (``event`` itself may be held)."""
        speaker = event.speaker
        if speaker is None or speaker in self.mapping:
            return [self._mapped(event)]
        self.held.append(event)
        if isinstance(event, TranscriptSegment):
            self.clips.setdefault(speaker, []).append(audio_at(event.start, event.end))
            if sum(len(c) for c in self.clips[speaker]) >= DECIDE_SECONDS * SAMPLE_RATE:
                self._decide(speaker, encoder)
                return self._release()
        return []

    def settle(self, encoder: Any) -> list[Event]:
        """Decide every waiting speaker with the speech heard so far; release their events."""
        for speaker in list(self.clips):
            self._decide(speaker, encoder)
        for event in self.held:  # speakers with no speech yet (e.g. only a voice event)
            if event.speaker is not None and event.speaker not in self.mapping:
                self.mapping[event.speaker] = self._match(None)
        return self._release()

    def _decide(self, speaker: str, encoder: Any) -> None:
        parts = self.clips.pop(speaker, [])
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        self.mapping[speaker] = self._match(encoder.embed(audio) if audio.size else None)
        log.debug("resumed speaker %s is stored speaker %s", speaker, self.mapping[speaker])

    def _release(self) -> list[Event]:
        ready = [e for e in self.held if e.speaker in self.mapping]
        self.held = [e for e in self.held if e.speaker not in self.mapping]
        return [self._mapped(e) for e in ready]

    def _mapped(self, event: Event) -> Event:
        if event.speaker is None:
            return event
        target = self.mapping[event.speaker]
        update: dict[str, Any] = {"speaker": target}
        if isinstance(event, TranscriptSegment):
            update["words"] = [w.model_copy(update={"speaker": target}) for w in event.words]
        return event.model_copy(update=update)

    def _match(self, vector: np.ndarray | None) -> str:
        taken = set(self.mapping.values())
        if vector is not None and self.embeddings:
            scores = {
                sid: float(v @ vector) for sid, v in self.embeddings.items() if sid not in taken
            }
            if scores:
                best = max(scores, key=scores.__getitem__)
                if scores[best] >= self.threshold:
                    return best
        known = set(self.embeddings) | taken
        n = len(known) + 1
        while f"S{n}" in known:
            n += 1
        return f"S{n}"


class Recorder:
    """Records audio into one memory session with one perception backend.

    ``on_events`` receives each batch of newly stored events (e.g. to publish them on the
    bus); ``archive_audio`` keeps the audio itself in memory for re-listening.
    """

    def __init__(
        self,
        memory: Memory,
        backend: PerceptionBackend,
        *,
        on_events: EventSink | None = None,
        archive_audio: bool = False,
        perceiver: Perceiver | None = None,
    ) -> None:
        self.memory = memory
        self.backend = backend
        self.perceiver = perceiver or Perceiver(backend)
        self.on_events = on_events
        self.archive_audio = archive_audio

    # --- entry points -------------------------------------------------------------------

    def session_for(self, title: str, source: str) -> SessionInfo:
        """The session to record into: the latest titled ``title``, or a new one.

        A session of that title holding a different source is not resumed into.
        """
        session = self.memory.get_or_create_session(
            title, source=source, backend=self.backend.name, model=self.backend.model
        )
        if session.source and session.source != source and session.event_count:
            raise RecorderError(
                f"session {title!r} already holds {session.source}; "
                "choose another name with --session"
            )
        return session

    def record_file(
        self,
        path: str | Path,
        title: str | None = None,
        *,
        on_progress: ProgressHandler | None = None,
        from_start: bool = False,
    ) -> RecordingResult:
        """Record an audio file; resumes an interrupted recording of the same file.

        Raises ``perception.audio.AudioDecodeError`` for unreadable audio (after storing
        everything heard before the damage).
        """
        from perception.audio import decode_file, probe_duration

        path = Path(path)
        decoded = decode_file(path)
        first = next(decoded, None)  # unreadable audio fails here, before any session exists
        chunks = itertools.chain([first] if first is not None else [], decoded)
        total = probe_duration(path)
        session = self.session_for(title or path.stem, str(path.resolve()))
        return self._record(session, chunks, total, on_progress, from_start)

    def record_stream(
        self,
        chunks: Iterable[np.ndarray],
        title: str,
        *,
        source: str = "stdin",
        total: float | None = None,
        on_progress: ProgressHandler | None = None,
        from_start: bool = False,
    ) -> RecordingResult:
        """Record 16 kHz mono float32 chunks; re-sending the same stream resumes it."""
        session = self.session_for(title, source)
        return self._record(session, iter(chunks), total, on_progress, from_start)

    # --- the recording loop -------------------------------------------------------------

    def _record(
        self,
        session: SessionInfo,
        chunks: Iterator[np.ndarray],
        total: float | None,
        on_progress: ProgressHandler | None,
        from_start: bool,
    ) -> RecordingResult:
        resume_at = 0.0 if from_start else float(session.duration or 0.0)
        if total is not None and resume_at > 0 and resume_at >= total - END_TOLERANCE:
            log.info("session %s is already recorded to its end", session.id)
            return RecordingResult(session, resume_at, 0, 0, already_complete=True)
        if resume_at > 0:
            log.info("resuming session %s at %.2f s", session.id, resume_at)
            self.memory.recluster_speakers(session.id)  # the seam maps onto refined ids
        run = _Run(self, session, resume_at, total, on_progress)
        stream = run.skip_and_collect(chunks)
        events = self.perceiver.process_stream(
            stream,
            session.id,
            None if total is None else max(0.0, total - resume_at),
            run.checkpoint,
        )
        try:
            for event in events:
                run.take(event)
        except BaseException as exc:
            from perception.audio import AudioDecodeError

            if isinstance(exc, AudioDecodeError):
                run.checkpoint_now()  # keep what was heard before the damage
            raise
        run.finish()
        self.memory.recluster_speakers(session.id)  # ids regrouped over the whole session
        self._index_meaning(session.id)
        minutes_after_recording(self.memory, session.id)  # the minutes of what is now stored
        final = self.memory.find_session(session.id) or session
        return RecordingResult(final, resume_at, run.produced, run.stored)

    def _index_meaning(self, session_id: str) -> None:
        """Sentence vectors of what was recorded, so the first question needs none computed;
        a failure is logged (search computes what is missing) and the recording stands."""
        try:
            self.memory.index_meaning(session_id)
        except Exception:
            log.warning(
                "could not index session %s for search by meaning", session_id, exc_info=True
            )


class _Run:
    """State of one recording run: pending events, the checkpoint, audio to archive."""

    def __init__(
        self,
        recorder: Recorder,
        session: SessionInfo,
        resume_at: float,
        total: float | None,
        on_progress: ProgressHandler | None,
    ) -> None:
        self.recorder = recorder
        self.memory = recorder.memory
        self.session = session
        self.offset = resume_at
        self.total = total
        self.on_progress = on_progress
        self.pending: list[Event] = []
        self.produced = 0
        self.stored = 0
        self.checkpoint_at = resume_at
        self.received = resume_at
        # Audio since the last archived point (for the archive), and a short recent
        # history (for the speaker embeddings that map ids across a seam).
        self.archived_until = resume_at
        self.unarchived: list[np.ndarray] = []
        self.recent: list[tuple[float, np.ndarray]] = []
        self.voices: _VoiceBook | None = None
        self.encoder: Any = None
        self.seam: list[Event] = []
        if resume_at > 0:
            self.seam = self.memory.events_between(
                session.id, max(0.0, resume_at - SEAM_SECONDS), resume_at + SEAM_SECONDS
            )
            self.pending += self._turns_lost_at_seam()

    def _turns_lost_at_seam(self) -> list[Event]:
        """Speaker turns for stored speech before the seam that no stored turn covers.

        The engine emits a turn when it closes, so the turn still open when a run was
        killed was never stored; rebuild it from the stored transcript (the same rule as
        the engine: one voice, pauses of at most ``TURN_GAP``).
        """
        from perception.engine import TURN_GAP

        since = max(0.0, self.offset - TURN_LOOKBACK)
        turns = self.memory.events_between(self.session.id, since, self.offset, kinds=["speaker"])
        lost: list[SpeakerTurn] = []
        for segment in self.memory.transcript_between(self.session.id, since, self.offset):
            if segment.speaker is None or any(
                t.speaker == segment.speaker
                and t.start <= segment.start + 0.01
                and segment.end <= t.end + 0.01
                for t in turns
            ):
                continue
            last = lost[-1] if lost else None
            if (
                last is not None
                and last.speaker == segment.speaker
                and segment.start - last.end <= TURN_GAP
            ):
                last.end = max(last.end, segment.end)
                continue
            lost.append(
                SpeakerTurn(
                    start=segment.start,
                    end=segment.end,
                    speaker=segment.speaker,
                    session_id=self.session.id,
                    window_id=segment.window_id,
                    backend=segment.backend,
                    model=segment.model,
                )
            )
        if lost:
            log.info("rebuilt %d speaker turn(s) left open when the last run stopped", len(lost))
        return list(lost)

    # --- audio ------------------------------------------------------------------------

    def skip_and_collect(self, chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """The audio after the resume point; speech before it seeds the voice book."""
        skip = round(self.offset * SAMPLE_RATE)
        wanted = self._voice_clip_ranges() if skip else {}
        clips: dict[str, list[np.ndarray]] = {speaker: [] for speaker in wanted}
        seen = 0
        for chunk in chunks:
            if seen < skip:
                head = chunk[: skip - seen]
                for speaker, ranges in wanted.items():
                    for a, b in ranges:
                        lo, hi = max(a, seen), min(b, seen + len(head))
                        if hi > lo:
                            clips[speaker].append(head[lo - seen : hi - seen])
                seen += len(head)
                chunk = chunk[len(head) :]
                if seen < skip or not chunk.size:
                    continue
            if self.voices is None and skip:
                self.voices = self._voice_book(clips)
            start = self.received
            self.received += len(chunk) / SAMPLE_RATE
            seen += len(chunk)
            self.recent.append((start, chunk))
            self._trim_recent()
            if self.recorder.archive_audio:
                self.unarchived.append(chunk)
            yield chunk
        if skip and seen < skip:
            raise RecorderError(
                f"the audio is {seen / SAMPLE_RATE:.1f} s long but session "
                f"{self.session.title!r} was already recorded to {self.offset:.1f} s; "
                "use --session NAME to record it as a new session"
            )

    def _trim_recent(self) -> None:
        keep_from = self.received - 3 * self.recorder.perceiver.config.length
        while (
            len(self.recent) > 1
            and self.recent[0][0] + len(self.recent[0][1]) / SAMPLE_RATE < keep_from
        ):
            self.recent.pop(0)

    def audio_between(self, t0: float, t1: float) -> np.ndarray:
        parts = []
        for start, chunk in self.recent:
            a = max(0, round((t0 - start) * SAMPLE_RATE))
            b = min(len(chunk), round((t1 - start) * SAMPLE_RATE))
            if b > a:
                parts.append(chunk[a:b])
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def _voice_clip_ranges(self) -> dict[str, list[tuple[int, int]]]:
        """Sample ranges of up to ``VOICE_SECONDS`` of stored speech per speaker."""
        ranges: dict[str, list[tuple[int, int]]] = {}
        for segment in self.memory.transcript_between(self.session.id, 0.0, self.offset):
            if segment.speaker is None or segment.end > self.offset:
                continue
            picked = ranges.setdefault(segment.speaker, [])
            if sum(b - a for a, b in picked) < VOICE_SECONDS * SAMPLE_RATE:
                picked.append(
                    (round(segment.start * SAMPLE_RATE), round(segment.end * SAMPLE_RATE))
                )
        return ranges

    def _voice_book(self, clips: dict[str, list[np.ndarray]]) -> _VoiceBook:
        """Embeddings of each stored speaker, from their speech before the seam."""
        from perception.speakers import DEFAULT_THRESHOLD, SpeakerEncoder

        book = _VoiceBook(threshold=DEFAULT_THRESHOLD)
        self.encoder = SpeakerEncoder()
        for speaker, parts in clips.items():
            audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
            vector = self.encoder.embed(audio) if audio.size else None
            book.embeddings[speaker] = vector if vector is not None else np.zeros(self.encoder.dim)
        log.debug("voice book for resume: %s", sorted(book.embeddings))
        return book

    # --- events -----------------------------------------------------------------------

    def take(self, event: Event) -> None:
        """One final event from the engine (times relative to the resume point)."""
        if self.offset:
            event = event.shifted(self.offset)  # type: ignore[assignment]
            if self.voices is not None:
                for ready in self.voices.offer(event, self.audio_between, self.encoder):
                    self._accept(ready)
                return
        self._accept(event)

    def _accept(self, event: Event) -> None:
        if self.offset and self._heard_before(event):
            return
        event.session_id = self.session.id
        self.produced += 1
        self.pending.append(event)

    def _settle_voices(self) -> None:
        if self.voices is not None:
            for ready in self.voices.settle(self.encoder):
                self._accept(ready)

    def _heard_before(self, event: Event) -> bool:
        if event.start > self.offset + SEAM_SECONDS:
            return False
        for old in self.seam:
            if old.kind != event.kind:
                continue
            overlap = min(old.end, event.end) - max(old.start, event.start)
            shorter = max(0.01, min(old.end - old.start, event.end - event.start))
            if overlap / shorter > SEAM_OVERLAP:
                return True
        return False

    def _store_pending(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        # The duration is the resume point and only ``_advance`` moves it: events reaching
        # past the checkpoint must not, or a kill right after this line resumes too late.
        self.stored += self.memory.ingest(self.session.id, batch, extend_duration=False)
        if self.recorder.on_events is not None:
            self.recorder.on_events(batch)

    def _archive_until(self, t: float) -> None:
        if not self.recorder.archive_audio or t <= self.archived_until or not self.unarchived:
            return
        audio = np.concatenate(self.unarchived)
        n = min(len(audio), round((t - self.archived_until) * SAMPLE_RATE))
        if n <= 0:
            return
        self.memory.archive_audio(self.session.id, self.archived_until, audio[:n])
        rest = audio[n:]
        self.unarchived = [rest] if rest.size else []
        self.archived_until += n / SAMPLE_RATE

    def checkpoint(self, seconds: float, total: float | None) -> None:
        """The engine's progress report: everything yielded so far is final."""
        self._advance(self.offset + self.recorder.perceiver.settled_seconds)

    def checkpoint_now(self) -> None:
        self._advance(self.offset + self.recorder.perceiver.settled_seconds)

    def _advance(self, safe: float) -> None:
        self._settle_voices()
        self._store_pending()
        self._archive_until(safe)
        if safe > self.checkpoint_at:
            self.checkpoint_at = safe
        self.memory.set_duration(self.session.id, self.checkpoint_at)
        self._report()

    def finish(self) -> None:
        self._settle_voices()
        self._store_pending()
        self._archive_until(self.received)
        self.checkpoint_at = max(self.checkpoint_at, self.received)
        self.memory.set_duration(self.session.id, self.checkpoint_at)
        self._report()

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(
                RecordingProgress(
                    self.received, self.total, self.checkpoint_at, self.produced, self.stored
                )
            )


__all__ = [
    "EventSink",
    "completed_recording",
    "ProgressHandler",
    "Recorder",
    "RecorderError",
    "RecordingProgress",
    "RecordingResult",
]
