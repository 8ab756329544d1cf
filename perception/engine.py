"""The streaming engine: audio in, final absolute-time events out.

``Perceiver`` joins the pieces: a source (file, array, chunks, live PCM) -> the windower
(ring buffer, VAD gate, cuts in pauses) -> the backend (one window or a batch) -> stable
speaker ids -> the stitcher -> speaker turns. Events come out in time order per window,
stitched and final: an event once yielded is never revised.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from perception.audio import StreamResampler, decode_file, probe_duration, to_16k_mono
from perception.backend import SAMPLE_RATE, BackendError, PerceptionBackend, Window
from perception.events import Event, SpeakerTurn, TranscriptSegment
from perception.speakers import DEFAULT_THRESHOLD, SpeakerTracker
from perception.stitching import Stitcher
from perception.windowing import PlannedWindow, WindowConfig, Windower

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float, float | None], None]

# A pause longer than this ends a speaker turn even if the same voice speaks next.
TURN_GAP = 2.0


class _TurnBuilder:
    """Speaker turns derived from the stitched transcript: one per run of one voice."""

    def __init__(self) -> None:
        self._current: SpeakerTurn | None = None

    def add(self, segment: TranscriptSegment) -> list[SpeakerTurn]:
        cur = self._current
        if (
            cur is not None
            and cur.speaker == segment.speaker
            and segment.start - cur.end <= TURN_GAP
        ):
            cur.end = max(cur.end, segment.end)
            return []
        closed = self.flush()
        if segment.speaker is not None:
            self._current = SpeakerTurn(
                start=segment.start,
                end=segment.end,
                speaker=segment.speaker,
                session_id=segment.session_id,
                window_id=segment.window_id,
                backend=segment.backend,
                model=segment.model,
            )
        return closed

    def expire(self, now: float) -> list[SpeakerTurn]:
        """Close the open turn once the stream has gone on past it by more than ``TURN_GAP``."""
        if self._current is not None and now - self._current.end > TURN_GAP:
            return self.flush()
        return []

    def flush(self) -> list[SpeakerTurn]:
        cur, self._current = self._current, None
        return [cur] if cur is not None else []


class Perceiver:
    """Runs a backend over a stream of audio, windowed, stitched, with stable speakers.

    One Perceiver handles one session at a time; ``process_*`` start a new session, and the
    live API (``feed`` / ``flush``) continues the current one.
    """

    def __init__(
        self,
        backend: PerceptionBackend,
        config: WindowConfig | None = None,
        session_id: str = "live",
        speaker_threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.backend = backend
        self.config = config or WindowConfig.for_backend(backend)
        if self.config.length > backend.max_window:
            raise ValueError(
                f"window of {self.config.length} s exceeds the {backend.name} backend's "
                f"maximum of {backend.max_window} s"
            )
        self.speaker_threshold = speaker_threshold
        self._resampler: StreamResampler | None = None
        self._held: tuple[PlannedWindow, list[Event], object] | None = None
        self.reset(session_id, live=True)

    # --- sessions --------------------------------------------------------------------

    def reset(self, session_id: str, live: bool = True) -> None:
        """Start a new session: fresh timeline, windows, speakers and stitching state."""
        if self._held is not None:
            self._drop_speculation()
        self.session_id = session_id
        self._windower = Windower(
            self.config,
            session_id,
            live=live,
            speculate=live and self.backend.supports_speculation,
        )
        # A speculative window already analysed: (window, its raw events, the backend's
        # session state from before it).
        self._held = None
        self._stitcher = Stitcher()
        self._turns = _TurnBuilder()
        self._tracker = (
            None
            if self.backend.session_speakers
            else SpeakerTracker(threshold=self.speaker_threshold)
        )
        self._resampler = None
        # Files: windows handed out by the windower whose events have not come out yet.
        self._in_flight: deque[PlannedWindow] = deque()

    @property
    def seconds_received(self) -> float:
        return self._windower.total_samples / SAMPLE_RATE

    @property
    def buffered_seconds(self) -> float:
        return self._windower.buffered_samples / SAMPLE_RATE

    @property
    def settled_seconds(self) -> float:
        """Stream time before which every event has come out: nothing before it is still
        buffered or in a window being analysed (a safe point to resume from)."""
        settled = self.seconds_received - self.buffered_seconds
        if self._in_flight:
            oldest = self._in_flight[0]
            settled = min(settled, oldest.window.start, oldest.commit_start)
        return max(0.0, settled)

    # --- files and arrays ------------------------------------------------------------

    def process_file(
        self,
        path: str | Path,
        session_id: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Iterator[Event]:
        """Events for a whole file, decoded in chunks (memory stays flat in file length).

        Raises ``perception.audio.AudioDecodeError`` for unreadable files (after yielding
        whatever came before the damage).
        """
        total = probe_duration(path)
        chunks = decode_file(path)
        yield from self.process_stream(chunks, session_id or Path(path).stem, total, on_progress)

    def process_array(
        self,
        samples: np.ndarray,
        session_id: str = "array",
        sample_rate: int = SAMPLE_RATE,
        on_progress: ProgressCallback | None = None,
    ) -> Iterator[Event]:
        """Events for an in-memory clip at any rate (shape (n,) or (n, channels))."""
        channels = 1 if np.ndim(samples) == 1 else int(np.shape(samples)[1])
        audio = to_16k_mono(samples, sample_rate, channels)
        step = 10 * SAMPLE_RATE
        chunks = (audio[i : i + step] for i in range(0, len(audio), step))
        yield from self.process_stream(chunks, session_id, len(audio) / SAMPLE_RATE, on_progress)

    def process_stream(
        self,
        chunks: Iterable[np.ndarray],
        session_id: str,
        total_seconds: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Iterator[Event]:
        """Events for a stream of 16 kHz mono float32 chunks (a new session)."""
        self.reset(session_id, live=False)
        planned = self._planned(chunks, total_seconds, on_progress)
        if self.backend.pipelined:
            yield from self._run_pipelined(planned, total_seconds, on_progress)
        else:
            batch: list[PlannedWindow] = []
            size = max(1, self.backend.max_batch)
            for p in planned:
                batch.append(p)
                if len(batch) >= size:
                    yield from self._run(batch)
                    batch = []
            if batch:
                yield from self._run(batch)
        yield from self._finish()
        if on_progress is not None:
            on_progress(self.seconds_received, total_seconds or self.seconds_received)

    def _planned(
        self,
        chunks: Iterable[np.ndarray],
        total_seconds: float | None,
        on_progress: ProgressCallback | None,
    ) -> Iterator[PlannedWindow]:
        for chunk in chunks:
            for p in self._windower.push(chunk):
                self._in_flight.append(p)
                yield p
            if on_progress is not None:
                on_progress(self.seconds_received, total_seconds)
        for p in self._windower.finish():
            self._in_flight.append(p)
            yield p

    def _run_pipelined(
        self,
        planned: Iterable[PlannedWindow],
        total_seconds: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Iterator[Event]:
        """Up to ``prepare_workers`` windows are prepared at once on threads of their own
        while the window before them completes on a worker thread; events still come out
        in window order. Damaged audio part-way ends the stream after every window before
        the damage has come out. Progress is also reported after each window's events, when
        ``settled_seconds`` moves (the windows ahead hold it back while they are read)."""
        ahead = max(1, self.backend.prepare_workers)
        preparing: deque[tuple[PlannedWindow, Future[object]]] = deque()
        completing: tuple[PlannedWindow, Future[list[Event]]] | None = None
        error: Exception | None = None
        with (
            ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="perception-prepare") as pool,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="perception") as worker,
        ):
            windows = iter(planned)
            while True:
                while error is None and len(preparing) < ahead:
                    try:
                        p = next(windows, None)
                    except Exception as exc:  # raised once the windows before it are out
                        error = exc
                        break
                    if p is None:
                        break
                    preparing.append((p, pool.submit(self.backend.prepare, p.window)))
                if not preparing:
                    break
                p, future = preparing.popleft()
                try:
                    prepared = future.result()
                finally:
                    if completing is not None:
                        done, completing = completing, None
                        yield from self._commit(done[0], done[1].result())
                        if on_progress is not None:
                            on_progress(self.seconds_received, total_seconds)
                completing = (p, worker.submit(self.backend.complete, prepared))
            if completing is not None:
                yield from self._commit(completing[0], completing[1].result())
        if error is not None:
            raise error

    # --- live --------------------------------------------------------------------------

    def feed(
        self, pcm: np.ndarray | bytes, sample_rate: int = SAMPLE_RATE, channels: int = 1
    ) -> list[Event]:
        """Push a live chunk (int16 bytes, int or float array); returns the events now final."""
        if self._resampler is None or (self._resampler.sample_rate, self._resampler.channels) != (
            sample_rate,
            channels,
        ):
            self._resampler = StreamResampler(sample_rate, channels)
        audio = self._resampler.push(pcm if isinstance(pcm, bytes | bytearray) else np.asarray(pcm))
        out = self._run_live(self._windower.push(audio))
        # Live listeners should not wait for the next speaker to learn a turn has ended.
        out += self._turns.expire(self.seconds_received)
        return out

    def flush(self) -> list[Event]:
        """End of the live stream: process what is buffered and return the last events."""
        out: list[Event] = []
        if self._resampler is not None:
            tail = self._resampler.flush()
            if tail.size:
                out += self._run_live(self._windower.push(tail))
        out += self._run_live(self._windower.finish())
        out += list(self._finish())
        self.reset(self.session_id, live=True)
        return out

    # --- internals -----------------------------------------------------------------------

    def _run_live(self, planned: list[PlannedWindow]) -> list[Event]:
        held = self._held
        if (
            held is not None
            and self._windower.speculation is not held[0]
            and not any(p.window is held[0].window for p in planned)
        ):
            self._drop_speculation()  # speech resumed before the pause completed
        out: list[Event] = []
        for p in planned:
            held = self._held
            if p.speculative:
                if held is not None:
                    self._drop_speculation()
                saved = self.backend.save_session(self.session_id)
                self._held = (p, self._analyze([p.window])[0], saved)
            elif held is not None and p.window is held[0].window:
                self._held = None
                out += self._commit(p, held[1])
            else:
                out += self._run([p])
        return out

    def _drop_speculation(self) -> None:
        assert self._held is not None
        planned, _events, saved = self._held
        self._held = None
        self.backend.restore_session(planned.window.session_id, saved)
        log.debug("speculative window %s dropped: speech resumed", planned.window.window_id)

    def _analyze(self, windows: list[Window]) -> list[list[Event]]:
        results = self.backend.analyze(windows)
        if len(results) != len(windows):
            raise BackendError(
                f"{self.backend.name} backend returned {len(results)} results for {len(windows)} windows"
            )
        return results

    def _run(self, batch: Sequence[PlannedWindow]) -> list[Event]:
        results = self._analyze([p.window for p in batch])
        out: list[Event] = []
        for planned, events in zip(batch, results, strict=True):
            out += self._commit(planned, events)
        return out

    def _commit(self, planned: PlannedWindow, events: list[Event]) -> list[Event]:
        """Stitch one window's events; returns the ones now final."""
        if self._in_flight and self._in_flight[0] is planned:
            self._in_flight.popleft()
        # Turns are derived below from the stitched transcript, the one source of truth.
        events = [e for e in events if not isinstance(e, SpeakerTurn)]
        if self._tracker is not None:
            events = self._tracker.relabel(events, planned.window)
        stitched = self._stitcher.add(
            events, planned.commit_start, planned.commit_end, planned.cut_in_pause
        )
        return self._with_turns(stitched)

    def _finish(self) -> Iterator[Event]:
        yield from self._with_turns(self._stitcher.flush())
        yield from self._turns.flush()

    def _with_turns(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            if isinstance(event, TranscriptSegment):
                out += self._turns.add(event)
            out.append(event)
        return out


__all__ = ["Perceiver", "ProgressCallback", "WindowConfig"]
