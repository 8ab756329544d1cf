"""Text generation for MOSS-Audio: batched prefill with audio, KV-cached decoding, prefix reuse.

Every call runs in two prefill stages and a decode loop:

1. the *prefixes* (chat header + audio span + newline, one per audio input) are prefilled
   once, with the audio embeddings and DeepStack injection, left padded;
2. the cache rows are copied for every task on that audio and the *suffixes* (question +
   assistant header) are prefilled on top; padding between a prefix and a shorter suffix
   is masked and positions count valid tokens only, so each row computes exactly what its
   unpadded single run computes;
3. tokens are decoded with the cache (greedy or sampled), finished rows leave the batch.

So three tasks on one window cost one encoder pass and one prefix prefill, plus three
short suffix prefills and the decoding. ``MossAudioGenerator`` holds a model and its
processor and runs this for waveforms and questions; ``DecodeOptions`` switch the decode
loop to a pre-allocated cache, a compiled or CUDA-graph step and fewer host syncs
(``perception.moss.decoding``), each proven to give the plain loop's tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from transformers import DynamicCache

from perception.moss.decoding import DecodeOptions, decode_static
from perception.moss.modeling import AudioEmbeddings, MossAudioModel
from perception.moss.processor import MossAudioProcessor, split_thinking

logger = logging.getLogger(__name__)

FinishReason = Literal["stop", "length"]
TokenCallback = Callable[[int, int], None]
"""Called as ``on_token(row, token_id)`` for every generated token, in generation order.
``row`` is the index of the result the token belongs to (flattened as audio * tasks + task
for ``generate_tasks_batch``)."""

Question = str | Sequence[int]


@dataclass
class GenerationConfig:
    """Decoding settings. Greedy unless ``do_sample``; ``seed`` makes sampling repeatable."""

    max_new_tokens: int = 256
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    stop_token_ids: tuple[int, ...] | None = None  # default: the checkpoint's <|im_end|>/eos
    # Decode exactly max_new_tokens, stop tokens included (benchmarks of random weights).
    ignore_stop_tokens: bool = False

    def validate(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if self.do_sample and self.temperature <= 0:
            raise ValueError(
                "temperature must be > 0 when sampling (use do_sample=False for greedy)"
            )
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError("top_k must be >= 0 (0 disables it)")


@dataclass
class GenerationResult:
    """One generated answer. ``token_ids`` excludes the stop token; the text fields are None
    when the checkpoint has no tokenizer."""

    token_ids: list[int]
    text: str | None
    thinking: str | None
    answer: str | None
    finish_reason: FinishReason


def next_tokens(
    logits: torch.Tensor, config: GenerationConfig, generator: torch.Generator | None
) -> torch.Tensor:
    """Pick one token per row from [R, vocab] logits (greedy, or temperature/top-k/top-p)."""
    logits = logits.float()
    if not config.do_sample:
        return logits.argmax(dim=-1)
    logits = logits / config.temperature
    if config.top_k:
        kth = torch.topk(logits, min(config.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if config.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        # Drop tokens once the mass before them already reaches top_p (the first always stays).
        drop_sorted = (cumulative - sorted_logits.softmax(dim=-1)) >= config.top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)


def _left_pad(
    rows: Sequence[Sequence[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(len(r) for r in rows)
    ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, longest - len(row) :] = torch.tensor(list(row), dtype=torch.long)
            mask[i, longest - len(row) :] = 1
    return ids.to(device), mask.to(device)


@dataclass
class Prefilled:
    """The state after the prefill stages: next-token logits per task, the cache, the mask."""

    logits: torch.Tensor  # [tasks, vocab], for the first generated token
    cache: DynamicCache
    mask: torch.Tensor  # [tasks, cached length], 1 where a cached token is valid


@torch.no_grad()
def prefill(
    model: MossAudioModel,
    audio: AudioEmbeddings | None,
    prefixes: Sequence[Sequence[int]],
    tasks: Sequence[tuple[int, Sequence[int]]],
    pad_id: int,
) -> Prefilled:
    """Stages 1 and 2: the prefixes with audio, then the task suffixes on copied cache rows."""
    device = model.device
    # Stage 1: shared prefixes with the audio, one row per audio input. Their last logits
    # are only needed by tasks without a suffix.
    suffixes = [list(suffix) for _, suffix in tasks]
    prefix_ids, prefix_mask = _left_pad(prefixes, pad_id, device)
    stage1 = model(
        prefix_ids,
        attention_mask=prefix_mask,
        audio=audio,
        use_cache=True,
        logits_to_keep=1,
        compute_logits=not all(suffixes),
    )
    cache = stage1.cache
    assert cache is not None

    # Stage 2: copy each prefix's cache rows per task, prefill the task suffixes on top.
    rows = torch.tensor([prefix for prefix, _ in tasks], dtype=torch.long, device=device)
    cache.batch_select_indices(rows)
    mask = prefix_mask.index_select(0, rows)
    prefix_logits = None if stage1.logits is None else stage1.logits[:, -1].index_select(0, rows)
    logits = prefix_logits
    if any(suffixes):
        suffix_ids, suffix_mask = _left_pad(suffixes, pad_id, device)
        mask = torch.cat([mask, suffix_mask], dim=1)
        stage2 = model(
            suffix_ids, attention_mask=mask, cache=cache, use_cache=True, logits_to_keep=1
        )
        assert stage2.logits is not None
        logits = stage2.logits[:, -1]
        if prefix_logits is not None:
            has_suffix = torch.tensor([bool(s) for s in suffixes], device=device)
            logits = torch.where(has_suffix[:, None], logits, prefix_logits)
    assert logits is not None  # stage 1 computed them when no task has a suffix
    return Prefilled(logits=logits, cache=cache, mask=mask)


def sampling_generator(config: GenerationConfig, device: torch.device) -> torch.Generator | None:
    if not config.do_sample:
        return None
    generator = torch.Generator(device=device)
    if config.seed is None:
        generator.seed()
    else:
        generator.manual_seed(config.seed)
    return generator


@torch.no_grad()
def decode_plain(
    model: MossAudioModel,
    state: Prefilled,
    config: GenerationConfig,
    stop_token_ids: Sequence[int],
    on_token: TokenCallback | None = None,
    limits: Sequence[int] | None = None,
) -> list[tuple[list[int], FinishReason]]:
    """Stage 3, the reference loop: one host sync per token, finished rows leave the batch.
    ``limits`` caps the new tokens per task (each <= ``config.max_new_tokens``)."""
    device = model.device
    stops = torch.tensor(sorted(set(stop_token_ids)), dtype=torch.long, device=device)
    generator = sampling_generator(config, device)
    cache, mask, logits = state.cache, state.mask, state.logits
    n_tasks = logits.shape[0]
    # `active` maps batch rows to task indexes.
    outputs: list[list[int]] = [[] for _ in range(n_tasks)]
    reasons: list[FinishReason] = ["length"] * n_tasks
    active = list(range(n_tasks))
    for step in range(config.max_new_tokens):
        chosen = next_tokens(logits, config, generator)
        stopped = torch.isin(chosen, stops)
        chosen_list = chosen.tolist()
        stopped_list = stopped.tolist()
        keep: list[int] = []
        for batch_row, task in enumerate(active):
            if stopped_list[batch_row]:
                reasons[task] = "stop"
                continue
            outputs[task].append(chosen_list[batch_row])
            if on_token is not None:
                on_token(task, chosen_list[batch_row])
            if limits is None or len(outputs[task]) < limits[task]:
                keep.append(batch_row)
        if not keep or step == config.max_new_tokens - 1:
            break
        if len(keep) < len(active):
            index = torch.tensor(keep, dtype=torch.long, device=device)
            cache.batch_select_indices(index)
            mask = mask.index_select(0, index)
            chosen = chosen.index_select(0, index)
            active = [active[i] for i in keep]
        mask = torch.cat([mask, mask.new_ones(len(active), 1)], dim=1)
        step_out = model(
            chosen[:, None], attention_mask=mask, cache=cache, use_cache=True, logits_to_keep=1
        )
        assert step_out.logits is not None
        logits = step_out.logits[:, -1]
    return list(zip(outputs, reasons, strict=True))


def effective_stops(config: GenerationConfig, stop_token_ids: Sequence[int]) -> list[int]:
    return [] if config.ignore_stop_tokens else list(stop_token_ids)


@torch.no_grad()
def generate_from_prompts(
    model: MossAudioModel,
    audio: AudioEmbeddings | None,
    prefixes: Sequence[Sequence[int]],
    tasks: Sequence[tuple[int, Sequence[int]]],
    config: GenerationConfig,
    stop_token_ids: Sequence[int],
    on_token: TokenCallback | None = None,
    options: DecodeOptions | None = None,
    limits: Sequence[int] | None = None,
) -> list[tuple[list[int], FinishReason]]:
    """Generate for ``tasks`` = (prefix index, suffix ids); prefix i holds audio row i.

    Returns (token ids without the stop token, finish reason) per task, in task order.
    ``options`` choose the decode loop (default: the plain loop); ``limits`` caps the new
    tokens per task (each <= ``config.max_new_tokens``).
    """
    config.validate()
    if limits is not None and (
        len(limits) != len(tasks) or not all(1 <= n <= config.max_new_tokens for n in limits)
    ):
        raise ValueError("limits needs one value per task, each in 1..max_new_tokens")
    options = options or DecodeOptions()
    options.validate(model)
    pad_id = int(stop_token_ids[0]) if stop_token_ids else 0
    state = prefill(model, audio, prefixes, tasks, pad_id)
    stops = effective_stops(config, stop_token_ids)
    if options.plain:
        return decode_plain(model, state, config, stops, on_token, limits)
    generator = sampling_generator(config, model.device)
    raw = decode_static(
        model,
        state.logits,
        state.cache,
        state.mask,
        lambda logits: next_tokens(logits, config, generator),
        config.max_new_tokens,
        stops,
        options,
        on_token,
        limits,
    )
    return [(ids, "stop" if stopped else "length") for ids, stopped in raw]


class MossAudioGenerator:
    """Generation for one loaded MOSS-Audio: the model, its processor and the decode options.

    model, processor = load_moss_audio("MOSS-Audio-4B-Instruct")
    generator = MossAudioGenerator(model, processor)
    [result] = generator.generate([waveform_16k], "Describe this audio.")
    """

    def __init__(
        self,
        model: MossAudioModel,
        processor: MossAudioProcessor,
        options: DecodeOptions | None = None,
    ) -> None:
        self.model = model
        self.processor = processor
        self.options = options or DecodeOptions()
        self.options.validate(model)

    def encode(self, audios: Sequence[np.ndarray]) -> AudioEmbeddings:
        """Features and one batched encoder pass for several 16 kHz mono waveforms."""
        _, mel, lengths = self.processor.batch_features(audios, device=self.model.device)
        with torch.no_grad():
            return self.model.encode_audio(mel, lengths)

    def generate(
        self,
        audios: Sequence[np.ndarray],
        questions: Sequence[Question] | str,
        config: GenerationConfig | None = None,
        system: str | Sequence[int] | None = None,
        on_token: TokenCallback | None = None,
    ) -> list[GenerationResult]:
        """One answer per audio input, all inputs in one batch. A single string question
        is asked of every input."""
        if isinstance(questions, str):
            questions = [questions] * len(audios)
        if len(questions) != len(audios):
            raise ValueError(
                f"{len(audios)} audio inputs but {len(questions)} questions: give one per input"
            )
        nested = self.generate_tasks_batch(
            audios, [[q] for q in questions], config, system=system, on_token=on_token
        )
        return [results[0] for results in nested]

    def generate_tasks(
        self,
        audio: np.ndarray,
        questions: Sequence[Question],
        config: GenerationConfig | None = None,
        system: str | Sequence[int] | None = None,
        on_token: TokenCallback | None = None,
    ) -> list[GenerationResult]:
        """Several questions on one audio input: one encoder pass, one prefix prefill, the
        prefix's KV cache copied per question; the questions run as one batch."""
        return self.generate_tasks_batch(
            [audio], [list(questions)], config, system=system, on_token=on_token
        )[0]

    def prompts(
        self,
        lengths: Sequence[int],
        questions: Sequence[Sequence[Question]],
        system: str | Sequence[int] | None = None,
    ) -> tuple[list[list[int]], list[tuple[int, list[int]]], list[int]]:
        """(prefixes, tasks, tasks per audio) for audio inputs of ``lengths`` audio tokens."""
        prefixes: list[list[int]] = []
        tasks: list[tuple[int, list[int]]] = []
        counts: list[int] = []
        for index, (qs, n) in enumerate(zip(questions, lengths, strict=True)):
            parts = [self.processor.build_prompt_parts(q, int(n), system) for q in qs]
            counts.append(len(parts))
            if not parts:
                prefixes.append(self.processor.build_prompt_parts([], int(n), system).prefix)
                continue
            prefixes.append(parts[0].prefix)
            tasks.extend((index, p.suffix) for p in parts)
        return prefixes, tasks, counts

    def generate_tasks_batch(
        self,
        audios: Sequence[np.ndarray],
        questions: Sequence[Sequence[Question]],
        config: GenerationConfig | None = None,
        system: str | Sequence[int] | None = None,
        on_token: TokenCallback | None = None,
    ) -> list[list[GenerationResult]]:
        """Several questions for each of several audio inputs (e.g. the windows of a file).

        ``questions[a]`` lists the questions for audio a. Result ``[a][t]`` answers question
        t on audio a; ``on_token`` rows are numbered in that order, flattened.
        """
        if not audios:
            return []
        if isinstance(questions, str) or len(questions) != len(audios):
            raise ValueError("give one list of questions per audio input")
        per_audio = [list(q) for q in questions]
        audio = self.encode(audios)
        prefixes, tasks, counts = self.prompts(audio.lengths.tolist(), per_audio, system)
        if not tasks:
            return [[] for _ in audios]
        config = config or GenerationConfig()
        stop_ids = config.stop_token_ids or self.processor.stop_token_ids
        raw = generate_from_prompts(
            self.model, audio, prefixes, tasks, config, stop_ids, on_token, self.options
        )
        results = [_result(self.processor, ids, reason) for ids, reason in raw]
        nested: list[list[GenerationResult]] = []
        for count in counts:
            nested.append(results[:count])
            results = results[count:]
        return nested

    def generate_text(
        self,
        prompt: str,
        config: GenerationConfig | None = None,
        on_token: TokenCallback | None = None,
    ) -> GenerationResult:
        """Text mode, no audio: the continuation of ``prompt``, a chat already rendered with
        the chat template (``perception.moss.chat_format.render_chat``, tools included)."""
        if self.processor.tokenizer is None:
            raise ValueError("text prompts need the checkpoint's tokenizer")
        ids = list(self.processor.tokenizer.encode(prompt, add_special_tokens=False))
        config = config or GenerationConfig()
        stop_ids = config.stop_token_ids or self.processor.stop_token_ids
        [(tokens, reason)] = generate_from_prompts(
            self.model, None, [ids], [(0, [])], config, stop_ids, on_token, self.options
        )
        return _result(self.processor, tokens, reason)


def _result(
    processor: MossAudioProcessor, token_ids: list[int], reason: FinishReason
) -> GenerationResult:
    text = processor.decode(token_ids)
    if text is None:
        return GenerationResult(token_ids, None, None, None, reason)
    thinking, answer = split_thinking(text)
    return GenerationResult(token_ids, text, thinking, answer, reason)
