"""Reasoners by name: the one list of names the CLI, the TUI and the voice apps offer.

Stdlib-only at import time, so ``moss-agent --help`` can show the choices without loading
pydantic or a model; each reasoner's module is imported when it is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.reasoning.reasoner import Reasoner
    from tools.registry import ToolRegistry

# name -> "module:Class"
REASONERS: dict[str, str] = {
    "rules": "agent.reasoning.rules:RulesReasoner",
    "openai": "agent.reasoning.openai_chat:OpenAIReasoner",
    "moss": "agent.reasoning.moss:MossReasoner",
}
REASONER_NAMES: tuple[str, ...] = tuple(REASONERS)


def get_reasoner(name: str, registry: ToolRegistry | None = None, **options: Any) -> Reasoner:
    """A reasoner by name: ``rules`` (CPU, deterministic), ``openai`` (any OpenAI-compatible
    server: ``base_url``, ``model``, ``api_key``, ``max_steps``, ``timeout``) or ``moss``
    (the local MOSS-Audio model: ``checkpoint``, ``max_steps``)."""
    try:
        module_name, _, class_name = REASONERS[name].partition(":")
    except KeyError:
        raise ValueError(
            f"unknown reasoner {name!r}; choose one of {', '.join(REASONER_NAMES)}"
        ) from None
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(registry, **options)


__all__ = ["REASONERS", "REASONER_NAMES", "get_reasoner"]
