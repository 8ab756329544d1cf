"""Content-word embeddings of transcript text, from the static word vectors ``wordllama`` ships.

A segment's vector is the mean of the token vectors of its content words (stop words and
talk fillers dropped), unit length. Static vectors put "budget" near "costs" and "hiring"
near "recruiting", which is what keyword search cannot do, at a few microseconds a
segment, so every segment is embedded once, at ingestion, and stored.

The wheel ships its weights and tokenizer, but its loader looks for the tokenizer under
``tokenizer/`` (the wheel has ``tokenizers/``) and then tries to download; the files are
read here straight from the package folder, so nothing is ever fetched. The package is
not imported either: importing it configures the root logger.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from memory.errors import MemoryStoreError

log = logging.getLogger(__name__)

MODEL_NAME = "wordllama-l2_supercat-256"
DIM = 256
_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Distinct words remembered with their token vectors (ingestion sees the same words again
# and again; a day of speech uses a few thousand).
_WORD_CACHE_SIZE = 100_000

STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "let's",
        "me",
        "more",
        "most",
        "mustn't",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "why",
        "why's",
        "with",
        "won't",
        "would",
        "wouldn't",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "yeah",
        "yes",
        "yep",
        "okay",
        "ok",
        "oh",
        "uh",
        "um",
        "uhm",
        "hmm",
        "ah",
        "er",
        "mm",
        "like",
        "just",
        "really",
        "actually",
        "basically",
        "well",
        "right",
        "sure",
        "gonna",
        "wanna",
        "gotta",
        "kind",
        "sort",
        "thing",
        "things",
        "stuff",
        "lot",
        "lots",
        "also",
        "maybe",
        "anyway",
        "guess",
        "mean",
        "know",
        "think",
        "get",
        "got",
        "go",
        "going",
        "one",
        "ones",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "would",
        "also",
        "still",
        "even",
        "though",
        "let",
        "us",
        "please",
        "thanks",
        "thank",
        "hi",
        "hello",
        "good",
        "great",
        "fine",
    ]
)
# Words of a question that ask rather than name what is asked about.
QUESTION_WORDS = frozenset(
    [
        "say",
        "said",
        "says",
        "saying",
        "tell",
        "told",
        "talk",
        "talked",
        "talking",
        "mention",
        "mentioned",
        "mentions",
        "discuss",
        "discussed",
        "discussing",
        "anything",
        "anyone",
        "anybody",
        "someone",
        "somebody",
        "something",
        "everything",
        "everyone",
        "people",
        "person",
        "happen",
        "happened",
        "happening",
        "part",
        "parts",
        "bit",
    ]
)
# Abbreviations people say that a word vector does not know; expanded on both sides.
ABBREVIATIONS = {
    "qa": "quality assurance testing",
    "hr": "human resources",
    "eta": "expected arrival time",
    "kpi": "performance indicator metric",
    "kpis": "performance indicators metrics",
    "okr": "objectives key results",
    "okrs": "objectives key results",
    "ux": "user experience design",
    "ui": "user interface design",
    "roi": "return on investment",
    "asap": "as soon as possible urgent",
    "eod": "end of day",
    "eow": "end of week",
    "pto": "paid time off vacation",
    "ooo": "out of office vacation",
}


_QUESTION_STOP = STOP_WORDS | QUESTION_WORDS
_ABBREVIATED = frozenset(ABBREVIATIONS)


def content_words(text: str, *, question: bool = False) -> list[str]:
    """Lower-cased words of ``text`` that carry meaning (stop words and fillers dropped).

    ``question=True`` also drops the words a question asks with ("say", "mention", ...)."""
    drop = _QUESTION_STOP if question else STOP_WORDS
    words = [
        w for w in _WORD.findall(text.lower()) if w not in drop and (len(w) > 1 or w.isdigit())
    ]
    if _ABBREVIATED.isdisjoint(words):
        return words
    expanded: list[str] = []
    for word in words:
        expanded += ABBREVIATIONS[word].split() if word in ABBREVIATIONS else [word]
    return expanded


def package_folder() -> Path:
    """The installed ``wordllama`` package folder (found without importing the package)."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise MemoryStoreError(
            "the wordllama package is missing (semantic search needs its word vectors); "
            "install it: pip install wordllama"
        )
    return Path(next(iter(spec.submodule_search_locations)))


class TextEmbedder:
    """Unit-length content-word vectors of texts (``DIM`` floats each)."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, folder: Path | None = None) -> None:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        folder = folder or package_folder()
        weights, tokenizer = folder / _WEIGHTS, folder / _TOKENIZER
        for path in (weights, tokenizer):
            if not path.is_file():
                raise MemoryStoreError(
                    f"the wordllama package has no {path.relative_to(folder)}; reinstall it: "
                    "pip install --force-reinstall wordllama"
                )
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        with safe_open(str(weights), framework="np") as f:
            self._vectors = np.ascontiguousarray(f.get_tensor("embedding.weight"), np.float32)
        self._words: dict[str, tuple[np.ndarray, int]] = {}
        self._lock = threading.Lock()

    def _word_rows(self, words: Sequence[str]) -> list[tuple[np.ndarray, int]]:
        """(sum of token vectors, token count) per distinct word; unseen words are
        tokenized in one batch and remembered."""
        with self._lock:  # one batch at a time: a clear() must not race a lookup
            known = self._words
            missing = [w for w in words if w not in known]
            if len(known) + len(missing) > _WORD_CACHE_SIZE:
                known.clear()
                missing = list(words)
            if missing:
                encoded = self._tokenizer.encode_batch(missing, add_special_tokens=False)
                for word, enc in zip(missing, encoded, strict=True):
                    ids = [i for i in enc.ids if i < len(self._vectors)]
                    known[word] = (self._vectors[ids].sum(axis=0), len(ids))
            return [known[w] for w in words]

    def embed_words(self, word_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """One unit vector per list of content words; all zeros for an empty list.

        Vectorised over the batch: each distinct word's vector once, then one sparse
        (texts x words) product sums them per text."""
        from scipy.sparse import csr_matrix

        out = np.zeros((len(word_lists), self.dim), np.float32)
        index: dict[str, int] = {}
        flat = [index.setdefault(w, len(index)) for words in word_lists for w in words]
        if not flat:
            return out
        rows = self._word_rows(list(index))
        vectors = np.stack([v for v, _ in rows])
        counts = np.array([n for _, n in rows], np.float32)
        indptr = np.concatenate([[0], np.cumsum([len(words) for words in word_lists])])
        uses = csr_matrix(
            (np.ones(len(flat), np.float32), np.array(flat), indptr),
            shape=(len(word_lists), len(index)),
        )
        totals = np.asarray(uses @ vectors, np.float32)
        tokens = uses @ counts
        norms = np.linalg.norm(totals, axis=1)
        ok = (tokens > 0) & (norms > 0)
        out[ok] = totals[ok] / norms[ok, None]
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), DIM)`` float32 unit vectors of the texts' content words."""
        return self.embed_words([content_words(t) for t in texts])

    def embed_query(self, question: str) -> np.ndarray:
        """The vector of what a question asks about (question words dropped too)."""
        return self.embed_words([content_words(question, question=True)])[0]


@cache
def default_embedder() -> TextEmbedder:
    """The process-wide embedder (loaded once, about 0.3 s)."""
    embedder = TextEmbedder()
    log.debug("loaded %s word vectors from %s", MODEL_NAME, package_folder())
    return embedder


def to_blob(vectors: np.ndarray) -> list[bytes]:
    """Rows as stored: float16, little-endian (512 bytes for 256 dims)."""
    return [row.tobytes() for row in np.asarray(vectors, dtype="<f2")]


def from_blobs(blobs: Sequence[bytes], dim: int = DIM) -> np.ndarray:
    """Stored rows back to a float32 matrix (``(len(blobs), dim)``)."""
    if not blobs:
        return np.zeros((0, dim), np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), dim).astype(np.float32)
