"""The one narrow interface every perception backend implements.

A backend turns windows of 16 kHz mono audio into typed events with absolute times. The
engine (``perception/engine.py``) cuts the windows, gates silence, stitches overlapping
results and keeps speaker ids stable; a backend only has to be right about one window.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from perception.events import BaseEvent, Event

SAMPLE_RATE = 16_000


class BackendError(RuntimeError):
    """A backend failed on input it should have handled; the message says what to do next."""


class BackendUnavailableError(BackendError):
    """A backend cannot start: weights, packages or a server are missing or unreachable."""


@dataclass(frozen=True)
class Window:
    """A stretch of one session's audio, placed on the session's timeline.

    ``start`` is absolute (seconds from the start of the session's audio). The engine
    computes it from an integer sample count, so it never drifts however long the session.

    A window may leave long silences out (file mode, for backends with ``max_gap``):
    ``pieces`` then says where each contiguous run of its samples comes from, as
    (offset into ``samples``, absolute sample index), in order; ``absolute`` maps a time
    within the samples to the session's timeline. Empty ``pieces``: one contiguous stretch.
    """

    session_id: str
    window_id: int
    start: float
    samples: np.ndarray  # 16 kHz mono float32
    pieces: tuple[tuple[int, int], ...] = ()

    @property
    def duration(self) -> float:
        """Seconds of audio in the window (what the model hears)."""
        return len(self.samples) / SAMPLE_RATE

    @property
    def end(self) -> float:
        """Absolute end of the window's last sample."""
        if not self.pieces:
            return self.start + self.duration
        offset, first = self.pieces[-1]
        return (first + len(self.samples) - offset) / SAMPLE_RATE

    def absolute(self, t: float) -> float:
        """Seconds from the window's first sample -> seconds on the session's timeline
        (a time on the seam between two pieces belongs to the later one)."""
        if not self.pieces:
            return self.start + t
        at = t * SAMPLE_RATE
        offset, first = self.pieces[0]
        for o, f in self.pieces[1:]:
            if o > at:
                break
            offset, first = o, f
        return (first + at - offset) / SAMPLE_RATE

    def gaps(self) -> list[tuple[float, float]]:
        """Absolute (start, end) of the stretches left out between pieces."""
        out = []
        for (o0, f0), (o1, f1) in zip(self.pieces, self.pieces[1:], strict=False):
            out.append(((f0 + o1 - o0) / SAMPLE_RATE, f1 / SAMPLE_RATE))
        return out

    def clip(self, start: float, end: float) -> np.ndarray:
        """Samples between two absolute times (clamped to the window; parts left out of a
        window with ``pieces`` are skipped)."""
        a = max(0, self._offset(start))
        b = min(len(self.samples), self._offset(end))
        return self.samples[a : max(a, b)]

    def _offset(self, t: float) -> int:
        """Index into ``samples`` of absolute time ``t`` (a time left out maps to the next piece)."""
        if not self.pieces:
            return round((t - self.start) * SAMPLE_RATE)
        at = t * SAMPLE_RATE
        ends = [o for o, _ in self.pieces[1:]] + [len(self.samples)]
        for (o, f), e in zip(self.pieces, ends, strict=True):
            if at < f:
                return o
            if at <= f + (e - o):
                return round(o + at - f)
        return len(self.samples)


class PerceptionBackend(abc.ABC):
    """Audio windows in, absolute-time events out.

    Class attributes tell the engine how to feed the backend; instances say which model
    they run (``model``), which every event they make must carry.
    """

    name: ClassVar[str] = ""
    # Window length and hop the backend works best with (seconds); the engine uses them
    # unless the user overrides them. ``max_window`` is a hard limit of the model.
    preferred_window: ClassVar[float] = 30.0
    preferred_hop: ClassVar[float] = 25.0
    max_window: ClassVar[float] = 120.0
    # How many windows one ``analyze`` call should get when processing files.
    max_batch: ClassVar[int] = 1
    # True when ``analyze`` already returns speaker ids that are stable over a session's
    # windows ("S1", "S2", ...). Otherwise the engine assigns them from voice embeddings
    # and treats the backend's own speaker labels as local to one window.
    session_speakers: ClassVar[bool] = False
    # True when the backend can run a window speculatively: ``save_session`` before it and
    # ``restore_session`` after it undo whatever the window did to the session's state.
    # Live, the engine then starts on a window while the pause that closes it is still
    # growing, and throws the result away if speech resumes.
    supports_speculation: ClassVar[bool] = False
    # Files only: silences longer than this (seconds) are left out of windows, down to
    # this length, so that each window holds as much sound as it can (a model that pads
    # every input to a fixed length, like Whisper's 30 s, then runs fewer times). The
    # backend places its events with ``stamp`` (``Window.absolute``). None: windows are
    # contiguous stretches of the stream.
    max_gap: ClassVar[float | None] = None
    # Files only: True when a window's analysis splits into ``prepare`` (touches no session
    # state) and ``complete`` (in window order). The engine then prepares the next window
    # while the last one completes on a worker thread, which uses a core that the first
    # stage leaves idle (Whisper keeps about 1.4 of 2 cores busy).
    pipelined: ClassVar[bool] = False
    # With ``pipelined``: how many windows ``prepare`` may work on at once (threads).
    prepare_workers: int = 1

    model: str = ""

    @abc.abstractmethod
    def analyze(self, windows: Sequence[Window]) -> list[list[Event]]:
        """One list of events per window, in window order.

        Times are ABSOLUTE (use ``stamp``). Every event carries this backend's ``name`` and
        ``model`` and the window's ``window_id`` and ``session_id``. Events may reach a
        little outside their window; the engine stitches overlaps. Malformed model output
        must yield the events that can be trusted plus a logged warning, never an exception.
        """

    def prepare(self, window: Window) -> object:
        """The first stage of ``analyze`` for one window (only with ``pipelined``): it must
        not read or change the session's state, so it may run ahead of ``complete``."""
        raise NotImplementedError(f"the {self.name} backend does not analyse in two stages")

    def complete(self, prepared: object) -> list[Event]:
        """The rest of ``analyze`` for what ``prepare`` returned; called in window order."""
        raise NotImplementedError(f"the {self.name} backend does not analyse in two stages")

    @abc.abstractmethod
    def ask(self, samples: np.ndarray, question: str) -> str:
        """A free-form answer to ``question`` about a clip of 16 kHz mono float32 audio."""

    def save_session(self, session_id: str) -> object:
        """A snapshot of the session's state (only with ``supports_speculation``)."""
        raise NotImplementedError(f"the {self.name} backend does not run windows speculatively")

    def restore_session(self, session_id: str, saved: object) -> None:
        """Put back a snapshot from ``save_session``."""
        raise NotImplementedError(f"the {self.name} backend does not run windows speculatively")

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release models, sessions or connections."""

    def __enter__(self) -> PerceptionBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stamp(
        self, events: Iterable[BaseEvent], window: Window, relative: bool = True
    ) -> list[Event]:
        """Make ``events`` belong to ``window``: absolute times plus provenance fields.

        With ``relative=True`` the events' times are seconds from the window start (what
        models produce) and are placed on the session's timeline (``Window.absolute``).
        """
        out: list[Event] = []
        for event in events:
            if not relative:
                moved = event.model_copy()
            elif window.pieces:
                moved = event.remapped(window.absolute)
            else:
                moved = event.shifted(window.start)
            moved.session_id = window.session_id
            moved.window_id = window.window_id
            moved.backend = self.name
            moved.model = self.model
            out.append(moved)  # type: ignore[arg-type]
        return out


__all__ = [
    "SAMPLE_RATE",
    "BackendError",
    "BackendUnavailableError",
    "PerceptionBackend",
    "Window",
]
