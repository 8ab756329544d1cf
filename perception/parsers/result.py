"""What a parser hands back: the events it trusts and why it dropped or changed the rest."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from perception.events import BaseEvent
from perception.parsers.times import TimeFence

E = TypeVar("E", bound=BaseEvent)
S = TypeVar("S", bound=tuple)


@dataclass
class ParseResult(Generic[E]):
    """Events with WINDOW-RELATIVE times (seconds from the window start) plus warnings.

    Times are relative because MOSS-Audio's time markers count from the start of each
    audio input; ``PerceptionBackend.stamp`` moves them onto the session timeline.
    """

    events: list[E] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def warn(self, logger: logging.Logger, message: str) -> None:
        self.warnings.append(message)
        logger.warning("%s", message)

    def admit(
        self,
        fence: TimeFence,
        start: float | None,
        end: float | None,
        where: str,
        logger: logging.Logger,
    ) -> tuple[float, float] | None:
        """The span kept inside the window, or None (with a warning) when it cannot be trusted."""
        if start is None:
            self.warn(logger, f"{where}: unreadable time, dropped")
            return None
        verdict = fence.admit(start, end)
        if isinstance(verdict, str):
            self.warn(logger, f"{where}: {verdict}, dropped")
            return None
        kept_start, kept_end, note = verdict
        if note:
            self.warn(logger, f"{where}: {note}")
        return kept_start, kept_end

    def sort_by_time(self, spans: list[S], what: str, logger: logging.Logger) -> None:
        """Sort ``spans`` (tuples starting with start, end) in place; warn if they were not."""
        if any(a[0] > b[0] for a, b in zip(spans, spans[1:], strict=False)):
            self.warn(logger, f"{what} out of order: sorted by start time")
        spans.sort(key=lambda span: (span[0], span[1]))
