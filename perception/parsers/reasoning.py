"""Splitting ``<think>`` reasoning off a model answer (Qwen3-style thinking output).

The one implementation used by the MOSS-Audio model, the perception parsers, the remote
client, the server and the chat reasoners; it imports nothing heavy.
"""

from __future__ import annotations

import re

_OPEN = re.compile(r"<think>", re.IGNORECASE)
_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_BLOCK = re.compile(r"<think>(.*?)(?:</think>|\Z)", re.IGNORECASE | re.DOTALL)


def split_reasoning(text: str) -> tuple[str, str]:
    """``(reasoning, answer)``.

    Handles ``<think>r</think>a``; ``r</think>a`` (chat templates that put the opening tag
    in the prompt); several blocks (joined by a blank line); and an unclosed ``<think>r``
    (generation cut off while thinking: there is no answer yet, and the reasoning must not
    be shown as one).
    """
    thoughts: list[str] = []
    close, opened = _CLOSE.search(text), _OPEN.search(text)
    if close is not None and (opened is None or close.start() < opened.start()):
        thoughts.append(text[: close.start()])
        text = text[close.end() :]
    thoughts.extend(m.group(1) for m in _BLOCK.finditer(text))
    answer = _CLOSE.sub("", _BLOCK.sub("", text))
    return "\n\n".join(t.strip() for t in thoughts if t.strip()), answer.strip()
