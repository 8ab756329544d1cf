"""CAM++'s network up to its pooling, run by ONNX Runtime.

On one CPU thread ONNX Runtime runs CAM++'s convolutions about 1.5x faster than torch (even
traced and frozen), and the speaker part is most of what the lite pipeline adds to
Whisper. The graph is exported from :mod:`perception.campplus` with the weights loaded, once
per weights file and torch version, into the user cache folder (about 27 MB; 1-2 s to make);
where that folder cannot be written, it is exported for the process only. Any failure
leaves the caller on torch, which gives the same outputs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Bump when the exported graph changes (inputs, outputs, opset, what the trunk holds).
GRAPH_VERSION = 1
OPSET = 17


class OnnxTrunk:
    """(1, 80, frames) mean-normalised filterbanks -> (1, 512, frames) frame features."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._session.run(None, {"fbank": np.ascontiguousarray(x, np.float32)})[0]


def onnx_trunk(trunk: Any, weights: Path, cache_dir: Path | None = None) -> OnnxTrunk | None:
    """An ONNX Runtime session for ``trunk`` (a torch module taking (1, 80, frames)), or None
    when ONNX Runtime or the exporter is missing or the export fails."""
    try:
        import onnxruntime as ort
    except ImportError:
        log.info("onnxruntime is not installed; CAM++ runs on torch")
        return None
    try:
        model = _cached_graph(trunk, weights, cache_dir)
        options = ort.SessionOptions()
        # One thread, like the torch path: Whisper's threads have the other cores.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # the torch trunk computes the same thing
        log.warning("CAM++ runs on torch (ONNX Runtime could not take it: %s)", exc)
        return None
    return OnnxTrunk(session)


def _cached_graph(trunk: Any, weights: Path, cache_dir: Path | None) -> str | bytes:
    """The path of the exported graph in the cache, or the graph itself when the cache
    cannot be written."""
    import torch

    folder = cache_dir if cache_dir is not None else _default_cache_dir()
    key = hashlib.sha256()
    key.update(f"{GRAPH_VERSION}/{OPSET}/{torch.__version__}/".encode())
    with open(weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            key.update(block)
    path = folder / f"campplus-trunk-{key.hexdigest()[:16]}.onnx"
    if path.is_file():
        return str(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(dir=folder, suffix=".part")
        os.close(fd)
    except OSError as exc:
        log.info("CAM++ graph not cached (%s); exported for this process only", exc)
        with tempfile.TemporaryDirectory() as scratch:
            graph = Path(scratch) / "campplus.onnx"
            _export(trunk, graph)
            return graph.read_bytes()
    try:
        _export(trunk, Path(part))
        os.chmod(part, 0o644)  # mkstemp makes it private; it is a plain model file
        # Written whole, then renamed: a process that reads it never sees half a file.
        os.replace(part, path)
    finally:
        Path(part).unlink(missing_ok=True)
    log.info("CAM++ exported for ONNX Runtime to %s", path)
    return str(path)


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


__all__ = ["OnnxTrunk", "onnx_trunk"]
