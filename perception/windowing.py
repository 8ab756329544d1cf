"""Rolling windows over a ring buffer, placed by voice activity.

Every position here is an integer sample count from the start of the session; seconds
are derived from it only when a window is handed out. Accumulating float durations is
what makes long-file timestamps drift, so nothing here ever does.

How a window is cut:
- its start skips audio with no speech and no sound (the gate), keeping a little padding;
- near its nominal end the windower looks for a pause and cuts there, so no word is
  split and the next window starts where this one stopped (no overlap needed);
- with no pause in reach it cuts through, the next window starts one hop later, and the
  two windows share an overlap whose middle is the commit boundary for the stitcher;
- in files, with ``max_gap`` set, a silence longer than that inside a window is left out
  down to ``max_gap`` (``Window.pieces`` maps the window back onto the timeline), so a
  window is as full of sound as it can be; pauses then count up to ``max_gap`` when
  choosing where to cut, and the later of two such pauses wins;
- live, a window also closes as soon as an utterance is followed by a short silence;
  with speculation on, it is handed out early (``speculative=True``) once that silence is
  half-way there, and handed out again, final, when the silence completes (or dropped
  from ``Windower.speculation`` when sound resumes first).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from perception.backend import SAMPLE_RATE, PerceptionBackend, Window
from perception.vad import FRAME, VoiceActivityDetector, runs

# A window that leaves silences out spans at most this many times its length of the
# stream (the samples between its start and its end stay in memory until it is cut).
MAX_SPAN_FACTOR = 4


@dataclass(frozen=True)
class WindowConfig:
    """How audio is cut into windows (all in seconds)."""

    length: float = 30.0
    hop: float = 25.0
    gate: bool = True  # skip audio with neither speech nor sound
    cut_in_pauses: bool = True
    min_pause: float = 0.25  # shortest silence that counts as a pause to cut in
    pause_search: float = 15.0  # how far before the nominal end to look for a pause
    # (never into the first half of the window); longer pauses win, so cuts tend to fall
    # between speakers, not between two sentences of one speaker.
    pad: float = 0.2  # silence kept before the first activity and after a pause cut
    end_of_utterance: float | None = 0.4  # live: this much silence after sound closes a window
    # live: a window is handed out speculatively this far into a closing pause, so the
    # backend's work overlaps the rest of the wait (None: never)
    speculate_after: float | None = 0.2
    vad_aggressiveness: int = 2
    sound_threshold_db: float = -45.0
    # files: a silence longer than this is left out of the window down to this length
    # (half after the sound before it, half before the sound after it), so a window of
    # ``length`` seconds holds as much sound as it can; None: windows are contiguous.
    max_gap: float | None = None

    def __post_init__(self) -> None:
        if not self.length > 0.5:
            raise ValueError(f"window length must be more than 0.5 s, got {self.length}")
        if not 0 < self.hop <= self.length:
            raise ValueError(f"hop must be in (0, length={self.length}], got {self.hop}")
        if self.end_of_utterance is not None and self.end_of_utterance <= 0:
            raise ValueError("end_of_utterance must be positive or None")
        if self.speculate_after is not None and self.speculate_after <= 0:
            raise ValueError("speculate_after must be positive or None")
        if self.max_gap is not None and not self.max_gap >= 2 * self.pad:
            raise ValueError(f"max_gap must be at least twice pad ({2 * self.pad} s) or None")

    @property
    def overlap(self) -> float:
        return self.length - self.hop

    @classmethod
    def for_backend(
        cls,
        backend: PerceptionBackend | type[PerceptionBackend],
        length: float | None = None,
        hop: float | None = None,
        **options: object,
    ) -> WindowConfig:
        """The backend's preferred window and hop, unless overridden; checks ``max_window``."""
        if length is None:
            length = backend.preferred_window
            hop = backend.preferred_hop if hop is None else hop
        elif hop is None:
            hop = length * backend.preferred_hop / backend.preferred_window
        if length > backend.max_window:
            raise ValueError(
                f"window of {length} s is longer than the {backend.name} backend's maximum "
                f"({backend.max_window} s); pass a shorter --window"
            )
        options.setdefault("max_gap", backend.max_gap)
        return cls(length=float(length), hop=float(min(hop, length)), **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PlannedWindow:
    """A window plus the stretch of time whose events it owns when stitching."""

    window: Window
    commit_start: float  # seconds; events before this belong to the previous window
    commit_end: float  # seconds; math.inf for the last window of a stream
    cut_in_pause: bool  # True when the cut after this window lies in silence
    # Live: handed out before its closing pause is complete. The same ``window`` comes
    # again, final, when the pause completes; until then it is ``Windower.speculation``.
    speculative: bool = False


class _Growable:
    """An append-only array with an absolute index origin, dropping its head on demand."""

    def __init__(self, dtype: type | np.dtype) -> None:
        self._data = np.zeros(1024, dtype)
        self._len = 0
        self.origin = 0  # absolute index of _data[0]

    @property
    def end(self) -> int:
        return self.origin + self._len

    def append(self, values: np.ndarray) -> None:
        need = self._len + len(values)
        if need > len(self._data):
            grown = np.zeros(max(need, 2 * len(self._data)), self._data.dtype)
            grown[: self._len] = self._data[: self._len]
            self._data = grown
        self._data[self._len : need] = values
        self._len = need

    def view(self, start: int, end: int) -> np.ndarray:
        a = max(start, self.origin) - self.origin
        b = min(end, self.end) - self.origin
        return self._data[a : max(a, b)]

    def drop_before(self, index: int) -> None:
        cut = min(max(index, self.origin), self.end) - self.origin
        if cut <= 0:
            return
        remaining = self._len - cut
        self._data[:remaining] = self._data[cut : self._len]
        self._len = remaining
        self.origin += cut
        if len(self._data) > 4 * max(remaining, 1024):  # give memory back after a burst
            self._data = self._data[: max(2 * remaining, 1024)].copy()


class Windower:
    """Turns a stream of 16 kHz mono chunks into planned windows (see the module docs)."""

    def __init__(
        self,
        config: WindowConfig,
        session_id: str,
        live: bool = False,
        speculate: bool = False,
    ) -> None:
        self.config = config
        self.session_id = session_id
        self.live = live
        self._vad = VoiceActivityDetector(config.vad_aggressiveness, config.sound_threshold_db)
        self._samples = _Growable(np.float32)
        self._active = _Growable(np.bool_)  # per frame
        self._next = 0  # sample where the next window may start
        self._commit = 0  # sample where the next window's owned stretch starts
        self._window_id = 0
        self._finished = False
        s = SAMPLE_RATE
        self._length = int(round(config.length * s))
        self._hop = int(round(config.hop * s))
        self._pad = int(round(config.pad * s))
        self._pause_frames = max(1, math.ceil(config.min_pause * s / FRAME))
        self._search = int(round(max(config.overlap, config.pause_search) * s))
        eou = config.end_of_utterance
        self._eou_frames = math.ceil(eou * s / FRAME) if (live and eou) else 0
        spec = config.speculate_after
        self._spec_frames = (
            math.ceil(spec * s / FRAME) if (speculate and spec and self._eou_frames) else 0
        )
        if self._spec_frames >= self._eou_frames:
            self._spec_frames = 0
        self._speculation: PlannedWindow | None = None
        self._spec_pause = -1  # absolute frame where the speculation's pause starts
        gap = config.max_gap
        self._gap = int(round(gap * s)) if (gap is not None and not live) else 0

    @property
    def speculation(self) -> PlannedWindow | None:
        """The speculative window still waiting for its pause to complete, if any."""
        return self._speculation

    @property
    def total_samples(self) -> int:
        return self._samples.end

    @property
    def buffered_samples(self) -> int:
        """Samples currently held (what keeps memory flat on long streams)."""
        return self._samples.end - self._samples.origin

    def push(self, samples: np.ndarray) -> list[PlannedWindow]:
        """Add 16 kHz mono float32 samples; returns the windows that are now complete."""
        if self._finished:
            raise RuntimeError("this stream is finished; start a new session")
        if len(samples):
            self._samples.append(np.asarray(samples, np.float32))
            self._analyse_frames(final=False)
        return self._plan(final=False)

    def finish(self) -> list[PlannedWindow]:
        """End of stream: the remaining windows, the last owning everything after its start."""
        self._analyse_frames(final=True)
        self._speculation = None  # the stream ends inside its pause: the last window decides
        planned = self._plan(final=True)
        self._finished = True
        return planned

    # --- internals ---------------------------------------------------------------

    def _analyse_frames(self, final: bool) -> None:
        done = self._active.end  # frames analysed so far
        start = done * FRAME
        audio = self._samples.view(start, self._samples.end)
        whole = len(audio) // FRAME
        if final and len(audio) % FRAME:
            audio = np.concatenate([audio, np.zeros(FRAME - len(audio) % FRAME, np.float32)])
            whole += 1
        if whole:
            self._active.append(self._vad.frames(audio[: whole * FRAME]).active)

    def _plan(self, final: bool) -> list[PlannedWindow]:
        out: list[PlannedWindow] = []
        total = self._samples.end
        analysed = min(self._active.end * FRAME, total) if not final else total
        while True:
            ws = self._next
            if ws >= total:
                break
            if self.config.gate:
                first = self._first_active_frame(ws // FRAME)
                if first is None:
                    # Nothing to hear yet: keep only a little padding in memory.
                    self._next = max(ws, (self._active.end * FRAME) - self._pad)
                    self._next -= self._next % FRAME
                    break
                ws = max(ws, first * FRAME - self._pad)
            if self._gap:
                packed = self._packed_window(ws, analysed, final)
                if packed is None:
                    break
                out.append(packed)
                continue
            nominal_end = ws + self._length
            pause, closed = self._closing_pause(ws, min(nominal_end, analysed))
            if pause is not None and closed:
                spec = self._speculation
                self._speculation = None
                if spec is not None and self._spec_pause == pause:
                    out.append(self._confirm(spec))
                    continue
                cut = (pause + self._eou_frames) * FRAME
                out.append(self._emit(ws, cut, cut, in_pause=True))
                self._next = cut
                continue
            if nominal_end <= analysed:
                self._speculation = None
                out.append(self._cut_full_window(ws, nominal_end))
                continue
            if final:
                out.append(self._emit(ws, total, None, in_pause=True))
                self._next = total
            elif pause is None:
                self._speculation = None  # sound resumed: the pause did not close a window
            elif self._speculation is None or self._spec_pause != pause:
                self._speculation = self._speculate(ws, (pause + self._spec_frames) * FRAME)
                self._spec_pause = pause
                out.append(self._speculation)
            break
        self._samples.drop_before(self._next)
        self._active.drop_before(self._next // FRAME)
        return out

    def _first_active_frame(self, from_frame: int) -> int | None:
        flags = self._active.view(from_frame, self._active.end)
        hits = np.flatnonzero(flags)
        return (
            from_frame + max(0, self._active.origin - from_frame) + int(hits[0])
            if hits.size
            else None
        )

    def _closing_pause(self, ws: int, limit: int) -> tuple[int | None, bool]:
        """Live only: the first pause after sound that ends the utterance, as (its first
        frame, True); else a still-open pause at ``limit`` long enough to speculate on,
        as (its first frame, False); else (None, False)."""
        if not self._eou_frames:
            return None, False
        f0, f1 = ws // FRAME, limit // FRAME
        flags = self._active.view(f0, f1)
        offset = max(f0, self._active.origin)
        if not flags.any():
            return None, False
        first_sound = int(np.flatnonzero(flags)[0])
        pauses = [(a, b) for a, b in runs(flags, value=False) if a > first_sound]
        for a, b in pauses:
            if b - a >= self._eou_frames:
                return offset + a, True
        if self._spec_frames and pauses:
            a, b = pauses[-1]
            if b == len(flags) and b - a >= self._spec_frames:
                return offset + a, False
        return None, False

    def _speculate(self, ws: int, cut: int) -> PlannedWindow:
        """A window ending ``cut``, without moving on: ``_confirm`` does that."""
        window = Window(
            session_id=self.session_id,
            window_id=self._window_id,
            start=ws / SAMPLE_RATE,
            samples=self._samples.view(ws, cut).copy(),
        )
        return PlannedWindow(
            window=window,
            commit_start=self._commit / SAMPLE_RATE,
            commit_end=cut / SAMPLE_RATE,
            cut_in_pause=True,
            speculative=True,
        )

    def _confirm(self, spec: PlannedWindow) -> PlannedWindow:
        cut = int(round(spec.commit_end * SAMPLE_RATE))
        self._window_id += 1
        self._commit = cut
        self._next = cut
        return dataclasses.replace(spec, speculative=False)

    def _cut_full_window(self, ws: int, nominal_end: int) -> PlannedWindow:
        if self.config.cut_in_pauses:
            lo = max(ws + self._length // 2, nominal_end - self._search)
            f0, f1 = -(-lo // FRAME), nominal_end // FRAME
            flags = self._active.view(f0, f1)
            offset = max(f0, self._active.origin)
            pauses = [(a, b) for a, b in runs(flags, value=False) if b - a >= self._pause_frames]
            if pauses:
                # The longest pause is the safest place to cut; a later one gets a small
                # bonus (up to 0.2 s worth) so windows stay long when pauses are alike.
                span = max(1, f1 - f0)
                bonus = 0.2 * SAMPLE_RATE / FRAME
                a, b = max(
                    pauses, key=lambda r: (r[1] - r[0]) + bonus * (r[0] + offset - f0) / span
                )
                cut = (offset + (a + b) // 2) * FRAME
                planned = self._emit(ws, min(nominal_end, cut + self._pad), cut, in_pause=True)
                self._next = cut
                return planned
        overlap = self._length - self._hop
        cut = nominal_end - overlap // 2
        planned = self._emit(ws, nominal_end, cut, in_pause=overlap == 0)
        self._next = ws + self._hop
        return planned

    def _packed_window(self, ws: int, analysed: int, final: bool) -> PlannedWindow | None:
        """Files with ``max_gap``: the window from ``ws`` with its long silences left out,
        or None while too little of the stream is analysed to place it."""
        self._next = ws  # the silence before ``ws`` is no window's: let it go from memory
        half = self._gap // 2
        f0 = ws // FRAME
        flags = self._active.view(f0, -(-analysed // FRAME))
        base = max(f0, self._active.origin)
        kept: list[tuple[int, int]] = []  # absolute [a, b) stretches the window keeps
        pauses: list[tuple[int, int]] = []  # absolute [a, b) silences long enough to cut in
        cur = ws
        known = analysed
        tail_silent = False
        for a, b in runs(flags, value=False):
            s0 = max(ws, (base + a) * FRAME)
            e0 = min(analysed, (base + b) * FRAME)
            if e0 - s0 >= self._pause_frames * FRAME:
                pauses.append((s0, e0))
            if e0 >= analysed:
                # Silence up to the end of what is known: its first half-gap is kept
                # whatever follows (in a file's last window, that is all of it kept).
                tail_silent = e0 - s0 > half
                if tail_silent:
                    analysed = s0 + half
                break
            if e0 - s0 > self._gap:
                kept.append((cur, s0 + half))
                cur = e0 - half
        kept.append((cur, analysed))
        packed = sum(b - a for a, b in kept)
        if packed < self._length:
            if final:
                # The rest of the stream: whole when it fits (nothing to gain from leaving
                # its silences out), else without its long silences.
                total = self._samples.end
                whole = total - ws <= self._length
                window = self._emit(ws, total, None, in_pause=True, kept=None if whole else kept)
                self._next = total
                return window
            if known - ws < MAX_SPAN_FACTOR * self._length:
                return None
            # Too long a stretch of the stream for one window (it is mostly long silences,
            # or it could not be shorter than ``length``): cut in its last long silence.
            if tail_silent or len(kept) == 1:
                cut = analysed
            else:
                cut = (kept[-2][1] + kept[-1][0]) // 2  # the middle of what is left out
                kept = kept[:-1]
            cut = max(cut, ws + FRAME)
            window = self._emit(ws, cut, cut, in_pause=True, kept=kept)
            self._next = cut
            return window

        def to_absolute(p: int) -> int:
            """Sample ``p`` of the packed window -> absolute sample."""
            for a, b in kept:
                if p <= b - a:
                    return a + p
                p -= b - a
            return kept[-1][1]

        def to_packed(x: int) -> int:
            done = 0
            for a, b in kept:
                if x <= b:
                    return done + max(0, x - a)
                done += b - a
            return done

        nominal_end = to_absolute(self._length)
        lo_packed = max(self._length // 2, self._length - self._search)
        lo = to_absolute(lo_packed)
        if self.config.cut_in_pauses:
            best: tuple[float, int] | None = None
            span = max(1, self._length - lo_packed)
            bonus = 0.2 * SAMPLE_RATE
            for a, b in pauses:
                a, b = max(a, lo), min(b, nominal_end)
                if b - a < self._pause_frames * FRAME:
                    continue
                # A pause counts up to max_gap: past that every pause is safe to cut in,
                # and the later one keeps the window fuller.
                score = min(b - a, self._gap) + bonus * (to_packed(a) - lo_packed) / span
                if best is None or score > best[0]:
                    best = (score, (a + b) // 2 // FRAME * FRAME)
            if best is not None:
                cut = max(best[1], ws + FRAME)
                planned = self._emit(
                    ws, min(nominal_end, cut + self._pad), cut, in_pause=True, kept=kept
                )
                self._next = cut
                return planned
        overlap = self._length - self._hop
        cut = to_absolute(self._length - overlap // 2)
        planned = self._emit(ws, nominal_end, cut, in_pause=overlap == 0, kept=kept)
        self._next = to_absolute(self._hop)
        return planned

    def _emit(
        self,
        ws: int,
        we: int,
        cut: int | None,
        in_pause: bool,
        kept: list[tuple[int, int]] | None = None,
    ) -> PlannedWindow:
        """The window [ws, we) (only its ``kept`` stretches, when given) owning up to ``cut``."""
        parts = [(a, min(b, we)) for a, b in kept or [(ws, we)] if a < we] or [(ws, ws)]
        pieces: tuple[tuple[int, int], ...] = ()
        if len(parts) > 1:
            samples = np.concatenate([self._samples.view(a, b) for a, b in parts])
            offsets = np.cumsum([0] + [b - a for a, b in parts[:-1]])
            pieces = tuple((int(o), a) for o, (a, _) in zip(offsets, parts, strict=True))
        else:
            samples = self._samples.view(*parts[0]).copy()
        window = Window(
            session_id=self.session_id,
            window_id=self._window_id,
            start=parts[0][0] / SAMPLE_RATE,
            samples=samples,
            pieces=pieces,
        )
        planned = PlannedWindow(
            window=window,
            commit_start=self._commit / SAMPLE_RATE,
            commit_end=math.inf if cut is None else cut / SAMPLE_RATE,
            cut_in_pause=in_pause,
        )
        self._window_id += 1
        if cut is not None:
            self._commit = cut
        return planned


__all__ = ["PlannedWindow", "WindowConfig", "Windower"]
