"""The tiny random MOSS-Audio checkpoint of the parity data, and a real tokenizer for it.

The checkpoint ships no tokenizer (its inputs are ids). Text tasks need one, so this
builds a real byte-level BPE tokenizer in Qwen's id layout: the 256 byte symbols at ids
0..255 in GPT-2 order (so the digits "0".."9" are ids 15..24, as the time markers use)
and the chat, audio and think special tokens at their Qwen3 ids. It has no merges, so
every byte is one token: a correct tokenizer, just a small one.
"""

from __future__ import annotations

import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PARITY_CHECKPOINT = REPO_ROOT / ".." / "shared" / "moss_parity" / "checkpoint"

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


def byte_symbols() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values, in vocabulary order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
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
    vocab = {symbol: index for index, symbol in enumerate(byte_symbols())}
    vocab.update(SPECIAL_TOKENS)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tokenizer.save(str(directory / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
    (directory / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory
