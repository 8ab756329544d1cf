"""MOSS-Audio as one readable module: attribute names are the checkpoint keys.

    audio_encoder.*                 conv stem + Whisper-style encoder (ours)
    audio_adapter.*                 gated MLP, encoder width -> LM width (ours)
    deepstack_audio_merger_list.K.* gated MLPs for the DeepStack taps (ours)
    language_model.*                transformers.Qwen3Model (embed_tokens, layers, norm)
    lm_head.weight                  untied output projection

The forward pass: the encoder turns mel frames into audio tokens (and taps some of its
layers), the adapter maps them into the LM embedding space where they replace the audio
placeholder tokens, and after LM decoder layer k the k-th DeepStack merger output is added
at the same positions. Only the prefill sees audio; decode steps use the KV cache.

Batches: every row of a batch computes what it would compute alone. The conv stem zeroes
activations past each input's valid length between convs (as the single run's zero padding
does), the encoder masks padded keys, and the LM takes a 2D mask whose padding may sit
anywhere (left padding, or between a shared prefix and a task's question); positions are
counted over valid tokens only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from transformers import DynamicCache, Qwen3Model

from perception.moss.compat import causal_mask, layer_cache_kwargs
from perception.moss.configuration import (
    MossAudioConfig,
    MossAudioEncoderConfig,
    conv_output_length,
)


def sinusoidal_positions(length: int, channels: int, device: torch.device) -> torch.Tensor:
    """Whisper's sinusoids: concat(sin(p * inv), cos(p * inv)), computed in float32."""
    log_timescale_increment = math.log(10000) / (channels // 2 - 1)
    inv_timescales = torch.exp(
        -log_timescale_increment * torch.arange(channels // 2, device=device)
    )
    scaled_time = torch.arange(length, device=device)[:, None] * inv_timescales[None, :]
    return torch.cat([torch.sin(scaled_time), torch.cos(scaled_time)], dim=1)


@dataclass
class AudioEncoderOutput:
    """Encoder output for a batch; rows are padded to the longest valid length."""

    last_hidden_state: torch.Tensor  # [B, T', output_dim], after the final norm
    deepstack_hidden_states: list[torch.Tensor]  # each [B, T', d_model], before the final norm
    lengths: torch.Tensor  # [B] valid audio tokens per row


@dataclass
class AudioEmbeddings:
    """What the language model consumes: adapter and merger outputs of the valid tokens only.

    Rows of the batch are concatenated in order, so they fill the audio placeholders of the
    prompt rows in order.
    """

    embeds: torch.Tensor  # [N, hidden]
    deepstack: list[torch.Tensor]  # K tensors [N, hidden]
    lengths: torch.Tensor  # [B]

    def select(self, rows: list[int]) -> AudioEmbeddings:
        """The embeddings of some rows (in the given order, repeats allowed)."""
        offsets = torch.cumsum(self.lengths, 0) - self.lengths
        index = torch.cat(
            [
                torch.arange(
                    int(offsets[r]), int(offsets[r] + self.lengths[r]), device=self.embeds.device
                )
                for r in rows
            ]
        )
        return AudioEmbeddings(
            embeds=self.embeds.index_select(0, index),
            deepstack=[d.index_select(0, index) for d in self.deepstack],
            lengths=self.lengths[rows],
        )


class MossAudioAttention(nn.Module):
    """Whisper encoder self-attention: q/v/out with bias, k without; padded keys masked."""

    def __init__(self, config: MossAudioEncoderConfig) -> None:
        super().__init__()
        self.num_heads = config.encoder_attention_heads
        self.head_dim = config.head_dim
        self.q_proj = nn.Linear(config.d_model, config.d_model, bias=True)
        self.k_proj = nn.Linear(config.d_model, config.d_model, bias=False)
        self.v_proj = nn.Linear(config.d_model, config.d_model, bias=True)
        self.out_proj = nn.Linear(config.d_model, config.d_model, bias=True)

    def forward(self, hidden_states: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        batch, length, _ = hidden_states.shape
        shape = (batch, length, self.num_heads, self.head_dim)
        query = self.q_proj(hidden_states).view(shape).transpose(1, 2)
        key = self.k_proj(hidden_states).view(shape).transpose(1, 2)
        value = self.v_proj(hidden_states).view(shape).transpose(1, 2)
        out = F.scaled_dot_product_attention(
            query, key, value, attn_mask=key_mask, scale=self.head_dim**-0.5
        )
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, -1))


class MossAudioEncoderLayer(nn.Module):
    """Pre-norm Whisper encoder layer."""

    def __init__(self, config: MossAudioEncoderConfig) -> None:
        super().__init__()
        self.self_attn = MossAudioAttention(config)
        self.self_attn_layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.fc1 = nn.Linear(config.d_model, config.encoder_ffn_dim)
        self.fc2 = nn.Linear(config.encoder_ffn_dim, config.d_model)
        self.final_layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        hidden_states = hidden_states + self.self_attn(
            self.self_attn_layer_norm(hidden_states), key_mask
        )
        return hidden_states + self.fc2(F.gelu(self.fc1(self.final_layer_norm(hidden_states))))


class MossAudioEncoder(nn.Module):
    """Conv stem (mel image -> tokens at 12.5 per second) and the encoder layers."""

    def __init__(self, config: MossAudioEncoderConfig) -> None:
        super().__init__()
        self.config = config
        channels = config.downsample_hidden_size
        self.conv1 = nn.Conv2d(1, channels, kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=1)
        self.stem_proj = nn.Linear(channels * config.stem_frequency_bins, config.d_model)
        self.layers = nn.ModuleList(
            MossAudioEncoderLayer(config) for _ in range(config.encoder_layers)
        )
        self.layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        # Released checkpoints have output_dim == d_model: no projection, no key in the file.
        self.out_proj = (
            nn.Linear(config.d_model, config.output_dim, bias=False)
            if config.output_dim != config.d_model
            else None
        )

    def _stem(
        self, mel: torch.Tensor, mel_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, mels, T] -> [B, T', C * 16]; activations past each row's valid length are zeroed
        before the next conv, so a padded row sees the zeros its single run's padding gives."""
        hidden = mel.unsqueeze(1)
        lengths = mel_lengths
        for conv in (self.conv1, self.conv2, self.conv3):
            hidden = F.gelu(conv(hidden))
            lengths = cast(torch.Tensor, conv_output_length(lengths))
            valid = torch.arange(hidden.shape[-1], device=hidden.device)[None, :] < lengths[:, None]
            hidden = hidden * valid[:, None, None, :].to(hidden.dtype)
        batch, channels, bins, frames = hidden.shape
        # [B, C, F, T'] -> [B, T', C, F] -> [B, T', C * F]  (index c * F + f)
        hidden = hidden.permute(0, 3, 1, 2).reshape(batch, frames, channels * bins)
        return hidden, lengths

    def forward(self, mel: torch.Tensor, mel_lengths: torch.Tensor) -> AudioEncoderOutput:
        """Zero-padded mel [B, mels, T] (any dtype: cast to the encoder's) and frame counts [B]."""
        weight = self.conv1.weight
        mel = mel.to(device=weight.device, dtype=weight.dtype)
        hidden, lengths = self._stem(mel, mel_lengths.to(weight.device))
        longest = int(lengths.max())
        if longest > self.config.max_source_positions:
            raise ValueError(
                f"audio of {longest} tokens exceeds the encoder's {self.config.max_source_positions} "
                f"positions ({self.config.max_source_positions / 12.5:.0f} s): cut it into shorter windows"
            )
        hidden = self.stem_proj(hidden[:, :longest])
        positions = sinusoidal_positions(longest, self.config.d_model, hidden.device)
        hidden = hidden + positions.to(hidden.dtype)

        valid = torch.arange(longest, device=hidden.device)[None, :] < lengths[:, None]
        key_mask = None if bool(valid.all()) else valid[:, None, None, :]
        taps: dict[int, torch.Tensor] = {}
        wanted = set(self.config.deepstack_encoder_layer_indexes)
        for index, layer in enumerate(self.layers):
            hidden = layer(hidden, key_mask)
            if index in wanted:
                taps[index] = hidden
        hidden = self.layer_norm(hidden)
        if self.out_proj is not None:
            hidden = self.out_proj(hidden)
        return AudioEncoderOutput(
            last_hidden_state=hidden,
            deepstack_hidden_states=[taps[i] for i in self.config.deepstack_encoder_layer_indexes],
            lengths=lengths,
        )


class MossAudioAdapter(nn.Module):
    """Gated MLP without biases: down_proj(silu(gate_proj(x)) * up_proj(x))."""

    def __init__(self, in_features: int, hidden_features: int, out_features: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(in_features, hidden_features, bias=False)
        self.up_proj = nn.Linear(in_features, hidden_features, bias=False)
        self.down_proj = nn.Linear(hidden_features, out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


@dataclass
class MossAudioForwardOutput:
    logits: torch.Tensor | None  # [B, kept positions, vocab]; None when not asked for
    cache: DynamicCache | None
    attention_mask: torch.Tensor  # [B, past + new] 2D mask over everything the cache holds


class MossAudioModel(nn.Module):
    """The MOSS-Audio model. Generation lives in ``perception.moss.generation.MossAudioGenerator``,
    which holds a model and its processor."""

    def __init__(self, config: MossAudioConfig) -> None:
        super().__init__()
        self.config = config
        audio = config.audio_config
        self.audio_encoder = MossAudioEncoder(audio)
        self.audio_adapter = MossAudioAdapter(
            audio.output_dim, config.adapter_hidden_size, config.hidden_size
        )
        self.deepstack_audio_merger_list = nn.ModuleList(
            MossAudioAdapter(audio.output_dim, config.adapter_hidden_size, config.hidden_size)
            for _ in range(config.num_deepstack_layers)
        )
        self.language_model = Qwen3Model(config.language_config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    @property
    def device(self) -> torch.device:
        return self.lm_head.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.lm_head.weight.dtype

    def project_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """``lm_head`` over the vocabulary. For a few rows on CPU, ``W @ h.T`` takes the
        matrix-vector kernels, several times faster there than ``F.linear``'s choice for
        2-16 rows against a 150k x H weight (the same numbers up to summation order)."""
        rows = hidden.shape[:-1].numel()
        if hidden.device.type != "cpu" or rows > 16:
            return self.lm_head(hidden)
        flat = hidden.reshape(rows, hidden.shape[-1])
        return torch.matmul(self.lm_head.weight, flat.T).T.reshape(*hidden.shape[:-1], -1)

    # ---------------------------------------------------------------- audio side
    def encode_audio(self, mel: torch.Tensor, mel_lengths: torch.Tensor) -> AudioEmbeddings:
        """Mel batch [B, mels, T] (zero padded) -> adapter and merger outputs of the valid tokens."""
        encoded = self.audio_encoder(mel, mel_lengths)
        valid = (
            torch.arange(encoded.last_hidden_state.shape[1], device=self.device)[None, :]
            < encoded.lengths[:, None]
        )
        embeds = self.audio_adapter(encoded.last_hidden_state[valid])
        deepstack = [
            merger(tap[valid])
            for merger, tap in zip(
                self.deepstack_audio_merger_list, encoded.deepstack_hidden_states, strict=False
            )
        ]
        return AudioEmbeddings(embeds=embeds, deepstack=deepstack, lengths=encoded.lengths)

    # ---------------------------------------------------------------- language side
    def _attention_mask(
        self,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        cache: DynamicCache | None,
        past: int,
    ) -> torch.Tensor | None:
        """Mask for the decoder layers. For SDPA we build it ourselves so that padding query
        rows still attend to themselves (a fully masked row would turn into NaN)."""
        lm_config = self.config.language_config
        if lm_config._attn_implementation != "sdpa":
            return causal_mask(lm_config, inputs_embeds, attention_mask, cache, past)
        new = inputs_embeds.shape[1]
        total = attention_mask.shape[1]
        query_pos = torch.arange(total - new, total, device=inputs_embeds.device)[:, None]
        key_pos = torch.arange(total, device=inputs_embeds.device)[None, :]
        causal = key_pos <= query_pos  # [new, total]
        allowed = causal[None] & attention_mask.bool()[:, None, :]
        allowed = allowed | (key_pos == query_pos)[None]
        return allowed[:, None]  # [B, 1, new, total]

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        audio: AudioEmbeddings | None = None,
        cache: DynamicCache | None = None,
        use_cache: bool = False,
        logits_to_keep: int = 0,
        compute_logits: bool = True,
    ) -> MossAudioForwardOutput:
        """One LM pass over ``input_ids`` [B, L].

        ``attention_mask`` covers the cached tokens plus the new ones ([B, past + L]); zeros
        mark padding anywhere. ``audio`` fills the placeholder positions (in row order).
        ``logits_to_keep`` > 0 computes logits for the last positions only;
        ``compute_logits=False`` skips them (a prefill that only fills the cache).
        """
        device = self.device
        input_ids = input_ids.to(device)
        batch, new = input_ids.shape
        past = cache.get_seq_length() if cache is not None else 0
        if attention_mask is None:
            attention_mask = torch.ones(batch, past + new, dtype=torch.long, device=device)
        attention_mask = attention_mask.to(device)
        if attention_mask.shape != (batch, past + new):
            raise ValueError(
                f"attention_mask has shape {tuple(attention_mask.shape)}, expected {(batch, past + new)}"
            )
        if use_cache and cache is None:
            cache = DynamicCache(config=self.config.language_config)

        hidden = self.language_model.embed_tokens(input_ids)
        audio_positions = input_ids == self.config.audio_token_id
        n_placeholders = int(audio_positions.sum())
        if audio is not None:
            if n_placeholders != audio.embeds.shape[0]:
                raise ValueError(
                    f"the prompt has {n_placeholders} audio placeholders but the audio gives "
                    f"{audio.embeds.shape[0]} tokens: build the prompt with the audio's token count"
                )
            hidden = hidden.masked_scatter(
                audio_positions[..., None], audio.embeds.to(hidden.dtype)
            )
        elif n_placeholders:
            raise ValueError("the prompt has audio placeholders but no audio was given")

        # Positions count valid tokens only, so padding never shifts a row's RoPE phases.
        position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, past:]
        position_embeddings = self.language_model.rotary_emb(hidden, position_ids)
        mask = self._attention_mask(hidden, attention_mask, cache, past)

        deepstack = audio.deepstack if audio is not None else []
        for index, layer in enumerate(self.language_model.layers):
            hidden = layer(
                hidden,
                attention_mask=mask,
                position_ids=position_ids,
                use_cache=use_cache,
                position_embeddings=position_embeddings,
                **layer_cache_kwargs(cache),
            )
            if index < len(deepstack):
                hidden = hidden.masked_scatter(
                    audio_positions[..., None],
                    hidden[audio_positions] + deepstack[index].to(hidden.dtype),
                )
        logits = None
        if compute_logits:
            if logits_to_keep:
                hidden = hidden[:, -logits_to_keep:]
            logits = self.project_logits(self.language_model.norm(hidden))
        return MossAudioForwardOutput(
            logits=logits,
            cache=cache if use_cache else None,
            attention_mask=attention_mask,
        )

    def decode_logits(
        self,
        token_ids: torch.Tensor,
        position_ids: torch.Tensor,
        key_mask: torch.Tensor,
        cache: object,
    ) -> torch.Tensor:
        """One decode step with fixed shapes and no host synchronisation (no audio, no checks),
        for static caches, ``torch.compile`` and CUDA graphs: ``token_ids`` and ``position_ids``
        [B, 1], ``key_mask`` [B, cache length] (True where a key is valid, the new token's slot
        included). Returns logits [B, vocab]."""
        hidden = self.language_model.embed_tokens(token_ids)
        position_embeddings = self.language_model.rotary_emb(hidden, position_ids)
        mask = key_mask[:, None, None, :]
        for layer in self.language_model.layers:
            hidden = layer(
                hidden,
                attention_mask=mask,
                position_ids=position_ids,
                use_cache=True,
                position_embeddings=position_embeddings,
                **layer_cache_kwargs(cache),
            )
        return self.project_logits(self.language_model.norm(hidden))[:, -1]
