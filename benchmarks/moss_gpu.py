"""MOSS-Audio on a GPU: correctness on the device, throughput at the released shapes, serving.

Part 1 (correctness): the tiny parity checkpoint of tests/data/moss_parity on the device in
float32 against the expected values with the CPU tests' tolerances, in bfloat16 within a
stated bound, a batch of two different-length inputs against each alone, cached greedy
against recomputation, SDPA against flash-attn 2 (when installed), and every decode option
against the plain loop.
Part 2 (throughput): random weights at the released 4B shapes (8B too when time allows),
bfloat16, one hour of audio as 120 windows of 30 s, three tasks per window with prefix
reuse, fixed decode lengths (random weights never stop), windows batched at several sizes;
per phase times, decode tokens/s, wall time for the hour, real-time factor, peak memory,
and one window alone (latency). Each decode variant runs side by side.
Part 3 (serving, ``--serve``): ``moss-agent serve``'s server over the random 4B model with
concurrent clients sending windows; windows/s, latency percentiles, batch sizes formed.
Parts 1 and 2 import only what perception/moss needs (torch, transformers, safetensors,
numpy); part 3 imports the server.

    benchmarks/moss_gpu.sh [--quick] [--serve] [--out DIR] [--wheels DIR]
    python benchmarks/moss_gpu.py --device cpu --tiny --out /tmp/moss_gpu   # CPU smoke run

A table goes to stdout and everything to DIR/moss_gpu.json. Exit code 0 when every
correctness check passed, 1 when one failed, 3 when the environment cannot run it.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import math
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PARITY = REPO / "tests" / "data" / "moss_parity"
# Top-level packages parts 1 and 2 must not load: speech/CPU backends, databases, web.
FORBIDDEN_MODULES = (
    "faster_whisper", "ctranslate2", "sqlalchemy", "alembic", "psycopg", "psycopg2", "aiohttp",
    "httpx", "aiortc", "livekit", "textual", "aiomqtt", "pydantic", "webrtcvad", "resemblyzer",
    "memory", "tools", "agent", "tui",
)  # fmt: skip
WINDOW_SECONDS = 30.0
SAMPLE_RATE = 16_000
# Three task prompts (transcript, voice traits, sound timeline) as ids of realistic lengths:
# the random models have no tokenizer.
TASK_PROMPTS = [list(range(1000, 1020)), list(range(2000, 2060)), list(range(3000, 3040))]
DECODE_LENGTHS = (160, 96, 64)  # new tokens per task, stop tokens ignored
# bfloat16 keeps 8 significant bits (relative rounding 2^-9 per operation); through the
# encoder and LM layers the measured error on the tiny checkpoint is ~1 % of the largest
# value (CPU: logits 0.023 of 2.2, hidden 0.035 of 4.0). The bound allows 5 %, and the
# greedy argmax must agree at >= 90 % of the prompt positions (CPU: 96.6 %).
BF16_RELATIVE_BOUND = 0.05
BF16_ARGMAX_AGREEMENT = 0.90


def log(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- environment


def versions() -> dict[str, Any]:
    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "transformers": version("transformers"),
        "safetensors": version("safetensors"),
        "numpy": np.__version__,
        "flash_attn": version("flash-attn") or version("flash_attn"),
    }
    return info


def check_environment(info: dict[str, Any]) -> str | None:
    """None when perception.moss can run here, else what to do."""
    try:
        from perception.moss import compat
    except Exception as exc:  # an old transformers fails in many ways on import
        return (
            f"transformers {info['transformers']} cannot run perception/moss ({exc}); "
            "rerun benchmarks/moss_gpu.sh --wheels DIR with transformers 5.x wheels in DIR"
        )
    if not compat.transformers_supported(info["transformers"] or "0"):
        low = ".".join(map(str, compat.MIN_TRANSFORMERS))
        high = ".".join(map(str, compat.MAX_TRANSFORMERS_EXCLUSIVE))
        return (
            f"transformers {info['transformers']} is outside the tested range >={low},<{high}; "
            "rerun benchmarks/moss_gpu.sh --wheels DIR with transformers 5.x wheels in DIR"
        )
    return None


def forbidden_loaded() -> list[str]:
    return sorted({name.split(".")[0] for name in sys.modules} & set(FORBIDDEN_MODULES))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_gb(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**30


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


# --------------------------------------------------------------------------- part 1


@dataclass
class Check:
    name: str
    value: str
    bound: str
    passed: bool | None  # None: informational, or skipped
    note: str = ""


def bf16_step(values: torch.Tensor) -> torch.Tensor:
    """Distance between neighbouring bfloat16 numbers around each value."""
    exponent = torch.floor(torch.log2(values.abs().clamp(min=1e-30)))
    return torch.pow(2.0, exponent - 7)


def decode_variants(device: torch.device, compile_step: bool) -> dict[str, Any]:
    """Name -> DecodeOptions (None: the plain loop) available on this device."""
    from perception.moss import DecodeOptions

    variants: dict[str, Any] = {
        "plain": None,
        "static": DecodeOptions(static_cache=True),
        "static+sync16": DecodeOptions(static_cache=True, sync_every=16),
    }
    if device.type == "cuda":
        variants["static+cuda_graph+sync16"] = DecodeOptions(
            static_cache=True, step="cuda_graph", sync_every=16
        )
    if compile_step:
        variants["static+compile+sync16"] = DecodeOptions(
            static_cache=True, step="compile", sync_every=16
        )
    return variants


class Part1:
    """Correctness on the device, with the parity vectors of tests/data/moss_parity."""

    def __init__(self, device: torch.device, compile_step: bool) -> None:
        from safetensors.torch import load_file

        self.device = device
        self.compile_step = compile_step
        self.meta = json.loads((PARITY / "expected.json").read_text(encoding="utf-8"))
        self.tensors = load_file(str(PARITY / "expected.safetensors"))
        self.tol = self.meta["tolerances"]
        self.checks: list[Check] = []

    def check(
        self, name: str, value: float | str, bound: str, passed: bool | None, note: str = ""
    ) -> None:
        shown = f"{value:.3g}" if isinstance(value, float) else str(value)
        self.checks.append(Check(name, shown, bound, passed, note))
        status = {True: "PASS", False: "FAIL", None: "info"}[passed]
        log(f"  [{status}] {name}: {shown} (bound {bound}){' - ' + note if note else ''}")

    def load(self, dtype: str, attention: str = "sdpa") -> tuple[Any, Any]:
        from perception.moss import load_moss_audio

        return load_moss_audio(
            PARITY / "checkpoint", dtype=dtype, device=self.device, attn_implementation=attention
        )

    @torch.no_grad()
    def forward(self, model: Any) -> tuple[Any, torch.Tensor]:
        mel = self.tensors["mel"][None].to(self.device)
        lengths = torch.tensor([mel.shape[-1]], device=self.device)
        encoded = model.audio_encoder(mel, lengths)
        audio = model.encode_audio(mel, lengths)
        ids = torch.tensor([self.meta["input_ids"]], device=self.device)
        logits = model(ids, audio=audio).logits[0].float().cpu()
        return encoded, logits

    def run(self) -> list[Check]:
        # Full float32 on the device: no TF32 in matmuls or convolutions.
        saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        try:
            self.guard("mel features", self.features)
            model, processor = self.load("float32")
            self.guard("fp32 against the vectors", lambda: self.float32(model))
            self.guard("batch of 2 lengths", lambda: self.batch_equals_alone(model, processor))
            self.guard("cached greedy", lambda: self.cached_equals_uncached(model, processor))
            self.guard("decode options", lambda: self.decode_options(model, processor))
            model = processor = None  # free the float32 model before the bf16 ones
            free(self.device)
            self.guard("bf16", self.bfloat16)
            self.guard("SDPA vs flash-attn 2", self.flash_attention)
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
        return self.checks

    def guard(self, name: str, run: Callable[[], None]) -> None:
        """Run a group of checks; an exception fails that group and the run goes on."""
        try:
            run()
        except Exception as exc:
            traceback.print_exc()
            self.check(name, f"error {type(exc).__name__}: {exc}"[:400], "no error", False)
            free(self.device)

    def features(self) -> None:
        from perception.moss import MossAudioProcessor

        processor = MossAudioProcessor()
        waveform = self.tensors["waveform"].numpy()
        expected = self.tensors["mel_fp32"]
        reference = processor.features(waveform)  # numpy path, the reference's
        diff = (reference.mel_fp32 - expected).abs().max().item()
        self.check(
            "mel fp32 (numpy path)", diff, f"<= {self.tol['mel_abs']}", diff <= self.tol["mel_abs"]
        )
        on_device = processor.features(waveform, device=self.device)
        diff = (on_device.mel_fp32.cpu() - expected).abs().max().item()
        self.check(
            f"mel fp32 ({self.device.type} path)", diff, f"<= {self.tol['mel_abs']}",
            diff <= self.tol["mel_abs"],
            "torch.stft path" if self.device.type != "cpu" else "the numpy path on a CPU",
        )  # fmt: skip
        expected_bf16 = self.tensors["mel"]
        within = (on_device.mel.float().cpu() - expected_bf16).abs() <= bf16_step(expected_bf16)
        self.check(
            f"mel bf16 ({self.device.type} path)", f"{within.float().mean().item():.4%} within",
            "one bf16 step everywhere", bool(within.all()),
        )  # fmt: skip

    def float32(self, model: Any) -> None:
        from perception.moss.generation import GenerationConfig, generate_from_prompts

        encoded, logits = self.forward(model)
        hidden = encoded.last_hidden_state[0].cpu() - self.tensors["encoder_last_hidden_state"]
        diff = hidden.abs().max().item()
        self.check(
            "fp32 encoder last hidden",
            diff,
            f"<= {self.tol['hidden_abs']}",
            diff <= self.tol["hidden_abs"],
        )
        worst = max(
            (tap[0].cpu() - self.tensors[f"encoder_deepstack_{i}"]).abs().max().item()
            for i, tap in enumerate(encoded.deepstack_hidden_states)
        )
        self.check(
            "fp32 deepstack taps",
            worst,
            f"<= {self.tol['hidden_abs']}",
            worst <= self.tol["hidden_abs"],
        )
        diff = (logits[-1] - self.tensors["logits_last"]).abs().max().item()
        self.check(
            "fp32 logits last", diff, f"<= {self.tol['logits_abs']}", diff <= self.tol["logits_abs"]
        )
        ids = torch.tensor(self.meta["input_ids"])
        span = logits[ids == self.meta["audio_token_id"]].mean(dim=0)
        diff = (span - self.tensors["logits_audio_span_mean"]).abs().max().item()
        self.check(
            "fp32 logits audio span mean",
            diff,
            f"<= {self.tol['logits_abs']}",
            diff <= self.tol["logits_abs"],
        )
        sampled = logits[:, self.tensors["logits_sampled_vocab"]]
        diff = (sampled - self.tensors["logits_sampled"]).abs().max().item()
        self.check(
            "fp32 logits sampled",
            diff,
            f"<= {self.tol['logits_abs']}",
            diff <= self.tol["logits_abs"],
        )
        same = torch.equal(logits.argmax(dim=-1), self.tensors["logits_argmax"])
        self.check("fp32 argmax at every position", "equal" if same else "differs", "equal", same)

        mel = self.tensors["mel"][None].to(self.device)
        with torch.no_grad():
            audio = model.encode_audio(mel, torch.tensor([mel.shape[-1]], device=self.device))
        prompt = self.meta["input_ids"]
        cut = prompt.index(self.meta["audio_end_id"]) + 2
        for name, options in decode_variants(self.device, self.compile_step).items():

            def greedy(name: str = name, options: Any = options) -> None:
                [(tokens, _)] = generate_from_prompts(
                    model, audio, [prompt[:cut]], [(0, prompt[cut:])],
                    GenerationConfig(max_new_tokens=16), [151645], options=options,
                )  # fmt: skip
                same = tokens == self.meta["greedy_new_tokens"]
                shown = "equal" if same else f"{tokens}"
                self.check(f"fp32 16 greedy tokens ({name})", shown, "equal", same)

            self.guard(f"fp32 16 greedy tokens ({name})", greedy)

    def waves(self) -> list[np.ndarray]:
        waveform = self.tensors["waveform"].numpy()
        return [waveform[: int(3.3 * SAMPLE_RATE)], waveform[int(1.0 * SAMPLE_RATE) :]]

    def batch_equals_alone(self, model: Any, processor: Any) -> None:
        from perception.moss import GenerationConfig, MossAudioGenerator
        from perception.moss.generation import prefill

        generator = MossAudioGenerator(model, processor)
        waves = self.waves()
        questions = [[8102, 2610, 17546], [4258, 12, 99, 1000]]
        config = GenerationConfig(max_new_tokens=10)
        batched = generator.generate(waves, questions, config)
        worst = 0.0
        with torch.no_grad():
            audio = generator.encode(waves)
            prefixes, tasks, _ = generator.prompts(audio.lengths.tolist(), [[q] for q in questions])
            together = prefill(model, audio, prefixes, tasks, 151645).logits.float()
        for row, (wave, question) in enumerate(zip(waves, questions, strict=True)):
            [alone] = generator.generate([wave], [question], config)
            same = alone.token_ids == batched[row].token_ids
            self.check(
                f"batch of 2 lengths: row {row} tokens equal alone",
                "equal" if same else "differs",
                "equal",
                same,
            )
            with torch.no_grad():
                single = generator.encode([wave])
                prefixes, tasks, _ = generator.prompts(single.lengths.tolist(), [[question]])
                logits = prefill(model, single, prefixes, tasks, 151645).logits.float()
            worst = max(worst, (logits[0] - together[row]).abs().max().item())
        self.check(
            "batch of 2 lengths: prefill logits vs alone",
            worst,
            f"<= {self.tol['logits_abs']}",
            worst <= self.tol["logits_abs"],
        )

    def cached_equals_uncached(self, model: Any, processor: Any) -> None:
        from perception.moss import GenerationConfig, MossAudioGenerator

        generator = MossAudioGenerator(model, processor)
        wave = self.waves()[0]
        question = [8102, 2610, 17546]
        [result] = generator.generate([wave], [question], GenerationConfig(max_new_tokens=10))
        recomputed: list[int] = []
        with torch.no_grad():
            audio = generator.encode([wave])
            ids = processor.build_prompt(question, int(audio.lengths[0]))
            for _ in range(10):
                logits = model(torch.tensor([ids + recomputed]), audio=audio).logits[0, -1]
                recomputed.append(int(logits.argmax()))
        same = recomputed == result.token_ids
        self.check(
            "cached greedy = recomputed without cache (10 tokens)",
            "equal" if same else "differs",
            "equal",
            same,
        )

    def decode_options(self, model: Any, processor: Any) -> None:
        """Every decode option against the plain loop: 2 windows x 3 tasks, with one row
        stopping early, streamed tokens included."""
        from perception.moss import GenerationConfig, MossAudioGenerator

        waves = self.waves()
        tasks = [[[8102, 2610, 17546], [4258, 12, 99, 1000, 77, 5], [31]]] * 2

        def run(options: Any, config: Any) -> tuple[list[Any], list[tuple[int, int]]]:
            streamed: list[tuple[int, int]] = []
            nested = MossAudioGenerator(model, processor, options).generate_tasks_batch(
                waves, tasks, config, on_token=lambda r, t: streamed.append((r, t))
            )
            return [[(r.token_ids, r.finish_reason) for r in rows] for rows in nested], streamed

        free_run, _ = run(None, GenerationConfig(max_new_tokens=12))
        first = free_run[0][0][0]
        cut = next((i for i in range(1, len(first)) if first[i] not in first[:i]), 1)
        config = GenerationConfig(max_new_tokens=12, stop_token_ids=(first[cut], 151645))
        reference = run(None, config)
        for name, options in decode_variants(self.device, self.compile_step).items():
            if options is None:
                continue
            label = f"fp32 decode option {name} = plain (tokens, stops, stream)"

            def compare(label: str = label, options: Any = options) -> None:
                same = run(options, config) == reference
                self.check(label, "equal" if same else "differs", "equal", same)

            self.guard(label, compare)

    def bfloat16(self) -> None:
        model, _ = self.load("bfloat16")
        encoded, logits = self.forward(model)
        self.bf16_against(
            "bf16 logits last vs fp32 expected", logits[-1], self.tensors["logits_last"]
        )
        self.bf16_against(
            "bf16 encoder hidden vs fp32 expected",
            encoded.last_hidden_state[0].float().cpu(),
            self.tensors["encoder_last_hidden_state"],
        )
        agree = (logits.argmax(dim=-1) == self.tensors["logits_argmax"]).float().mean().item()
        self.check(
            "bf16 argmax agreement over prompt positions", agree,
            f">= {BF16_ARGMAX_AGREEMENT}", agree >= BF16_ARGMAX_AGREEMENT,
        )  # fmt: skip
        del model
        free(self.device)

    def bf16_against(self, name: str, value: torch.Tensor, expected: torch.Tensor) -> None:
        scale = expected.abs().max().item()
        diff = (value - expected).abs().max().item()
        bound = BF16_RELATIVE_BOUND * scale
        self.check(name, diff, f"<= {bound:.3g} (5% of max |x| {scale:.3g})", diff <= bound)

    def flash_attention(self) -> None:
        import importlib.util

        if self.device.type != "cuda" or importlib.util.find_spec("flash_attn") is None:
            self.check("SDPA vs flash-attn 2", "skipped", "-", None, "needs CUDA and flash-attn")
            return
        sdpa, _ = self.load("bfloat16", "sdpa")
        _, sdpa_logits = self.forward(sdpa)
        del sdpa
        flash, _ = self.load("bfloat16", "flash_attention_2")
        _, flash_logits = self.forward(flash)
        del flash
        free(self.device)
        self.bf16_against(
            "flash-attn 2 vs SDPA logits last (bf16)", flash_logits[-1], sdpa_logits[-1]
        )
        agree = (flash_logits.argmax(-1) == sdpa_logits.argmax(-1)).float().mean().item()
        self.check(
            "flash-attn 2 vs SDPA argmax agreement", agree, f">= {BF16_ARGMAX_AGREEMENT}",
            agree >= BF16_ARGMAX_AGREEMENT,
        )  # fmt: skip


# --------------------------------------------------------------------------- part 2


def released_config(size: str) -> Any:
    """The released MOSS-Audio shapes (4B: Qwen3-4B; 8B: Qwen3-8B), SDPA attention."""
    from transformers import Qwen3Config

    from perception.moss import MossAudioConfig, MossAudioEncoderConfig

    lm = {
        "4b": {"hidden_size": 2560, "intermediate_size": 9728},
        "8b": {"hidden_size": 4096, "intermediate_size": 12288},
    }[size]
    language = Qwen3Config(
        vocab_size=151936, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
        head_dim=128, max_position_embeddings=40960, rope_theta=1000000.0, rms_norm_eps=1e-6,
        tie_word_embeddings=False, **lm,
    )  # fmt: skip
    audio = MossAudioEncoderConfig(
        d_model=1280, encoder_layers=32, encoder_attention_heads=20, encoder_ffn_dim=5120,
        downsample_hidden_size=480, output_dim=1280, deepstack_encoder_layer_indexes=[8, 16, 24],
    )  # fmt: skip
    config = MossAudioConfig(audio_config=audio, language_config=language, adapter_hidden_size=8192)
    config.language_config._attn_implementation = "sdpa"
    return config


def tiny_config() -> Any:
    """The same code path at toy shapes (CPU smoke run)."""
    from transformers import Qwen3Config

    from perception.moss import MossAudioConfig, MossAudioEncoderConfig

    language = Qwen3Config(
        vocab_size=151936, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=4096,
        rope_theta=1000000.0, tie_word_embeddings=False,
    )  # fmt: skip
    audio = MossAudioEncoderConfig(
        d_model=32, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=64,
        downsample_hidden_size=8, output_dim=32, deepstack_encoder_layer_indexes=[0, 1],
    )  # fmt: skip
    config = MossAudioConfig(audio_config=audio, language_config=language, adapter_hidden_size=48)
    config.language_config._attn_implementation = "sdpa"
    return config


def random_model(config: Any, device: torch.device, dtype: torch.dtype) -> Any:
    """Random weights built on the device (no checkpoint), in ``dtype``, eval mode."""
    from transformers.models.qwen3.modeling_qwen3 import Qwen3RotaryEmbedding

    from perception.moss import MossAudioModel

    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # build in the target dtype: no float32 copy of 4-8 B weights
    try:
        with torch.device(device):
            model = MossAudioModel(config)
    finally:
        torch.set_default_dtype(previous)
    with torch.device(device):  # RoPE frequencies in float32, as the loader builds them
        model.language_model.rotary_emb = Qwen3RotaryEmbedding(config=config.language_config)
    return model.eval().requires_grad_(False)


def make_windows(count: int, seconds: float, seed: int = 0) -> list[np.ndarray]:
    """Speech-like test audio: harmonic tones with a moving pitch, noise and pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    windows = []
    for _ in range(count):
        pitch = 120 + 80 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t)
        phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
        voiced = sum(np.sin(k * phase) / k for k in range(1, 5))
        envelope = (np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t) > -0.3).astype(np.float32)
        signal = 0.2 * voiced * envelope + 0.02 * rng.standard_normal(t.shape)
        windows.append(signal.astype(np.float32))
    return windows


@dataclass
class Sweep:
    model: str
    variant: str
    batch_windows: int
    windows: int
    audio_seconds: float
    mel_s: float = 0.0
    encoder_s: float = 0.0
    prefill_s: float = 0.0
    decode_s: float = 0.0
    decode_tokens: int = 0
    wall_s: float = 0.0
    peak_gb: float | None = None
    first_token_s: float | None = None  # one window alone: end of prefill

    @property
    def decode_tokens_per_s(self) -> float:
        return self.decode_tokens / self.decode_s if self.decode_s else 0.0

    @property
    def rtf(self) -> float:
        return self.wall_s / self.audio_seconds

    @property
    def hour_s(self) -> float:
        """Wall time scaled to one hour of audio."""
        return self.wall_s * 3600.0 / self.audio_seconds

    def row(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(decode_tokens_per_s=self.decode_tokens_per_s, rtf=self.rtf, hour_s=self.hour_s)
        return data


class Part2:
    def __init__(self, device: torch.device, lengths: Sequence[int], compile_step: bool) -> None:
        self.device = device
        self.lengths = list(lengths)
        self.variants = {
            name: options
            for name, options in decode_variants(device, compile_step).items()
            if name in ("plain", "static+cuda_graph+sync16", "static+compile+sync16")
            or (device.type != "cuda" and name == "static+sync16")
        }

    @torch.no_grad()
    def sweep(
        self, name: str, model: Any, windows: Sequence[np.ndarray], batch: int, variant: str
    ) -> Sweep:
        from perception.moss import GenerationConfig, MossAudioGenerator, MossAudioProcessor
        from perception.moss.decoding import decode_static
        from perception.moss.generation import decode_plain, next_tokens, prefill

        options = self.variants[variant]
        processor = MossAudioProcessor()
        generator = MossAudioGenerator(model, processor)
        config = GenerationConfig(max_new_tokens=max(self.lengths), ignore_stop_tokens=True)
        audio_seconds = sum(len(w) for w in windows) / SAMPLE_RATE
        result = Sweep(name, variant, batch, len(windows), audio_seconds)
        reset_peak(self.device)
        synchronize(self.device)
        start = time.perf_counter()
        for first in range(0, len(windows), batch):
            chunk = windows[first : first + batch]
            t0 = time.perf_counter()
            _, mel, mel_lengths = processor.batch_features(chunk, device=self.device)
            synchronize(self.device)
            t1 = time.perf_counter()
            audio = model.encode_audio(mel, mel_lengths.to(self.device))
            synchronize(self.device)
            t2 = time.perf_counter()
            prefixes, tasks, _ = generator.prompts(
                audio.lengths.tolist(), [TASK_PROMPTS] * len(chunk)
            )
            state = prefill(model, audio, prefixes, tasks, pad_id=151645)
            synchronize(self.device)
            t3 = time.perf_counter()
            limits = self.lengths * len(chunk)
            if options is None:
                out = decode_plain(model, state, config, [], None, limits)
                counts = [len(ids) for ids, _ in out]
            else:
                raw = decode_static(
                    model, state.logits, state.cache, state.mask,
                    lambda logits: next_tokens(logits, config, None),
                    config.max_new_tokens, [], options, None, limits,
                )  # fmt: skip
                counts = [len(ids) for ids, _ in raw]
            synchronize(self.device)
            t4 = time.perf_counter()
            if counts != limits:
                raise RuntimeError(
                    f"decode produced {counts[:6]}... tokens, expected {limits[:6]}..."
                )
            del state, audio, mel
            result.mel_s += t1 - t0
            result.encoder_s += t2 - t1
            result.prefill_s += t3 - t2
            result.decode_s += t4 - t3
            result.decode_tokens += sum(counts)
            if result.first_token_s is None:
                result.first_token_s = t3 - t0
        result.wall_s = time.perf_counter() - start
        result.peak_gb = peak_memory_gb(self.device)
        free(self.device)
        return result


def print_sweeps(sweeps: Sequence[Sweep]) -> None:
    header = (
        f"{'model':<5} {'decode variant':<26} {'batch':>5} {'win':>4} {'mel s':>7} {'enc s':>7} "
        f"{'prefill s':>9} {'decode s':>8} {'tok/s':>9} {'wall s':>7} {'hour s':>7} "
        f"{'RTF':>8} {'peak GB':>7}"
    )
    log(header)
    log("-" * len(header))
    for s in sweeps:
        peak = f"{s.peak_gb:7.1f}" if s.peak_gb is not None else f"{'-':>7}"
        log(
            f"{s.model:<5} {s.variant:<26} {s.batch_windows:>5} {s.windows:>4} {s.mel_s:7.2f} "
            f"{s.encoder_s:7.2f} {s.prefill_s:9.2f} {s.decode_s:8.2f} "
            f"{s.decode_tokens_per_s:9.0f} {s.wall_s:7.2f} {s.hour_s:7.1f} {s.rtf:8.5f} {peak}"
        )


# --------------------------------------------------------------------------- part 3


def part3(
    model: Any, device: torch.device, windows: Sequence[np.ndarray], clients: int,
    max_batch: int, max_new_tokens: int,
) -> dict[str, Any]:  # fmt: skip
    """The serve app over ``model`` on loopback, ``clients`` concurrent clients each sending
    their windows one after another (this part imports the server: aiohttp, pydantic)."""
    import asyncio
    import base64
    import io
    import tempfile
    import threading
    import urllib.request
    import wave
    from concurrent.futures import ThreadPoolExecutor

    from perception.backends.moss import MossBackend
    from perception.moss import MossAudioProcessor
    from perception.server import MossChatServer, serve
    from tests.perception.tiny_moss import write_byte_tokenizer

    tmp = tempfile.TemporaryDirectory()
    tokenizer_dir = write_byte_tokenizer(Path(tmp.name) / "tokenizer")
    from transformers import AutoTokenizer

    processor = MossAudioProcessor(tokenizer=AutoTokenizer.from_pretrained(str(tokenizer_dir)))
    # Stop only on the last vocabulary id, which random weights all but never pick.
    processor.stop_token_ids = (151935,)
    backend = MossBackend(model=model, processor=processor, max_new_tokens=max_new_tokens)
    server = MossChatServer(backend, model_name="random-4b", max_batch=max_batch)
    batch_sizes: list[int] = []
    original = server._generate

    def recording(audios: Any, *args: Any, **kwargs: Any) -> Any:
        batch_sizes.append(len(audios))
        return original(audios, *args, **kwargs)

    server._generate = recording  # type: ignore[method-assign]
    ready = threading.Event()
    urls: list[str] = []

    def run_server() -> None:
        def on_ready(url: str) -> None:
            urls.append(url)
            ready.set()

        asyncio.run(serve(server, "127.0.0.1", 0, on_ready=on_ready))

    threading.Thread(target=run_server, daemon=True).start()
    if not ready.wait(120):
        raise RuntimeError("the server did not start")
    url = urls[0] + "/chat/completions"

    def body(samples: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
        data = base64.b64encode(buffer.getvalue()).decode()
        return json.dumps({
            "model": "random-4b", "max_tokens": max_new_tokens,
            "messages": [{"role": "user", "content": [
                {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}},
                {"type": "text", "text": "Please transcribe this audio."},
            ]}],
        }).encode()  # fmt: skip

    payloads = [body(w) for w in windows]
    latencies: list[float] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        for payload in payloads[index::clients]:
            request = urllib.request.Request(
                url, data=payload, headers={"Content-Type": "application/json"}
            )
            t0 = time.perf_counter()
            with urllib.request.urlopen(request, timeout=600) as response:
                json.loads(response.read())
            with lock:
                latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    wall = time.perf_counter() - start
    tmp.cleanup()
    latencies.sort()
    return {
        "clients": clients,
        "windows": len(windows),
        "max_new_tokens": max_new_tokens,
        "wall_s": wall,
        "windows_per_s": len(windows) / wall,
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)],
        "batch_sizes": batch_sizes,
        "mean_batch": statistics.fmean(batch_sizes) if batch_sizes else 0.0,
    }


# --------------------------------------------------------------------------- main


@dataclass
class Plan:
    device: torch.device
    tiny: bool
    quick: bool
    windows: int
    window_seconds: float
    batch_sizes: list[int]
    lengths: list[int]
    eight_b: bool
    serve: bool
    compile_step: bool
    budget_s: float
    notes: list[str] = field(default_factory=list)


def make_plan(args: argparse.Namespace) -> Plan:
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.tiny:
        windows, seconds, sizes, lengths = 4, 3.0, [2, 4], [6, 4, 3]
    else:
        windows, seconds, sizes, lengths = 120, WINDOW_SECONDS, [8, 32, 120], list(DECODE_LENGTHS)
        if args.quick:
            sizes = [120]
    if args.batch_sizes:
        sizes = [int(x) for x in args.batch_sizes.split(",")]
    if args.windows:
        windows = args.windows
    return Plan(
        device=device, tiny=args.tiny, quick=args.quick, windows=windows,
        window_seconds=seconds, batch_sizes=sizes, lengths=lengths,
        eight_b=not args.quick and not args.no_8b, serve=args.serve,
        compile_step=args.compile,
        budget_s=args.budget or (160.0 if args.quick else 420.0),
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "moss_gpu",
                        help="directory for moss_gpu.json (created)")  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true", help="parts 1 and 2 at one batch size (<= 3 min)"
    )
    parser.add_argument("--device", help="cuda or cpu (default: cuda when present)")
    parser.add_argument("--tiny", action="store_true", help="toy shapes (the CPU smoke run)")
    parser.add_argument(
        "--serve", action="store_true", help="also part 3, the server (imports aiohttp)"
    )
    parser.add_argument("--compile", action="store_true", help="also the torch.compile decode step")
    parser.add_argument("--no-8b", action="store_true", help="skip the 8B shape")
    parser.add_argument(
        "--batch-sizes", help="windows per batch, comma-separated (default 8,32,120)"
    )
    parser.add_argument("--windows", type=int, help="windows of audio (default 120 = one hour)")
    parser.add_argument(
        "--budget", type=float, help="seconds: no new sweep starts past 85%% of it (420; quick 160)"
    )
    parser.add_argument(
        "--parts", default="1,2", help="parts to run, e.g. 1 or 1,2 (3 via --serve)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()

    info = versions()
    log("versions: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    problem = check_environment(info)
    if problem:
        log(f"error: {problem}")
        return 3
    plan = make_plan(args)
    if plan.device.type == "cuda" and not torch.cuda.is_available():
        log(
            "error: --device cuda but no CUDA GPU is visible; use --device cpu --tiny for the smoke run"
        )
        return 3
    parts = {int(p) for p in args.parts.split(",") if p.strip()}
    report: dict[str, Any] = {
        "versions": info,
        "plan": {**asdict(plan), "device": str(plan.device)},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "moss_gpu.json"
    failed = False
    try:
        if 1 in parts:
            failed = run_part1(plan, report)
        model = run_part2(plan, report, started) if 2 in parts else None
        if plan.serve:
            run_part3(plan, report, model)
    finally:  # whatever happened, what was measured is kept
        report["notes"] = plan.notes
        report["seconds"] = time.perf_counter() - started
        path.write_text(json.dumps(report, indent=2), encoding="utf-8")
        log(f"\nwhole run {report['seconds']:.0f} s; JSON in {path}")
    if failed:
        log("some correctness checks FAILED")
    return 1 if failed else 0


def run_part1(plan: Plan, report: dict[str, Any]) -> bool:
    """Returns whether a check failed."""
    log(f"\npart 1: correctness on {plan.device}")
    t0 = time.perf_counter()
    checks = Part1(plan.device, plan.compile_step).run()
    report["part1"] = {"checks": [asdict(c) for c in checks], "seconds": time.perf_counter() - t0}
    passed = sum(c.passed is True for c in checks)
    failed = sum(c.passed is False for c in checks)
    log(f"part 1: {passed} passed, {failed} failed ({time.perf_counter() - t0:.0f} s)")
    return failed > 0


def run_part2(plan: Plan, report: dict[str, Any], started: float) -> Any:
    """Throughput sweeps; returns the last model built (part 3 may reuse it)."""
    sizes = ["tiny"] if plan.tiny else ["4b"] + (["8b"] if plan.eight_b else [])
    dtype = torch.float32 if plan.device.type == "cpu" else torch.bfloat16
    windows = make_windows(plan.windows, plan.window_seconds)
    part2 = Part2(plan.device, plan.lengths, plan.compile_step)
    sweeps: list[Sweep] = []
    errors: list[dict[str, Any]] = []
    report["part2"] = {"sweeps": [], "errors": errors}
    model = None

    def over_budget(fraction: float) -> bool:
        return time.perf_counter() - started > fraction * plan.budget_s

    def timed(size: str, batch: int, variant: str, count: int) -> Sweep | None:
        try:
            return part2.sweep(size, model, windows[:count], batch, variant)
        except Exception as exc:  # e.g. out of memory at one batch size: keep the others
            traceback.print_exc()
            errors.append(
                {"model": size, "variant": variant, "batch": batch, "error": f"{type(exc).__name__}: {exc}"[:400]}
            )  # fmt: skip
            free(plan.device)
            return None

    try:
        for size in sizes:
            if size == "8b" and over_budget(0.5):
                plan.notes.append("8B skipped: over half the time budget used")
                continue
            log(f"\npart 2: {size}, {dtype}, {len(windows)} windows of {plan.window_seconds:.0f} s")
            t0 = time.perf_counter()
            model = None
            free(plan.device)
            config = tiny_config() if size == "tiny" else released_config(size)
            model = random_model(config, plan.device, dtype)
            synchronize(plan.device)
            params = sum(p.numel() for p in model.parameters())
            log(f"  built {params / 1e9:.2f} B parameters in {time.perf_counter() - t0:.1f} s")
            # Warm-up (kernels, allocator, cuBLAS handles) before anything is timed.
            for variant in part2.variants:
                timed(size, 2, variant, 2)
            # Largest batches and fast variants first: the time budget cuts the least telling.
            batches = sorted(plan.batch_sizes, reverse=True)
            batches = batches if size != "8b" else batches[:1]
            variants = sorted(part2.variants, key=lambda name: name == "plain")
            for batch in batches:
                for variant in variants:
                    if variant == "plain" and size == "8b":
                        continue
                    if over_budget(0.85):
                        plan.notes.append(f"{size} {variant} batch {batch} skipped: time budget")
                        continue
                    sweep = timed(size, batch, variant, len(windows))
                    if sweep is None:
                        continue
                    sweeps.append(sweep)
                    log(
                        f"  {variant} batch {batch}: wall {sweep.wall_s:.2f} s for "
                        f"{sweep.audio_seconds:.0f} s of audio, decode "
                        f"{sweep.decode_tokens_per_s:.0f} tok/s"
                    )
            for variant in part2.variants:
                alone = timed(size, 1, variant, 1)
                if alone is not None:
                    alone.model = f"{size}-1w"
                    sweeps.append(alone)
    finally:
        report["part2"]["sweeps"] = [s.row() for s in sweeps]
        if sweeps:
            log("")
            print_sweeps(sweeps)
        report["forbidden_modules_loaded"] = forbidden_loaded()
        if report["forbidden_modules_loaded"]:
            log(f"warning: parts 1-2 loaded {report['forbidden_modules_loaded']}")
    return model


def run_part3(plan: Plan, report: dict[str, Any], model: Any) -> None:
    log("\npart 3: serving")
    if model is None or (not plan.tiny and model.config.hidden_size != 2560):
        model = None
        free(plan.device)
        config = tiny_config() if plan.tiny else released_config("4b")
        dtype = torch.float32 if plan.device.type == "cpu" else torch.bfloat16
        model = random_model(config, plan.device, dtype)
    count = 8 if plan.tiny else 64
    serve_windows = make_windows(count, plan.window_seconds, seed=1)
    result = part3(
        model,
        plan.device,
        serve_windows,
        clients=4 if plan.tiny else 16,
        max_batch=4 if plan.tiny else 16,
        max_new_tokens=6 if plan.tiny else 64,
    )
    report["part3"] = result
    log(
        f"  {result['windows']} windows from {result['clients']} clients: "
        f"{result['windows_per_s']:.2f} windows/s, p50 {result['p50_s']:.2f} s, "
        f"p95 {result['p95_s']:.2f} s, batches formed {sorted(set(result['batch_sizes']))} "
        f"(mean {result['mean_batch']:.1f})"
    )


if __name__ == "__main__":
    sys.exit(main())
