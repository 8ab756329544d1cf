"""The one interface every reasoner implements: a question and a session in, an Answer out."""

from __future__ import annotations

import abc
from typing import ClassVar

from agent.reasoning.answer import Answer
from tools.context import ToolContext
from tools.registry import ToolRegistry


class ReasonerError(RuntimeError):
    """A reasoner could not produce an answer; the message says what to do next."""


class ReasonerUnavailableError(ReasonerError):
    """The model or server behind a reasoner cannot be reached or loaded."""


class Reasoner(abc.ABC):
    """Answers questions about one session by calling tools.

    ``answer`` never raises for a question it does not understand (it says so in the
    Answer); it raises ``ReasonerError`` only when its model or server is unusable.
    """

    name: ClassVar[str] = ""

    def __init__(self, registry: ToolRegistry | None = None) -> None:
        if registry is None:
            from tools import builtin_registry

            registry = builtin_registry()
        self.registry = registry

    @abc.abstractmethod
    async def answer(self, question: str, ctx: ToolContext) -> Answer:
        """Answer ``question`` about ``ctx.session_id``."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections or models."""

    async def __aenter__(self) -> Reasoner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = [
    "Reasoner",
    "ReasonerError",
    "ReasonerUnavailableError",
]
