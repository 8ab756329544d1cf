"""Splitting a ``<think>`` block off a model answer (Qwen3-style thinking output)."""

from __future__ import annotations

import re

_OPEN = re.compile(r"<think>", re.IGNORECASE)
_CLOSE = re.compile(r"</think>", re.IGNORECASE)


def split_reasoning(text: str) -> tuple[str, str]:
    """``(reasoning, answer)``.

    Handles ``<think>r</think>a``; ``r</think>a`` (chat templates that put the opening tag
    in the prompt); and an unclosed ``<think>r`` (generation cut off while thinking: there
    is no answer yet, and the reasoning must not be shown as one).
    """
    close = _CLOSE.search(text)
    if close is None:
        opened = _OPEN.search(text)
        if opened is None:
            return "", text.strip()
        return text[opened.end():].strip(), text[: opened.start()].strip()
    head, answer = text[: close.start()], text[close.end():]
    opened = _OPEN.search(head)
    if opened is not None:
        head = head[opened.end():]
    return head.strip(), _CLOSE.sub("", _OPEN.sub("", answer)).strip()
