"""MOSS-Audio on current transformers: config, model, processor, loading and generation.

from perception.moss import load_moss_audio, GenerationConfig
model, processor = load_moss_audio("MOSS-Audio-4B-Instruct")
[result] = model.generate(processor, [waveform_16k], "Describe this audio.", GenerationConfig())
print(result.answer)
"""

from perception.moss.configuration import (
    MossAudioConfig,
    MossAudioEncoderConfig,
    MossConfigError,
    audio_token_count,
)
from perception.moss.generation import (
    GenerationConfig,
    GenerationResult,
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

__all__ = [
    "AudioEmbeddings",
    "AudioEncoderOutput",
    "AudioFeatures",
    "AudioInputError",
    "GenerationConfig",
    "GenerationResult",
    "MossAudioConfig",
    "MossAudioEncoderConfig",
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
