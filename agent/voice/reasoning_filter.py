"""Keep a model's reasoning out of the assistant's voice.

LiveKit strips ``<think>`` blocks only for its own plugins; text from a custom LLM goes to
TTS verbatim. Reasoning belongs on the data channel and in memory, never in the speaker.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from perception.parsers.reasoning import split_reasoning

_OPEN = "<think>"
_CLOSE = "</think>"


def strip_reasoning(text: str) -> str:
    """Remove ``<think>...</think>`` blocks (an unclosed one runs to the end of the text)."""
    return split_reasoning(text)[1]


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
