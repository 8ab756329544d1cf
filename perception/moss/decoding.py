"""Fast decode loops for MOSS-Audio: a pre-allocated KV cache, a compiled or CUDA-graph step,
and token selection on the device with few host synchronisations.

The plain loop (``generation.decode_plain``) grows a ``DynamicCache`` by concatenation,
reads every chosen token back to the host and drops finished rows from the batch. Here:

- the cache is allocated once at its final length (prefill + new tokens); each step writes
  its keys and values in place at a position held in a device tensor, and attends over the
  whole buffer with the unwritten slots masked, so every step has the same shapes;
- that fixed-shape step can run eagerly, through ``torch.compile``, or as a replayed CUDA
  graph (one launch for the whole model instead of hundreds of small kernels);
- chosen tokens stay on the device; finished rows keep running (their tokens are dropped)
  and the host looks at the results every ``sync_every`` steps only.

Each option gives the plain loop's tokens for greedy decoding (tests prove it on the tiny
checkpoint; the GPU check proves it on CUDA). Sampling stays repeatable with a seed, but
once a row finishes early the random stream differs from the plain loop's (that loop
samples fewer rows).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from perception.moss.modeling import MossAudioModel

logger = logging.getLogger(__name__)

StepMode = Literal["eager", "compile", "cuda_graph"]
TokenSink = Callable[[int, int], None]


@dataclass(frozen=True)
class DecodeOptions:
    """How the decode loop runs. The default is the plain loop.

    ``static_cache``: pre-allocated KV cache with fixed shapes (needs SDPA attention).
    ``step``: "eager", "compile" (``torch.compile`` of the step) or "cuda_graph" (captured
    once per call, replayed per token; CUDA only); both need ``static_cache``.
    ``sync_every``: look at the chosen tokens on the host every N steps (streamed tokens
    then arrive in bursts of N); more than 1 needs ``static_cache``.
    """

    static_cache: bool = False
    step: StepMode = "eager"
    sync_every: int = 1

    @property
    def plain(self) -> bool:
        return not self.static_cache

    def validate(self, model: MossAudioModel) -> None:
        if self.step not in ("eager", "compile", "cuda_graph"):
            raise ValueError(f"step must be eager, compile or cuda_graph, not {self.step!r}")
        if self.sync_every < 1:
            raise ValueError("sync_every must be >= 1")
        if self.plain and (self.step != "eager" or self.sync_every != 1):
            raise ValueError("step and sync_every options need static_cache=True")
        if self.step == "cuda_graph" and model.device.type != "cuda":
            raise ValueError("step='cuda_graph' needs the model on a CUDA device")
        attention = model.config.language_config._attn_implementation
        if self.static_cache and attention != "sdpa":
            raise ValueError(
                f"static_cache needs SDPA attention, the model uses {attention!r}: load it "
                "with attn_implementation='sdpa'"
            )


class PreallocatedCache:
    """KV cache of fixed length per layer, written in place at ``write_index`` (a device
    tensor, so a captured CUDA graph advances with it). Quacks like the ``update`` side of
    transformers' caches, which is all the decoder layers use."""

    def __init__(self, keys: list[torch.Tensor], values: list[torch.Tensor], filled: int) -> None:
        self.keys = keys
        self.values = values
        self.write_index = torch.tensor([filled], dtype=torch.long, device=keys[0].device)

    @classmethod
    def from_cache(cls, cache: Any, capacity: int) -> PreallocatedCache:
        """Move a filled ``DynamicCache`` into buffers of ``capacity`` positions. Each layer
        of ``cache`` is emptied once copied, so the two never both hold the whole cache."""
        keys: list[torch.Tensor] = []
        values: list[torch.Tensor] = []
        filled = int(cache.layers[0].keys.shape[2])
        for layer in cache.layers:
            for source, target in ((layer.keys, keys), (layer.values, values)):
                batch, heads, _, dim = source.shape
                buffer = source.new_zeros(batch, heads, capacity, dim)
                buffer[:, :, :filled] = source
                target.append(buffer)
            empty = layer.keys.new_empty(*layer.keys.shape[:2], 0, layer.keys.shape[3])
            layer.keys = layer.values = empty  # a fresh tensor: no view keeps the old storage
        return cls(keys, values, filled)

    def update(
        self,
        key_states: torch.Tensor,
        value_states: torch.Tensor,
        layer_idx: int,
        *_: Any,
        **__: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        self.keys[layer_idx].index_copy_(2, self.write_index, key_states)
        self.values[layer_idx].index_copy_(2, self.write_index, value_states)
        return self.keys[layer_idx], self.values[layer_idx]

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return int(self.write_index)


class StaticDecoder:
    """One fixed-shape decode step over a ``PreallocatedCache``, run eagerly, compiled or
    as a CUDA graph. All inputs live in tensors updated in place between steps."""

    def __init__(
        self, model: MossAudioModel, cache: Any, mask: torch.Tensor, new_tokens: int, mode: StepMode
    ) -> None:
        rows, filled = mask.shape
        self.model = model
        self.cache = PreallocatedCache.from_cache(cache, filled + new_tokens)
        self.key_mask = torch.zeros(rows, filled + new_tokens, dtype=torch.bool, device=mask.device)
        self.key_mask[:, :filled] = mask.bool()
        # Positions count valid tokens only, as in the prefill.
        self.positions = mask.long().sum(-1, keepdim=True)
        self.tokens = torch.zeros(rows, 1, dtype=torch.long, device=mask.device)
        self.mode = mode
        self._graph: torch.cuda.CUDAGraph | None = None
        self._graph_logits: torch.Tensor | None = None

    def _forward(self) -> torch.Tensor:
        step = _compiled_step() if self.mode == "compile" else _decode_step
        return step(self.model, self.tokens, self.positions, self.key_mask, self.cache)

    def _run(self) -> torch.Tensor:
        if self.mode != "cuda_graph":
            return self._forward()
        if self._graph is None:
            # Warm-up on a side stream (allocations, lazy init), then capture. The warm-up
            # writes this step's keys and values, which the replay writes again identically.
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(2):
                    self._forward()
            torch.cuda.current_stream().wait_stream(stream)
            self._graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self._graph):
                self._graph_logits = self._forward()
        self._graph.replay()
        assert self._graph_logits is not None
        return self._graph_logits

    def step(self, chosen: torch.Tensor) -> torch.Tensor:
        """Feed the chosen tokens [rows]; returns the next logits [rows, vocab] (a buffer that
        the next step overwrites)."""
        self.tokens.copy_(chosen[:, None])
        self.key_mask.index_fill_(1, self.cache.write_index, True)
        logits = self._run()
        self.positions += 1
        self.cache.write_index += 1
        return logits


def _decode_step(
    model: MossAudioModel,
    tokens: torch.Tensor,
    positions: torch.Tensor,
    key_mask: torch.Tensor,
    cache: PreallocatedCache,
) -> torch.Tensor:
    return model.decode_logits(tokens, positions, key_mask, cache)


_COMPILED: list[Callable[..., torch.Tensor]] = []


def _compiled_step() -> Callable[..., torch.Tensor]:
    """One compiled step function for the process: a model and a set of shapes compile once
    (dynamo guards on them), not once per call."""
    if not _COMPILED:
        _COMPILED.append(torch.compile(_decode_step, dynamic=False))
    return _COMPILED[0]


@torch.no_grad()
def decode_static(
    model: MossAudioModel,
    logits: torch.Tensor,
    cache: Any,
    mask: torch.Tensor,
    pick: Callable[[torch.Tensor], torch.Tensor],
    max_new_tokens: int,
    stop_token_ids: Sequence[int],
    options: DecodeOptions,
    on_token: TokenSink | None = None,
    limits: Sequence[int] | None = None,
) -> list[tuple[list[int], bool]]:
    """Decode from prefilled ``logits`` [rows, vocab], ``cache`` and its 2D ``mask``.

    ``limits`` caps the new tokens per row (each <= ``max_new_tokens``). Returns (token ids
    without the stop token, stopped) per row.
    """
    device = logits.device
    rows = logits.shape[0]
    stops = torch.tensor(sorted(set(stop_token_ids)), dtype=torch.long, device=device)
    out = torch.empty(rows, max_new_tokens, dtype=torch.long, device=device)
    finished = torch.zeros(rows, dtype=torch.bool, device=device)
    stop_at = torch.full((rows,), max_new_tokens, dtype=torch.long, device=device)
    limit = torch.tensor(
        list(limits) if limits is not None else [max_new_tokens] * rows, dtype=torch.long
    ).to(device)
    decoder: StaticDecoder | None = None
    delivered = 0  # steps already handed to on_token
    done = 0
    for step in range(max_new_tokens):
        chosen = pick(logits)
        out[:, step] = chosen
        if len(stops):
            hit = torch.isin(chosen, stops) & ~finished
            stop_at = torch.where(hit, step, stop_at)
            finished |= hit
        done = step + 1
        if limits is not None:
            finished |= limit <= done
        last = done == max_new_tokens
        if last or done % options.sync_every == 0:
            if on_token is not None:
                _deliver(out[:, delivered:done], torch.minimum(stop_at, limit), delivered, on_token)
                delivered = done
            if (len(stops) or limits is not None) and bool(finished.all()):
                break
        if last:
            break
        if decoder is None:
            decoder = StaticDecoder(model, cache, mask, max_new_tokens, options.step)
        logits = decoder.step(chosen)
    tokens = out[:, :done].tolist()
    ends = torch.minimum(stop_at, limit).clamp(max=done).tolist()
    stopped = (stop_at < limit.clamp(max=done)).tolist()
    return [(row[:end], hit) for row, end, hit in zip(tokens, ends, stopped, strict=True)]


def _deliver(chunk: torch.Tensor, stop_at: torch.Tensor, first_step: int, sink: TokenSink) -> None:
    """Stream a chunk of steps in the plain loop's order: step by step, rows in order,
    skipping a row from its stop token on."""
    tokens = chunk.tolist()
    ends = stop_at.tolist()
    for offset in range(chunk.shape[1]):
        step = first_step + offset
        for row, end in enumerate(ends):
            if step < end:
                sink(row, tokens[row][offset])
