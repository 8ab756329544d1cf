"""The tiny random MOSS-Audio checkpoint of the parity data, and a real tokenizer for it.

The checkpoint ships no tokenizer (its inputs are ids). Text tasks need one, so this
builds a real byte-level BPE tokenizer in Qwen's id layout: the 256 byte symbols at ids
0..255 in GPT-2 order (so the digits "0".."9" are ids 15..24, as the time markers use)
and the chat, audio and think special tokens at their Qwen3 ids. It has no merges, so
encoding gives one token per byte. Every other id of the vocabulary decodes to a short
string of letters, digits, spaces, newlines and time punctuation, so the random model's
output is real (nonsense) text that flows through decoding, streaming and the parsers.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PARITY_CHECKPOINT = REPO_ROOT / "tests" / "data" / "moss_parity" / "checkpoint"
# The `moss-agent` command, run by this interpreter (``-m agent.cli`` would load the CLI
# module twice, as __main__ and as agent.cli, and its error classes would not match).
MOSS_AGENT = [sys.executable, "-c", "import sys; from agent.cli import main; sys.exit(main())"]

SPECIAL_TOKENS = {
    "<|endoftext|>": 151643,
    "<|im_start|>": 151644,
    "<|im_end|>": 151645,
    "<|AUDIO|>": 151654,
    "<think>": 151667,
    "</think>": 151668,
    "<|audio_bos|>": 151669,
    "<|audio_eos|>": 151670,
}


ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789.:-"
_SPACE, _NEWLINE = "\u0120", "\u010a"  # byte-level symbols of b" " and b"\n"


def byte_symbols() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values, in vocabulary order."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    codes = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def write_byte_tokenizer(directory: Path) -> Path:
    """Write tokenizer.json + tokenizer_config.json into ``directory`` (created)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    directory.mkdir(parents=True, exist_ok=True)
    symbols = byte_symbols()
    vocab = {symbol: index for index, symbol in enumerate(symbols)}
    filler = [symbols[ord(c) - 33] if 33 <= ord(c) <= 126 else None for c in ALPHABET]
    filler = [f for f in filler if f] + [_SPACE, _NEWLINE]
    pieces = itertools.chain(
        itertools.product(filler, repeat=3), itertools.product(filler, repeat=4)
    )
    for token_id, piece in zip(range(256, min(SPECIAL_TOKENS.values())), pieces, strict=False):
        vocab["".join(piece)] = token_id
    vocab.update(SPECIAL_TOKENS)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS]
    )
    tokenizer.save(str(directory / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory
