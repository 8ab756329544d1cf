"""Fast fake backends, used IN ADDITION to the real lite backend: they make the engine's
bookkeeping (windows, stitching, hours-long timelines) testable exactly and quickly."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perception.backend import SAMPLE_RATE, PerceptionBackend, Window
from perception.events import Event, SoundCategory, SoundEvent, TranscriptSegment, Word


class BurstBackend(PerceptionBackend):
    """Reports every burst of loud samples as a one-word segment, timed to the sample."""

    name = "fake-bursts"
    session_speakers = True
    preferred_window = 30.0
    preferred_hop = 25.0

    def __init__(self) -> None:
        self.model = "burst-counter"
        self.windows: list[Window] = []

    def analyze(self, windows: Sequence[Window]) -> list[list[Event]]:
        out = []
        for w in windows:
            self.windows.append(Window(w.session_id, w.window_id, w.start, np.zeros(0, np.float32)))
            loud = np.abs(w.samples) > 0.05
            edges = np.diff(np.concatenate(([0], loud.astype(np.int8), [0])))
            events = []
            for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
                s, e = a / SAMPLE_RATE, b / SAMPLE_RATE
                events.append(
                    TranscriptSegment(
                        start=s,
                        end=e,
                        text="burst",
                        speaker="S1",
                        words=[Word(start=s, end=e, text="burst")],
                    )
                )
            out.append(self.stamp(events, w))
        return out

    def ask(self, samples: np.ndarray, question: str) -> str:
        return "bursts"


@dataclass(frozen=True)
class TrueWord:
    start: float
    end: float
    text: str


class ScriptBackend(PerceptionBackend):
    """Knows the true words of the session and reports those it can see in a window, with
    per-window timing jitter, like a real model whose timestamps wobble near window edges.
    Words cut by a window edge are reported if more than half is visible, clipped."""

    name = "fake-script"
    session_speakers = True

    def __init__(
        self,
        words: Sequence[TrueWord],
        sounds: Sequence[TrueWord] = (),
        jitter: float = 0.08,
        seed: int = 0,
    ) -> None:
        self.model = "script"
        self.words = list(words)
        self.sounds = list(sounds)
        self.jitter = jitter
        self.rng = np.random.default_rng(seed)

    def analyze(self, windows: Sequence[Window]) -> list[list[Event]]:
        out = []
        for w in windows:
            shift = float(self.rng.uniform(-self.jitter, self.jitter))
            words = []
            for t in self.words:
                a, b = max(t.start, w.start), min(t.end, w.end)
                if b - a > 0.5 * (t.end - t.start):
                    words.append(
                        Word(start=max(0.0, a + shift), end=max(0.0, b + shift), text=t.text)
                    )
            events: list[Event] = []
            if words:
                events.append(
                    TranscriptSegment(
                        start=words[0].start,
                        end=words[-1].end,
                        speaker="S1",
                        text=" ".join(x.text for x in words),
                        words=words,
                    )
                )
            for s in self.sounds:
                a, b = max(s.start, w.start), min(s.end, w.end)
                if b > a:
                    events.append(
                        SoundEvent(start=a, end=b, label=s.text, category=SoundCategory.TONAL)
                    )
            out.append(self.stamp(events, w, relative=False))
        return out

    def ask(self, samples: np.ndarray, question: str) -> str:
        return ""


class StagedBurstBackend(BurstBackend):
    """BurstBackend in two stages, recording which thread ran each stage and whether the
    next window was prepared while a window was completing."""

    name = "fake-staged-bursts"
    pipelined = True

    def __init__(self, wait_for_next: float = 0.0, prepare_workers: int = 1) -> None:
        super().__init__()
        self.wait_for_next = wait_for_next
        self.prepare_workers = prepare_workers
        self.prepared: list[str] = []
        self.completed: list[str] = []
        self.overlapped: list[bool] = []
        self.threads: dict[str, set[int]] = {"prepare": set(), "complete": set()}
        self._prepared_more = threading.Condition()

    def prepare(self, window: Window) -> object:
        self.threads["prepare"].add(threading.get_ident())
        with self._prepared_more:
            self.prepared.append(window.window_id)
            self._prepared_more.notify_all()
        return window

    def complete(self, prepared: object) -> list[Event]:
        assert isinstance(prepared, Window)
        self.threads["complete"].add(threading.get_ident())
        with self._prepared_more:
            count = len(self.completed) + 1
            # Did the engine prepare a later window while this one was still running?
            ahead = self._prepared_more.wait_for(
                lambda: len(self.prepared) > count, timeout=self.wait_for_next
            )
        self.overlapped.append(ahead)
        self.completed.append(prepared.window_id)
        return super().analyze([prepared])[0]
