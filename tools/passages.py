"""What was said about something, in the meeting's words or in others (hybrid search)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from memory import MemoryStoreError, PassageHit
from tools.context import ToolContext, ToolInputError
from tools.transcript import Seconds


class Passage(BaseModel):
    start: float
    end: float
    speaker: str | None = None
    text: str
    score: float  # fused rank score, higher is better
    similarity: float  # meaning similarity to the query, -1..1


class PassageResult(BaseModel):
    query: str
    relevant: bool  # false: nothing relevant was said; ``closest`` is what came closest
    strong: bool  # a keyword match or a clear meaning match (false: only a loose one)
    passages: list[Passage]
    closest: list[Passage] = Field(default_factory=list)

    def summary_line(self) -> str:
        if not self.relevant:
            return f"nothing about {self.query!r}; {len(self.closest)} closest passages"
        return f"{len(self.passages)} passage{'s' if len(self.passages) != 1 else ''} about {self.query!r}"


def _passage(hit: PassageHit) -> Passage:
    return Passage(
        start=hit.start,
        end=hit.end,
        speaker=hit.speaker,
        text=hit.segment.text.strip(),
        score=round(hit.score, 4),
        similarity=round(hit.similarity, 3),
    )


def search_passages(
    ctx: ToolContext,
    query: Annotated[str, Field(min_length=1)],
    limit: Annotated[int, Field(ge=1, le=50)] = 5,
    speaker: str | None = None,
    start: Seconds | None = None,
    end: Seconds | None = None,
    question: str | None = None,
) -> PassageResult:
    """Find what was said about a subject, also when other words were used (e.g. "costs"
    finds "budget"); says when nothing relevant was said and what came closest.

    Args:
        query: The subject or question, e.g. "office relocation" or "who will do the hiring".
        question: The whole question, when query is only its subject (e.g. query "live",
            question "where does Sheila live?"): lines that answer it in other words count.
        limit: At most this many passages.
        speaker: Only passages of this speaker (an id like "S2" or a name).
        start: Only passages after this many seconds from the start of the session.
        end: Only passages before this many seconds from the start of the session.
    """
    if start is not None and end is not None and end < start:
        raise ToolInputError(f"end ({end:g} s) is before start ({start:g} s)")
    try:
        found = ctx.memory.search_passages(
            ctx.session_id,
            query,
            limit,
            speakers=[speaker] if speaker else None,
            start=start,
            end=end,
            question=question,
        )
    except MemoryStoreError as exc:
        raise ToolInputError(str(exc)) from None
    return PassageResult(
        query=query,
        relevant=found.relevant,
        strong=found.strong,
        passages=[_passage(h) for h in found.hits],
        closest=[_passage(h) for h in found.closest],
    )


__all__ = ["Passage", "PassageResult", "search_passages"]
