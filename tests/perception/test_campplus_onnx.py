"""CAM++ under ONNX Runtime: the same frame features as torch, exported once and cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from perception import campplus_onnx
from perception.campplus_onnx import OnnxTrunk, onnx_trunk
from perception.speaker_embedding import (
    CampPlusEmbedder,
    _load_campplus,
    _trunk_module,
    campplus_weights,
    fbank,
)

VOICES = Path(__file__).resolve().parents[1] / "fixtures" / "voices"


@pytest.fixture(scope="module")
def features() -> np.ndarray:
    audio = sf.read(VOICES / "a1.flac", dtype="float32")[0]
    feats = fbank(audio)
    feats -= feats.mean(axis=0)
    return feats.T[None].copy()  # (1, 80, frames)


@pytest.fixture(scope="module")
def trunk():
    return _trunk_module(_load_campplus(campplus_weights()))


def _torch_frames(trunk, features: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return trunk(torch.from_numpy(features)).numpy()


def test_the_onnx_trunk_gives_torch_s_frames_and_is_exported_once(
    tmp_path: Path, trunk, features: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = onnx_trunk(trunk, campplus_weights(), cache_dir=tmp_path)
    assert isinstance(first, OnnxTrunk)
    [graph] = list(tmp_path.iterdir())
    assert graph.suffix == ".onnx" and not list(tmp_path.glob("*.part"))
    expected = _torch_frames(trunk, features)
    got = first(features)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-4

    def no_export(*_: object) -> None:
        raise AssertionError("exported again although the graph is cached")

    monkeypatch.setattr(campplus_onnx, "_export", no_export)
    again = onnx_trunk(trunk, campplus_weights(), cache_dir=tmp_path)
    assert again is not None
    assert np.abs(again(features) - expected).max() < 1e-4


def test_an_unwritable_cache_still_gives_a_working_trunk(
    tmp_path: Path, trunk, features: np.ndarray
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("in the way")
    got = onnx_trunk(trunk, campplus_weights(), cache_dir=not_a_folder / "models")
    assert got is not None
    assert np.abs(got(features) - _torch_frames(trunk, features)).max() < 1e-4


def test_a_failed_export_leaves_torch_in_charge(
    tmp_path: Path, trunk, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("exporter broke")

    monkeypatch.setattr(campplus_onnx, "_export", broken)
    assert onnx_trunk(trunk, campplus_weights(), cache_dir=tmp_path) is None
    assert not list(tmp_path.iterdir())  # no half-written graph left behind


def test_the_embedder_runs_cam_plus_plus_on_onnx_runtime() -> None:
    embedder = CampPlusEmbedder()
    embedder.load()
    assert isinstance(embedder._trunk, OnnxTrunk)  # noqa: SLF001 - which engine it picked
