"""Stream times as people read them: 75.5 -> "01:15", 3725 -> "1:02:05" (see perception.formats)."""

from __future__ import annotations

from perception.formats import format_clock, format_span

__all__ = ["format_clock", "format_span"]
