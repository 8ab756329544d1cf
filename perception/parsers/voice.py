"""Speaker-trait JSON -> voice-trait events (window-relative times).

Models wrap JSON in code fences, add prose around it, leave trailing commas, use single
quotes or answer `key: value` lines instead. All of those are read; free text with no
recognisable trait is not turned into an event (there is nothing to trust in it).
"""

from __future__ import annotations

import ast
import json
import logging
import re
from typing import Any

from perception.events import VoiceTraits
from perception.parsers.result import ParseResult
from perception.parsers.times import TimeFence, parse_time

log = logging.getLogger(__name__)

TRAIT_KEYS = (
    "gender", "pitch", "speed", "volume", "age", "clarity", "fluency", "accent",
    "texture", "emotion", "tone", "personality", "summary",
)  # fmt: skip
_KEY_LINE = re.compile(
    r"^\s*[-*•]?\s*\**\s*(?P<key>[A-Za-z][A-Za-z _]{1,30}?)\s*\**\s*[:=]\s*(?P<value>.+?)\s*,?\s*$"
)
_MAX_VALUE = 500


def parse_voice_traits(text: str, duration: float) -> ParseResult[VoiceTraits]:
    """Voice traits for a ``duration``-second window (one event per described speaker)."""
    result: ParseResult[VoiceTraits] = ParseResult()
    objects = _json_objects(text)
    if objects is None:
        pairs = _key_lines(text)
        if pairs:
            result.warn(log, "voice traits were not JSON: read as `key: value` lines")
            objects = [pairs]
        else:
            if text.strip() and text.strip().lower() not in ("none", "{}", "[]"):
                result.warn(log, f"voice traits: no JSON object or trait in {text.strip()[:80]!r}")
            return result
    fence = TimeFence(duration)
    for index, obj in enumerate(objects):
        event = _to_event(obj, fence, duration, result, index)
        if event is not None:
            result.events.append(event)
    result.events.sort(key=lambda e: (e.start, e.end))
    return result


def _to_event(
    obj: dict[str, Any],
    fence: TimeFence,
    duration: float,
    result: ParseResult[VoiceTraits],
    index: int,
) -> VoiceTraits | None:
    fields = {_norm_key(k): v for k, v in obj.items() if isinstance(k, str)}
    start, end = 0.0, duration
    if "start" in fields or "end" in fields:
        s = _as_time(fields.pop("start", 0.0))
        e = _as_time(fields.pop("end", duration))
        span = result.admit(
            fence, s, e if e is not None else float("nan"), f"voice traits object {index}", log
        )
        if span is None:
            return None
        start, end = span
    speaker = _as_text(fields.pop("speaker", None))
    traits = {k: v for k, v in ((k, _as_text(v)) for k, v in fields.items()) if v}
    emotion = traits.pop("emotion", None)
    summary = traits.pop("summary", None)
    if not traits and emotion is None and summary is None:
        result.warn(log, f"voice traits object {index} has no traits, dropped")
        return None
    return VoiceTraits(
        start=start,
        end=max(start, end),
        speaker=speaker,
        emotion=emotion,
        summary=summary,
        traits=traits,
    )


def _json_objects(text: str) -> list[dict[str, Any]] | None:
    """The JSON object(s) in ``text``: the first balanced {...} or [...], leniently decoded."""
    for opener, closer in (("[", "]"), ("{", "}")):
        for candidate in _balanced(text, opener, closer):
            value = _lenient_load(candidate)
            if isinstance(value, dict):
                return [value]
            if isinstance(value, list):
                objs = [v for v in value if isinstance(v, dict)]
                if objs:
                    return objs
    return None


def _balanced(text: str, opener: str, closer: str) -> list[str]:
    """Substrings from each ``opener`` to its matching ``closer`` (quotes respected)."""
    out: list[str] = []
    start = text.find(opener)
    while start != -1 and len(out) < 8:
        depth, quote, escaped = 0, "", False
        for i in range(start, len(text)):
            ch = text[i]
            if quote:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == quote:
                    quote = ""
            elif ch in "\"'" and (i == 0 or not text[i - 1].isalnum()):
                quote = ch
            elif ch == opener:
                depth += 1
            elif ch == closer:
                depth -= 1
                if depth == 0:
                    out.append(text[start : i + 1])
                    break
        else:  # never closed: generation was cut off; try closing it
            out.append(text[start:] + closer * max(depth, 1))
        start = text.find(opener, start + 1)
    return out


def _lenient_load(candidate: str) -> Any:
    try:
        return json.loads(candidate)
    except (ValueError, RecursionError):
        pass
    fixed = re.sub(r",\s*([}\]])", r"\1", candidate)  # trailing commas
    try:
        return json.loads(fixed)
    except (ValueError, RecursionError):
        pass
    try:  # single quotes, True/None: Python literal syntax
        return ast.literal_eval(fixed)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _key_lines(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        m = _KEY_LINE.match(line)
        if m is not None:
            key = _norm_key(m["key"])
            if key in TRAIT_KEYS or key == "speaker":
                pairs[key] = m["value"].strip().strip("\"'")
    return pairs


def _norm_key(key: str) -> str:
    return re.sub(r"[\s\-]+", "_", key.strip().lower())


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool) and not value:
        return None
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value).strip()
    return text[:_MAX_VALUE] or None


def _as_time(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return parse_time(value)
    return None
