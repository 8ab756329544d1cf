"""CAM++ at inference without torch: the network up to its pooling on ONNX Runtime, the
pooling and embedding layer in numpy.

On one CPU thread ONNX Runtime runs CAM++'s convolutions about 1.5x faster than torch (even
traced and frozen), and the speaker part is most of what the lite pipeline adds to
Whisper; a process that finds the graph cached does not import torch at all (about 1.3 s
of start-up). The graph and the pooling weights are exported from
:mod:`perception.campplus` once per weights file into the user cache folder (about 27 MB;
1-2 s to make); where that folder cannot be written they are made for the process only.
Any failure leaves the caller on torch, which gives the same outputs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Bump when the exported graph or pooling file changes (inputs, outputs, opset, contents).
GRAPH_VERSION = 2
OPSET = 17
# CAM++'s pooling of a single frame (no spread to measure): its own constant.
SINGLE_FRAME_STD = 1e-2


@dataclass(frozen=True)
class Pooling:
    """CAM++'s statistics pooling (mean and standard deviation over time) and its embedding
    layer (a 1x1 convolution without bias, then a batch norm without affine terms)."""

    weight: np.ndarray  # (192, 1024)
    mean: np.ndarray  # (192,) batch-norm running mean
    scale: np.ndarray  # (192,) 1 / sqrt(running variance + eps)

    @classmethod
    def of(cls, model: Any) -> Pooling:
        """The pooling of a :class:`perception.campplus.CAMPPlus` module."""
        dense = model.xvector.dense
        norm = dense.nonlinear.batchnorm
        return cls(
            weight=dense.linear.weight.detach().numpy()[:, :, 0].astype(np.float64),
            mean=norm.running_mean.detach().numpy().astype(np.float64),
            scale=1.0 / np.sqrt(norm.running_var.detach().numpy().astype(np.float64) + norm.eps),
        )

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """The raw embedding (192,) of (1, 512, t) frame features."""
        x = np.asarray(frames[0], np.float64)
        mean = x.mean(axis=-1)
        std = x.std(axis=-1, ddof=1) if x.shape[-1] > 1 else np.full_like(mean, SINGLE_FRAME_STD)
        return (self.weight @ np.concatenate([mean, std]) - self.mean) * self.scale

    def save(self, path: Path) -> None:
        with open(path, "wb") as f:
            np.savez(f, weight=self.weight, mean=self.mean, scale=self.scale)

    @classmethod
    def load(cls, path: Path) -> Pooling:
        with np.load(path) as saved:
            return cls(weight=saved["weight"], mean=saved["mean"], scale=saved["scale"])


class OnnxTrunk:
    """(1, 80, frames) mean-normalised filterbanks -> (1, 512, frames / 2) frame features."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._session.run(None, {"fbank": np.ascontiguousarray(x, np.float32)})[0]


def cached(weights: Path, cache_dir: Path | None = None) -> tuple[OnnxTrunk, Pooling] | None:
    """The trunk and pooling exported earlier for ``weights``, or None (nothing cached, or
    ONNX Runtime missing or unable to load it). Needs no torch."""
    graph, pooling = _paths(weights, cache_dir)
    if not (graph.is_file() and pooling.is_file()):
        return None
    try:
        return _session(str(graph)), Pooling.load(pooling)
    except Exception as exc:  # a damaged cache: made again from the weights
        log.warning("the cached CAM++ graph %s cannot be used (%s); exporting it again", graph, exc)
        return None


def export(
    trunk: Any, pooling: Pooling, weights: Path, cache_dir: Path | None = None
) -> OnnxTrunk | None:
    """Export ``trunk`` (a torch module taking (1, 80, frames)) and ``pooling`` into the cache
    and load the graph; None when ONNX Runtime or the exporter is missing or fails."""
    try:
        import onnxruntime  # noqa: F401 - checked before the export is spent
    except ImportError:
        log.info("onnxruntime is not installed; CAM++ runs on torch")
        return None
    graph, pooling_path = _paths(weights, cache_dir)
    try:
        try:
            graph.parent.mkdir(parents=True, exist_ok=True)
            _write(graph, lambda p: _export(trunk, p))
            _write(pooling_path, pooling.save)
            log.info("CAM++ exported for ONNX Runtime to %s", graph)
            return _session(str(graph))
        except OSError as exc:
            log.info("CAM++ graph not cached (%s); exported for this process only", exc)
            with tempfile.TemporaryDirectory() as scratch:
                _export(trunk, Path(scratch) / "campplus.onnx")
                return _session((Path(scratch) / "campplus.onnx").read_bytes())
    except Exception as exc:  # the torch trunk computes the same thing
        log.warning("CAM++ runs on torch (ONNX Runtime could not take it: %s)", exc)
        return None


def _paths(weights: Path, cache_dir: Path | None) -> tuple[Path, Path]:
    key = hashlib.sha256(f"{GRAPH_VERSION}/{OPSET}/".encode())
    with open(weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            key.update(block)
    folder = cache_dir if cache_dir is not None else _default_cache_dir()
    stem = f"campplus-{key.hexdigest()[:16]}"
    return folder / f"{stem}.onnx", folder / f"{stem}-pooling.npz"


def _write(path: Path, make: Callable[[Path], None]) -> None:
    """``make(tmp)`` writes a file that then replaces ``path`` whole: a process reading the
    cache never sees half a file."""
    fd, part = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(fd)
    try:
        make(Path(part))
        os.chmod(part, 0o644)  # mkstemp makes it private; it is a plain model file
        os.replace(part, path)
    finally:
        Path(part).unlink(missing_ok=True)


def _session(model: str | bytes) -> OnnxTrunk:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One thread, like the torch path: Whisper's threads have the other cores.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return OnnxTrunk(ort.InferenceSession(model, options, providers=["CPUExecutionProvider"]))


def _export(trunk: Any, path: Path) -> None:
    import torch

    threads = torch.get_num_threads()
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # exporter notes on shape arithmetic
            torch.onnx.export(
                trunk.eval(),
                (torch.zeros(1, 80, 200),),
                str(path),
                dynamo=False,  # the TorchScript exporter needs no onnxscript
                input_names=["fbank"],
                output_names=["frames"],
                dynamic_axes={"fbank": {2: "time"}, "frames": {2: "frames"}},
                opset_version=OPSET,
            )
    finally:
        torch.set_num_threads(threads)


def _default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("moss-agents")) / "models"


__all__ = ["OnnxTrunk", "Pooling", "cached", "export"]
