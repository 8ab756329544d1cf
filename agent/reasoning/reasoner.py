"""The one interface every reasoner implements: a question and a session in, an Answer out."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from agent.reasoning.answer import Answer
from tools.context import ToolContext
from tools.registry import ToolRegistry

REASONER_NAMES = ("rules", "openai", "moss")


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


def get_reasoner(name: str, registry: ToolRegistry | None = None, **options: Any) -> Reasoner:
    """A reasoner by name: ``rules`` (CPU, deterministic), ``openai`` (any OpenAI-compatible
    server: ``base_url``, ``model``, ``api_key``, ``max_steps``, ``timeout``) or ``moss``
    (the local MOSS-Audio model: ``checkpoint``, ``max_steps``)."""
    if name == "rules":
        from agent.reasoning.rules import RulesReasoner

        return RulesReasoner(registry, **options)
    if name == "openai":
        from agent.reasoning.openai_chat import OpenAIReasoner

        return OpenAIReasoner(registry, **options)
    if name == "moss":
        from agent.reasoning.moss import MossReasoner

        return MossReasoner(registry, **options)
    raise ValueError(f"unknown reasoner {name!r}; choose one of {', '.join(REASONER_NAMES)}")


__all__ = [
    "REASONER_NAMES",
    "Reasoner",
    "ReasonerError",
    "ReasonerUnavailableError",
    "get_reasoner",
]
