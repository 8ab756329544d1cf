"""What ``moss-agent record`` tells the user besides its progress bar: progress as plain
lines when stderr is not a terminal (a pipe, a log file, CI), and a warning when a
recording heard nothing at all."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from agent.recording.recorder import RecordingProgress, RecordingResult

# A piped recording says where it is at most this often (and always at its start and end).
LINE_INTERVAL = 10.0


class ProgressLines:
    """Plain progress lines for a console that is not a terminal (rich's live bar draws
    nothing there, so a long recording would be silent for minutes)."""

    def __init__(
        self, console: Console, label: str, interval: float = LINE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.console = console
        self.label = label
        self.interval = interval
        self.clock = clock
        self._last: float | None = None
        self._pending: RecordingProgress | None = None

    def __call__(self, progress: RecordingProgress) -> None:
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            self._pending = progress  # shown by ``close`` if nothing newer is printed
            return
        self._last = now
        self._pending = None
        self._print(progress)

    def close(self) -> None:
        """Print the last progress held back by the interval (the recording's end)."""
        if self._pending is not None:
            self._print(self._pending)
            self._pending = None

    def _print(self, p: RecordingProgress) -> None:
        if p.total:
            where = (
                f"{p.seconds:.1f}/{p.total:.1f} s ({min(100.0, 100.0 * p.seconds / p.total):.0f} %)"
            )
        else:
            where = f"{p.seconds:.1f} s"
        self.console.print(
            f"{self.label}: {where}, {p.events} events", markup=False, highlight=False
        )


def progress_lines(console: Console, label: str) -> ProgressLines | None:
    """Progress lines for ``console`` when it is not a terminal, else None (the bar shows)."""
    return None if console.is_terminal else ProgressLines(console, label)


def nothing_heard(result: RecordingResult) -> str | None:
    """A warning when a finished recording holds no event at all, else None."""
    session = result.session
    if result.already_complete or session.event_count:
        return None
    return (
        f"warning: no events were heard in {session.source or session.title!r} "
        f"({session.duration:.1f} s of audio): is it silent, or the wrong file or input?"
    )


__all__ = ["LINE_INTERVAL", "ProgressLines", "nothing_heard", "progress_lines"]
