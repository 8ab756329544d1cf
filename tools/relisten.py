"""Listen again: run the audio model on an archived stretch of the session with a question."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, Field

from tools.clock import format_span
from tools.context import ToolContext, ToolInputError, ToolUnavailableError
from tools.transcript import Seconds, check_span

# Audio models take bounded clips; longer spans should be asked about in pieces.
MAX_RELISTEN_SECONDS = 120.0


class Relistened(BaseModel):
    start: float
    end: float
    question: str
    answer: str
    backend: str

    def summary_line(self) -> str:
        return f"{format_span(self.start, self.end)}: {self.answer[:140]}"


def relisten(
    ctx: ToolContext,
    start: Seconds,
    end: Seconds,
    question: Annotated[str, Field(min_length=1, max_length=2000)],
) -> Relistened:
    """Listen to the recorded audio between two times again and answer a question about it.

    Use it for what the transcript cannot tell: tone, background sounds, who laughed.

    Args:
        start: Seconds from the start of the session.
        end: Seconds from the start of the session (at most 120 s after start).
        question: What to listen for, e.g. "Is anyone laughing?".
    """
    check_span(start, end, max_span=MAX_RELISTEN_SECONDS)
    if end - start < 0.1:
        raise ToolInputError("the span is shorter than 0.1 s; give a longer stretch")
    if ctx.backend is None:
        raise ToolUnavailableError("re-listening needs a perception backend; this run has none")
    samples = ctx.memory.read_audio(ctx.session_id, start, end)
    # Memory fills never-archived stretches with exact zeros; real recordings never are.
    if samples is None or len(samples) == 0 or not np.any(samples):
        raise ToolInputError(
            f"no archived audio at {format_span(start, end)}; the session kept no audio there"
        )
    answer = ctx.backend.ask(samples, question)
    return Relistened(
        start=start, end=end, question=question, answer=answer.strip(), backend=ctx.backend.name
    )


__all__ = ["MAX_RELISTEN_SECONDS", "Relistened", "relisten"]
