"""Stream times as people read them: 75.5 -> "01:15", 3725 -> "1:02:05"."""

from __future__ import annotations


def format_clock(seconds: float) -> str:
    """mm:ss below an hour, h:mm:ss from an hour on (seconds are floored, never rounded up)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def format_span(start: float, end: float) -> str:
    """"01:15" for a point-like span, "01:15-01:20" otherwise."""
    a, b = format_clock(start), format_clock(end)
    return a if a == b else f"{a}-{b}"


__all__ = ["format_clock", "format_span"]
