"""MOSS-Audio on current transformers: config, model, processor, loading and generation.

from perception.moss import GenerationConfig, MossAudioGenerator, load_moss_audio
model, processor = load_moss_audio("MOSS-Audio-4B-Instruct")
generator = MossAudioGenerator(model, processor)
[result] = generator.generate([waveform_16k], "Describe this audio.", GenerationConfig())
print(result.answer)
"""

# Names resolve on first use (PEP 562): importing the package, e.g. to register the CLI,
# must not pay for torch and transformers.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "MossAudioConfig": "configuration",
    "MossAudioEncoderConfig": "configuration",
    "MossConfigError": "configuration",
    "audio_token_count": "configuration",
    "DecodeOptions": "decoding",
    "GenerationConfig": "generation",
    "GenerationResult": "generation",
    "MossAudioGenerator": "generation",
    "TokenCallback": "generation",
    "MossCheckpointError": "loading",
    "load_moss_audio": "loading",
    "AudioEmbeddings": "modeling",
    "AudioEncoderOutput": "modeling",
    "MossAudioModel": "modeling",
    "AudioFeatures": "processor",
    "AudioInputError": "processor",
    "MossAudioProcessor": "processor",
    "Prompt": "processor",
    "TokenizerMissingError": "processor",
    "audio_placeholder_ids": "processor",
    "split_thinking": "processor",
    "save_moss_audio": "saving",
}

__all__ = [
    "AudioEmbeddings",
    "AudioEncoderOutput",
    "AudioFeatures",
    "AudioInputError",
    "DecodeOptions",
    "GenerationConfig",
    "GenerationResult",
    "MossAudioConfig",
    "MossAudioEncoderConfig",
    "MossAudioGenerator",
    "MossAudioModel",
    "MossAudioProcessor",
    "MossCheckpointError",
    "MossConfigError",
    "Prompt",
    "TokenCallback",
    "TokenizerMissingError",
    "audio_placeholder_ids",
    "audio_token_count",
    "load_moss_audio",
    "save_moss_audio",
    "split_thinking",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'perception.moss' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"perception.moss.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:
    from perception.moss.configuration import (
        MossAudioConfig,
        MossAudioEncoderConfig,
        MossConfigError,
        audio_token_count,
    )
    from perception.moss.decoding import DecodeOptions
    from perception.moss.generation import (
        GenerationConfig,
        GenerationResult,
        MossAudioGenerator,
        TokenCallback,
    )
    from perception.moss.loading import MossCheckpointError, load_moss_audio
    from perception.moss.modeling import AudioEmbeddings, AudioEncoderOutput, MossAudioModel
    from perception.moss.processor import (
        AudioFeatures,
        AudioInputError,
        MossAudioProcessor,
        Prompt,
        TokenizerMissingError,
        audio_placeholder_ids,
        split_thinking,
    )
    from perception.moss.saving import save_moss_audio
