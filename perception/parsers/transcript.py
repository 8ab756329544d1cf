"""Timestamped transcript text -> transcript segments (window-relative times).

Reads `start - end: text` lines (and the bracketed, clock and Whisper `<|t|>` variants).
Lines out of order are sorted; a segment that overlaps the previous one is trimmed, and
dropped when it repeats it or lies inside it; spans outside the window are dropped.
Text without any time becomes one segment over the whole window (the words are
trustworthy even when their times are not known more precisely).
"""

from __future__ import annotations

import logging
import re

from perception.events import TranscriptSegment
from perception.parsers.result import ParseResult
from perception.parsers.times import TimeFence, read_lines

log = logging.getLogger(__name__)

_WHISPER_MARK = re.compile(r"<\|(\d+(?:\.\d+)?)\|>")
_SPEAKER_PREFIX = re.compile(
    r"^(?P<speaker>(?:speaker|spk|SPEAKER)[\s_]*\w{1,3}|S\d{1,2})\s*[:：]\s*(?P<text>.+)$",
    re.IGNORECASE,
)
_NOTHING = re.compile(r"^[\W_]*(none|no speech|silence|n/?a|nothing)[\W_]*$", re.IGNORECASE)
# Overlaps shorter than this are rounding, not a conflict.
_OVERLAP_TOLERANCE = 0.05


def parse_transcript(text: str, duration: float) -> ParseResult[TranscriptSegment]:
    """Segments of a ``duration``-second window from the model's transcript text."""
    result: ParseResult[TranscriptSegment] = ParseResult()
    fence = TimeFence(duration)
    spans = _whisper_spans(text)
    if spans is None:
        lines = read_lines(text)
        timed = [line for line in lines if line.has_time]
        untimed = [line for line in lines if not line.has_time and not _NOTHING.match(line.text)]
        if not timed:
            if untimed and duration > 0:
                body = " ".join(line.text for line in untimed)
                result.warn(log, "transcript has no timestamps: one segment over the whole window")
                spans = [(0.0, duration, body, 0)]
            else:
                spans = []
        else:
            if untimed:
                result.warn(
                    log,
                    f"transcript: ignored {len(untimed)} line(s) without a timestamp "
                    f"(first: line {untimed[0].number}: {untimed[0].text[:60]!r})",
                )
            spans = _fill_open_ends(
                [(line.start, line.end, line.text, line.number) for line in timed], duration
            )

    admitted: list[tuple[float, float, str, int]] = []
    for start, end, body, number in spans:
        if not body or _NOTHING.match(body):
            continue
        span = result.admit(fence, start, end, f"transcript line {number}", log)
        if span is not None:
            admitted.append((*span, body, number))
    result.sort_by_time(admitted, "transcript lines were", log)

    for start, end, body, number in admitted:
        speaker, body = _split_speaker(body)
        previous = result.events[-1] if result.events else None
        if previous is not None and start < previous.end - _OVERLAP_TOLERANCE:
            if _same_text(body, previous.text) or end <= previous.end:
                result.warn(
                    log,
                    f"transcript line {number} ({start:.2f}-{end:.2f}) repeats or lies inside "
                    f"the previous segment ({previous.start:.2f}-{previous.end:.2f}), dropped",
                )
                continue
            result.warn(
                log,
                f"transcript line {number} overlaps the previous one: start moved to {previous.end:.2f}",
            )
            start = previous.end
        result.events.append(
            TranscriptSegment(start=start, end=max(start, end), text=body, speaker=speaker)
        )
    return result


def _fill_open_ends(
    spans: list[tuple[float | None, float | None, str, int]], duration: float
) -> list[tuple[float | None, float | None, str, int]]:
    """A line with a start only ends where the next one starts (or at the window end)."""
    out = []
    for i, (start, end, body, number) in enumerate(spans):
        if start is not None and end is None:
            later = [s for s, _, _, _ in spans[i + 1 :] if s is not None and s > start]
            end = min(later) if later else max(start, duration)
        out.append((start, end, body, number))
    return out


def _whisper_spans(text: str) -> list[tuple[float | None, float | None, str, int]] | None:
    """``<|0.00|> text <|2.40|>`` -> spans, or None when the text is not in that form."""
    marks = list(_WHISPER_MARK.finditer(text))
    if len(marks) < 2:
        return None
    spans: list[tuple[float | None, float | None, str, int]] = []
    for i, (a, b) in enumerate(zip(marks, marks[1:], strict=False), start=1):
        body = re.sub(r"\s+", " ", text[a.end() : b.start()]).strip()
        if body:
            spans.append((float(a[1]), float(b[1]), body, i))
    return spans


def _split_speaker(body: str) -> tuple[str | None, str]:
    m = _SPEAKER_PREFIX.match(body)
    if m is None:
        return None, body
    return m["speaker"].strip(), m["text"].strip()


def _same_text(a: str, b: str) -> bool:
    norm = lambda s: re.sub(r"[\W_]+", " ", s.lower()).strip()  # noqa: E731
    return norm(a) == norm(b)
