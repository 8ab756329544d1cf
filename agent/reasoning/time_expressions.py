"""Times as people say them, turned into seconds of the session.

"minute 12", "at 7:00", "12:30", "1h05m", "between minute 3 and 5", "the last 30 seconds",
"at the start", "at the end". Expressions relative to the end need the session's duration,
so parsing gives a ``TimeExpression`` that is resolved against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# How long "at the start" / "at the end" and a bare "at 7:00" reach, in seconds.
EDGE_SPAN = 60.0
POINT_BEFORE = 10.0
POINT_AFTER = 20.0

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90, "half": 0.5,
}  # fmt: skip
_NUM = (
    r"(\d+(?:\.\d+)?|"
    + "|".join(sorted((re.escape(w) for w in _NUMBER_WORDS), key=len, reverse=True))
    + r")"
)
_UNIT = r"(h|hr|hrs|hours?|m|min|mins|minutes?|s|sec|secs|seconds?)"
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}

# 1h05m, 1h 5m 30s, 5m30s, 90s (compact forms; at least one unit)
_COMPACT = (
    r"(?:\d+\s*h(?:\s*\d+\s*m)?(?:\s*\d+\s*s)?|\d+\s*m\s*\d+\s*s|\d+\s*m(?![a-z])|\d+\s*s(?![a-z]))"
)
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?"


def _number(text: str) -> float:
    text = text.lower()
    return float(_NUMBER_WORDS[text]) if text in _NUMBER_WORDS else float(text)


def parse_clock(text: str) -> float:
    """ "12:30" -> 750 (mm:ss), "1:02:03" -> 3723 (h:mm:ss)."""
    parts = [int(p) for p in text.split(":")]
    if len(parts) == 3:
        return parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
    return parts[0] * 60.0 + parts[1]


def parse_compact(text: str) -> float:
    """ "1h05m" -> 3900, "5m30s" -> 330, "90s" -> 90."""
    total = 0.0
    for value, unit in re.findall(r"(\d+)\s*([hms])", text.lower()):
        total += int(value) * _UNIT_SECONDS[unit]
    return total


def _unit_seconds(unit: str) -> float:
    return _UNIT_SECONDS[unit.lower()[0]]


@dataclass(frozen=True)
class TimeExpression:
    """A time reference found in a question, not yet placed on a session of known length.

    ``anchor`` says what the numbers count from: the start of the session, or its end
    ("the last 30 seconds", "at the end"). ``point`` is True for a moment ("at 7:00"),
    which is widened to a short window around it.
    """

    phrase: str
    start: float
    end: float
    anchor: Literal["start", "end"] = "start"
    point: bool = False

    def resolve(self, duration: float | None) -> tuple[float, float]:
        """(start, end) in seconds of the session, clamped to it when its length is known."""
        if self.anchor == "end":
            total = duration or 0.0
            start, end = max(0.0, total - self.start), max(0.0, total - self.end)
            return (min(start, end), max(start, end))
        if self.point:
            start, end = max(0.0, self.start - POINT_BEFORE), self.start + POINT_AFTER
        else:
            start, end = self.start, self.end
        if duration is not None and duration > 0:
            end = min(end, max(duration, start))
        return start, end

    @property
    def moment(self) -> float:
        """The moment a point expression names (its start for spans)."""
        return self.start


def _span(phrase: str, start: float, end: float) -> TimeExpression:
    return TimeExpression(phrase, min(start, end), max(start, end))


def _between(m: re.Match[str]) -> TimeExpression:
    a, b = m.group("a"), m.group("b")
    unit = m.group("unit_a") or m.group("unit_b")
    minute_word = m.group("minword")

    def value(text: str, fallback_unit: str | None) -> float:
        text = text.strip()
        if re.fullmatch(_CLOCK, text):
            return parse_clock(text)
        if re.fullmatch(_COMPACT, text) and not re.fullmatch(r"\d+(\.\d+)?", text):
            return parse_compact(text)
        if minute_word:
            return _number(text) * 60.0
        return _number(text) * (_unit_seconds(fallback_unit) if fallback_unit else 60.0)

    start = value(a, m.group("unit_a") or unit)
    end = value(b, m.group("unit_b") or unit)
    if minute_word and not re.fullmatch(_CLOCK, b.strip()):
        end += 60.0  # "between minute 3 and 5" includes minute 5
    return _span(m.group(0), start, end)


_VALUE = rf"(?:{_CLOCK}|{_COMPACT}|{_NUM})"
_PATTERNS: list[tuple[re.Pattern[str], object]] = [
    (
        re.compile(
            rf"\b(?:between|from)\s+(?:the\s+)?(?P<minword>minutes?\s+)?(?P<a>{_VALUE})\s*(?P<unit_a>{_UNIT})?\s+"
            rf"(?:and|to|until|till|-)\s+(?:minute\s+)?(?P<b>{_VALUE})\s*(?P<unit_b>{_UNIT})?\b",
            re.I,
        ),
        _between,
    ),
    (
        re.compile(
            rf"\b(?:the\s+)?(?:last|past|final)\s+(?:(?P<n>{_NUM})\s+)?(?P<unit>{_UNIT})\b", re.I
        ),
        lambda m: TimeExpression(
            m.group(0),
            (_number(m.group("n")) if m.group("n") else 1.0) * _unit_seconds(m.group("unit")),
            0.0,
            "end",
        ),
    ),
    (
        re.compile(rf"\b(?:the\s+)?first\s+(?:(?P<n>{_NUM})\s+)?(?P<unit>{_UNIT})\b", re.I),
        lambda m: _span(
            m.group(0),
            0.0,
            (_number(m.group("n")) if m.group("n") else 1.0) * _unit_seconds(m.group("unit")),
        ),
    ),
    (
        re.compile(
            r"\b(?:at|in|near|towards?)\s+the\s+(?:very\s+)?(?:start|beginning|outset)\b|\bin the beginning\b",
            re.I,
        ),
        lambda m: _span(m.group(0), 0.0, EDGE_SPAN),
    ),
    (
        re.compile(r"\b(?:at|in|near|towards?)\s+the\s+(?:very\s+)?end\b|\bat the close\b", re.I),
        lambda m: TimeExpression(m.group(0), EDGE_SPAN, 0.0, "end"),
    ),
    (
        re.compile(rf"\b(?:at|in|during|around)?\s*minute\s+(?P<n>{_NUM})\b", re.I),
        lambda m: _span(
            m.group(0).strip(), _number(m.group("n")) * 60.0, _number(m.group("n")) * 60.0 + 60.0
        ),
    ),
    (
        re.compile(rf"(?<![\d:])(?P<clock>{_CLOCK})(?![\d:])", re.I),
        lambda m: TimeExpression(
            m.group(0), parse_clock(m.group("clock")), parse_clock(m.group("clock")), point=True
        ),
    ),
    (
        re.compile(
            r"\b(?P<compact>\d+\s*h(?:\s*\d+\s*m)?(?:\s*\d+\s*s)?|\d+\s*m\s*\d+\s*s)\b", re.I
        ),
        lambda m: TimeExpression(
            m.group(0),
            parse_compact(m.group("compact")),
            parse_compact(m.group("compact")),
            point=True,
        ),
    ),
    (
        re.compile(
            rf"\b(?P<n>{_NUM})\s+(?P<unit>{_UNIT})\s+(?:in|into)\b|\bafter\s+(?P<n2>{_NUM})\s+(?P<unit2>{_UNIT})\b",
            re.I,
        ),
        lambda m: TimeExpression(
            m.group(0),
            _number(m.group("n") or m.group("n2"))
            * _unit_seconds(m.group("unit") or m.group("unit2")),
            _number(m.group("n") or m.group("n2"))
            * _unit_seconds(m.group("unit") or m.group("unit2")),
            point=True,
        ),
    ),
    (
        re.compile(rf"\b(?:at|around)\s+(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>{_UNIT})\b", re.I),
        lambda m: TimeExpression(
            m.group(0),
            _number(m.group("n")) * _unit_seconds(m.group("unit")),
            _number(m.group("n")) * _unit_seconds(m.group("unit")),
            point=True,
        ),
    ),
]


def find_time_expression(text: str) -> TimeExpression | None:
    """The first time expression in ``text`` (the most specific pattern wins), or None."""
    for pattern, build in _PATTERNS:
        match = pattern.search(text)
        if match:
            return build(match)  # type: ignore[operator]
    return None


def strip_time_expression(text: str, expr: TimeExpression | None) -> str:
    """``text`` without the phrase of ``expr`` (so "budget at minute 3" searches "budget")."""
    if expr is None:
        return text
    return " ".join(text.replace(expr.phrase, " ").split())


__all__ = [
    "EDGE_SPAN",
    "TimeExpression",
    "find_time_expression",
    "parse_clock",
    "parse_compact",
    "strip_time_expression",
]
