"""The local MOSS-Audio model as a reasoner: its Qwen3 language model in text mode.

No audio goes into the prompt; the chat is rendered with Qwen3's template, tools in the
system message and ``<tool_call>`` blocks in the replies (``perception/moss/chat_format.py``), and
generated with the model's own KV-cached decoding. Questions about how a stretch of
audio sounds go through the ``relisten`` tool, which runs the perception backend on the
archived audio. The tool loop is ``ChatToolReasoner``'s, shared with the OpenAI reasoner.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.reasoning.chat_loop import DEFAULT_MAX_STEPS, SYSTEM_PROMPT, ChatToolReasoner
from agent.reasoning.reasoner import ReasonerError, ReasonerUnavailableError
from perception.backends.moss import CHECKPOINT_ENV  # one variable names the checkpoint everywhere
from perception.moss.chat_format import render_chat
from tools.registry import ToolRegistry

if TYPE_CHECKING:
    from perception.moss import MossAudioModel, MossAudioProcessor

log = logging.getLogger(__name__)


class MossReasoner(ChatToolReasoner):
    """Tool-calling over the local MOSS-Audio checkpoint (loaded on first use)."""

    name = "moss"

    def __init__(
        self,
        registry: ToolRegistry | None = None,
        *,
        checkpoint: str | Path | None = None,
        model: MossAudioModel | None = None,
        processor: MossAudioProcessor | None = None,
        max_steps: int = DEFAULT_MAX_STEPS,
        max_new_tokens: int = 512,
        system_prompt: str = SYSTEM_PROMPT,
    ) -> None:
        super().__init__(registry, max_steps=max_steps, system_prompt=system_prompt)
        checkpoint = checkpoint or os.environ.get(CHECKPOINT_ENV)
        if model is None and not checkpoint:
            raise ReasonerUnavailableError(
                f"the moss reasoner needs a MOSS-Audio checkpoint: pass --checkpoint DIR or set ${CHECKPOINT_ENV}"
            )
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.max_new_tokens = max_new_tokens
        self._model = model
        self._processor = processor
        self._lock = asyncio.Lock()
        self.last_prompt = ""  # the rendered chat of the latest turn, for debugging

    async def _model_name(self) -> str:
        return self.checkpoint.name if self.checkpoint else "moss-audio"

    async def _loaded(self) -> tuple[MossAudioModel, MossAudioProcessor]:
        async with self._lock:
            if self._model is None or self._processor is None:
                from perception.moss import MossCheckpointError, load_moss_audio

                assert self.checkpoint is not None
                try:
                    self._model, self._processor = await asyncio.to_thread(
                        load_moss_audio, self.checkpoint
                    )
                except (MossCheckpointError, OSError) as exc:
                    raise ReasonerUnavailableError(
                        f"cannot load the MOSS-Audio checkpoint {self.checkpoint}: {exc}"
                    ) from exc
            assert self._model is not None and self._processor is not None
            if not self._processor.has_tokenizer:
                raise ReasonerUnavailableError(
                    "the MOSS-Audio checkpoint has no tokenizer, so it cannot read questions as text; "
                    "add tokenizer.json to the checkpoint directory"
                )
            return self._model, self._processor

    async def _chat(
        self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        self.last_prompt = render_chat(messages, tools)
        text = await self._generate(self.last_prompt)
        return {"role": "assistant", "content": text}

    async def _generate(self, prompt: str) -> str:
        """The model's continuation of ``prompt`` (up to its end-of-turn token)."""
        model, processor = await self._loaded()
        return await asyncio.to_thread(
            _generate_text, model, processor, prompt, self.max_new_tokens
        )


def _generate_text(
    model: MossAudioModel, processor: MossAudioProcessor, prompt: str, max_new_tokens: int
) -> str:
    from perception.moss import GenerationConfig, MossAudioGenerator

    try:
        result = MossAudioGenerator(model, processor).generate_text(
            prompt, GenerationConfig(max_new_tokens=max_new_tokens)
        )
    except (RuntimeError, ValueError) as exc:
        raise ReasonerError(f"MOSS-Audio generation failed: {exc}") from exc
    if result.finish_reason == "length":
        log.info("the model reached max_new_tokens (%d) before ending its turn", max_new_tokens)
    return result.text or ""


__all__ = ["CHECKPOINT_ENV", "MossReasoner"]
