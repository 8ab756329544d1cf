"""CAM++ without torch at inference: ONNX Runtime's frame features and numpy's pooling give
torch's embeddings; the graph is exported once and cached."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from perception import campplus_onnx
from perception.campplus_onnx import OnnxTrunk, Pooling
from perception.speaker_embedding import (
    CampPlusEmbedder,
    _load_campplus,
    _torch_trunk,
    _trunk_module,
    campplus_weights,
    fbank,
)

ROOT = Path(__file__).resolve().parents[2]
VOICES = ROOT / "tests" / "fixtures" / "voices"


@pytest.fixture(scope="module")
def features() -> np.ndarray:
    audio = sf.read(VOICES / "a1.flac", dtype="float32")[0]
    feats = fbank(audio)
    feats -= feats.mean(axis=0)
    return feats.T[None].copy()  # (1, 80, frames)


@pytest.fixture(scope="module")
def model():
    return _load_campplus(campplus_weights())


def _torch_embedding(model, features: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        x = _trunk_module(model)(torch.from_numpy(features))
        return model.xvector.dense(model.xvector.stats(x))[0].numpy()


def test_onnx_frames_and_numpy_pooling_give_torch_s_embedding_and_are_exported_once(
    tmp_path: Path, model, features: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert campplus_onnx.cached(campplus_weights(), tmp_path) is None
    pool = Pooling.of(model)
    trunk = campplus_onnx.export(_trunk_module(model), pool, campplus_weights(), tmp_path)
    assert isinstance(trunk, OnnxTrunk)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".npz", ".onnx"]
    expected = _torch_embedding(model, features)
    assert np.abs(pool(trunk(features)) - expected).max() < 1e-4
    # the torch fallback computes the same
    assert np.abs(pool(_torch_trunk(model)(features)) - expected).max() < 1e-4

    def no_export(*_: object) -> None:
        raise AssertionError("exported again although the graph is cached")

    monkeypatch.setattr(campplus_onnx, "_export", no_export)
    ready = campplus_onnx.cached(campplus_weights(), tmp_path)
    assert ready is not None
    assert np.abs(ready[1](ready[0](features)) - expected).max() < 1e-4


def test_an_unwritable_cache_still_gives_a_working_trunk(
    tmp_path: Path, model, features: np.ndarray
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("in the way")
    pool = Pooling.of(model)
    trunk = campplus_onnx.export(
        _trunk_module(model), pool, campplus_weights(), not_a_folder / "models"
    )
    assert trunk is not None
    assert np.abs(pool(trunk(features)) - _torch_embedding(model, features)).max() < 1e-4


def test_a_failed_export_leaves_torch_in_charge_and_no_half_file(
    tmp_path: Path, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("exporter broke")

    monkeypatch.setattr(campplus_onnx, "_export", broken)
    pool = Pooling.of(model)
    assert campplus_onnx.export(_trunk_module(model), pool, campplus_weights(), tmp_path) is None
    assert not list(tmp_path.iterdir())


def test_a_damaged_cache_is_not_used(tmp_path: Path, model) -> None:
    pool = Pooling.of(model)
    assert campplus_onnx.export(_trunk_module(model), pool, campplus_weights(), tmp_path)
    [graph] = tmp_path.glob("*.onnx")
    graph.write_bytes(b"not a graph")
    assert campplus_onnx.cached(campplus_weights(), tmp_path) is None


def test_with_the_graph_cached_speaker_embeddings_need_no_torch() -> None:
    CampPlusEmbedder().load()  # the cache is filled in this process if it was empty
    code = (
        "import sys, soundfile as sf\n"
        "from perception.speaker_embedding import CampPlusEmbedder\n"
        "e = CampPlusEmbedder()\n"
        f"audio = sf.read({str(VOICES / 'a1.flac')!r}, dtype='float32')[0]\n"
        "assert e.embed(audio) is not None and e.load().runtime == 'onnxruntime'\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False", out.stderr
