"""Keep a model's reasoning out of the assistant's voice.

LiveKit strips ``<think>`` blocks only for its own plugins; text from a custom LLM goes to
TTS verbatim. Reasoning belongs on the data channel and in memory, never in the speaker.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator

_OPEN = "<think>"
_CLOSE = "</think>"
_BLOCK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
# a closing tag without its opening one: everything before it was reasoning
_ORPHAN_CLOSE = re.compile(r"\A.*?</think>", re.DOTALL | re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """Remove ``<think>...</think>`` blocks (an unclosed one runs to the end of the text)."""
    if _CLOSE in text.lower() and _OPEN not in text.lower().split(_CLOSE)[0]:
        text = _ORPHAN_CLOSE.sub("", text, count=1)
    return _BLOCK.sub("", text)


async def strip_reasoning_stream(chunks: AsyncIterable[str]) -> AsyncIterator[str]:
    """The same filter over streamed text whose tags may be split across chunks."""
    pending = ""
    inside = False
    async for chunk in chunks:
        pending += chunk
        out: list[str] = []
        while pending:
            low = pending.lower()
            tag = _CLOSE if inside else _OPEN
            idx = low.find(tag)
            if idx >= 0:
                if not inside:
                    out.append(pending[:idx])
                pending = pending[idx + len(tag) :]
                inside = not inside
                continue
            # hold back a tail that could be the start of a split tag
            keep = _partial_tag_suffix(low, tag)
            if not inside:
                out.append(pending[: len(pending) - keep])
            pending = pending[len(pending) - keep :]
            break
        text = "".join(out)
        if text:
            yield text
    if pending and not inside:
        yield pending


def _partial_tag_suffix(text: str, tag: str) -> int:
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0
