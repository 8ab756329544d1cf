"""The checkpoint's tokenizer, if it ships one (without it, prompts are token ids)."""

from __future__ import annotations

import logging
from pathlib import Path

from perception.moss.configuration import MossCheckpointError

logger = logging.getLogger(__name__)

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json")


def load_tokenizer(directory: Path) -> object | None:
    """The checkpoint's tokenizer, or None when it ships none (ids-only use)."""
    if not any((directory / name).is_file() for name in TOKENIZER_FILES):
        logger.info(
            "%s has no tokenizer: prompts must be token ids and outputs stay ids", directory
        )
        return None
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(directory))
    except Exception as exc:  # the library raises many kinds for a broken tokenizer
        raise MossCheckpointError(
            f"the tokenizer in {directory} cannot be loaded: {exc}. Fetch the checkpoint again, "
            "or remove the tokenizer files to use token ids only."
        ) from exc
