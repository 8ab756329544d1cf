"""The GPU check's CPU smoke run: the same script and code path at toy shapes, so it keeps
working where no GPU is present; and the model package imports nothing beyond its needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "moss_gpu.py"


def run_script(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.mark.slow
def test_cpu_smoke_run_parts_1_and_2(tmp_path: Path) -> None:
    done = run_script("--device", "cpu", "--tiny", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "moss_gpu.json").read_text(encoding="utf-8"))
    assert report["versions"]["torch"] and report["versions"]["transformers"]
    checks = report["part1"]["checks"]
    assert len(checks) >= 20
    assert all(c["passed"] is not False for c in checks), [c for c in checks if not c["passed"]]
    names = " ".join(c["name"] for c in checks)
    for wanted in ("fp32 logits last", "bf16 logits last", "batch of 2 lengths",
                   "cached greedy", "decode option static+sync16"):  # fmt: skip
        assert wanted in names
    sweeps = report["part2"]["sweeps"]
    # Two decode variants at two batch sizes, plus one window alone per variant.
    assert len(sweeps) == 6
    for sweep in sweeps:
        assert sweep["decode_tokens"] == sweep["windows"] * (6 + 4 + 3)
        assert sweep["wall_s"] > 0 and sweep["decode_tokens_per_s"] > 0
        assert sweep["wall_s"] >= sweep["mel_s"] + sweep["encoder_s"] + sweep["prefill_s"]
    assert report["forbidden_modules_loaded"] == []
    assert "decode variant" in done.stdout and "whole run" in done.stdout


@pytest.mark.slow
def test_cpu_smoke_run_serving(tmp_path: Path) -> None:
    done = run_script("--device", "cpu", "--tiny", "--parts", "", "--serve", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    serving = json.loads((tmp_path / "moss_gpu.json").read_text(encoding="utf-8"))["part3"]
    assert serving["windows"] == 8 and serving["clients"] == 4
    assert sum(serving["batch_sizes"]) == 8
    assert serving["windows_per_s"] > 0 and serving["p95_s"] >= serving["p50_s"] > 0


def test_cuda_without_a_gpu_is_a_clear_error(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    done = run_script("--device", "cuda", "--parts", "1", "--out", str(tmp_path), timeout=120)
    assert done.returncode == 3
    assert "no CUDA GPU" in done.stdout


def test_model_package_imports_only_what_it_needs() -> None:
    """Loading and running the model needs torch, transformers, safetensors and numpy only:
    no speech backend, database, web or UI package, and no project layer above perception."""
    code = (
        "import json, sys\n"
        "import numpy as np\n"
        "import perception.moss as moss\n"
        "from perception.moss import DecodeOptions, GenerationConfig, MossAudioGenerator\n"
        "import perception.moss.compat, perception.moss.decoding, perception.moss.parity\n"
        f"model, processor = moss.load_moss_audio({str(REPO / 'tests/data/moss_parity/checkpoint')!r},"
        " dtype='float32', device='cpu')\n"
        "gen = MossAudioGenerator(model, processor, DecodeOptions(static_cache=True))\n"
        "gen.generate([np.zeros(8000, np.float32) + 0.01], [[5, 6]], GenerationConfig(max_new_tokens=2))\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from moss_gpu import FORBIDDEN_MODULES
    finally:
        sys.path.pop(0)
    assert "torch" in loaded and "transformers" in loaded
    assert loaded & set(FORBIDDEN_MODULES) == set()


def test_an_error_fails_its_check_and_the_run_goes_on() -> None:
    import torch

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import moss_gpu
    finally:
        sys.path.pop(0)
    part1 = moss_gpu.Part1(torch.device("cpu"), compile_step=False)

    def broken() -> None:
        raise RuntimeError("operation not permitted when stream is capturing")

    part1.guard("decode options", broken)
    part1.guard("fine", lambda: part1.check("fine", 0.0, "<= 1", True))
    [failed, passed] = part1.checks
    assert failed.passed is False and "stream is capturing" in failed.value
    assert passed.passed is True
