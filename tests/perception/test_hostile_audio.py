"""Audio files that lie: absurd sample rates, durations past a limit, truncated data,
NaN samples, broken mp3 and bad backend options. Each gives one clear line (or a logged
warning where the audio is still usable), never a traceback or gigabytes of memory."""

from __future__ import annotations

import logging
import struct
import subprocess
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

from perception.audio import AudioDecodeError, AudioTooLongError, decode_file, load_audio
from tests.perception.tiny_moss import MOSS_AGENT, REPO_ROOT


def wav_bytes(
    rate: int, data: bytes, bits: int = 16, tag: int = 1, data_size: int | None = None
) -> bytes:
    """A WAV file as a hostile writer makes it: any rate, any declared data size."""
    size = len(data) if data_size is None else data_size
    fmt = struct.pack("<HHIIHH", tag, 1, rate, (rate * bits // 8) & 0xFFFFFFFF, bits // 8, bits)
    riff = (36 + size) & 0xFFFFFFFF
    return b"RIFF" + struct.pack("<I", riff) + b"WAVEfmt " + struct.pack("<I", 16) + fmt + \
        b"data" + struct.pack("<I", size) + data  # fmt: skip


def _noise(n: int, seed: int = 0) -> bytes:
    return (np.random.default_rng(seed).standard_normal(n) * 3000).astype("<i2").tobytes()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MOSS_AGENT, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )


# --- 1. bounded decoding -------------------------------------------------------------------


def test_a_tiny_declared_rate_is_refused_before_any_allocation(tmp_path: Path) -> None:
    path = tmp_path / "tiny.wav"
    path.write_bytes(wav_bytes(1, _noise(13_500)))  # 27 KB declaring 3.75 hours at 1 Hz
    tracemalloc.start()
    try:
        with pytest.raises(AudioDecodeError, match="sample rate of 1 Hz"):
            load_audio(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20  # was 864 MB of resampled float32 (and 1.7 GB resident)


@pytest.mark.parametrize("data_size", [0xFFFFFFFF, None], ids=["size-unknown", "size-declared"])
def test_duration_limit_holds_from_the_header_and_while_decoding(
    tmp_path: Path, data_size: int | None
) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(wav_bytes(8000, _noise(8000 * 30), data_size=data_size))  # 30 s
    decoded = []
    with pytest.raises(AudioTooLongError, match="longer than the 5 s allowed"):
        for chunk in decode_file(path, chunk_seconds=1.0, max_seconds=5.0):
            decoded.append(chunk)
    assert sum(len(c) for c in decoded) <= 6 * 16000  # stopped at the limit, not at the end
    assert len(load_audio(path, max_seconds=60.0)) == pytest.approx(30 * 16000, abs=200)


def test_transcribe_refuses_a_huge_sample_rate_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "huge.wav"
    path.write_bytes(wav_bytes(0xFFFFFFFF, _noise(13_500)))
    done = _cli("transcribe", str(path), "-q")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"moss-agent transcribe: error: {path} declares a sample rate of 4294967295 Hz, outside 4000-768000 Hz; "
        "resample it (e.g. `ffmpeg -i IN -ar 16000 out.wav`)"
    ]


# --- 7. usable-but-damaged audio is accepted with a warning; non-audio is refused ----------


def test_a_truncated_wav_file_is_accepted_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(
        wav_bytes(16000, _noise(16000), data_size=16000 * 2 * 10)
    )  # says 10 s, holds 1 s
    with caplog.at_level(logging.WARNING, logger="perception.audio"):
        audio = load_audio(path)
    assert len(audio) == 16000
    [record] = [r for r in caplog.records if "truncated" in r.getMessage()]
    assert "declares 10.0 s" in record.getMessage() and "holds 1.0 s" in record.getMessage()


def test_nan_and_inf_samples_become_silence_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    samples = np.tile(np.array([0.1, np.nan, np.inf, -np.inf], "<f4"), 4000)
    path = tmp_path / "nan.wav"
    path.write_bytes(wav_bytes(16000, samples.tobytes(), bits=32, tag=3))
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="perception.audio"):
        warnings.simplefilter("error")  # a RuntimeWarning would raise here
        audio = load_audio(path)
        load_audio(path)  # decoding the same file again does not repeat the warning
    assert np.isfinite(audio).all() and len(audio) == 16000
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: NaN or infinite samples replaced by silence"
    ]


def test_transcribing_nan_samples_leaks_no_runtime_warning(tmp_path: Path) -> None:
    samples = np.tile(np.array([0.1, np.nan, np.inf, -np.inf], "<f4"), 8000)
    path = tmp_path / "nan.wav"
    path.write_bytes(wav_bytes(16000, samples.tobytes(), bits=32, tag=3))
    done = _cli("transcribe", str(path), "-q")
    assert done.returncode == 0, done.stderr
    assert "RuntimeWarning" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"WARNING perception.audio: {path}: NaN or infinite samples replaced by silence"
    ]


def test_a_bad_mp3_is_our_one_line_and_nothing_from_libmpg123(tmp_path: Path) -> None:
    path = tmp_path / "bad.mp3"
    path.write_bytes(
        b"ID3\x03\x00\x00\x00\x00\x00\x00"
        + bytes(np.random.default_rng(0).integers(0, 256, 20_000, np.uint8))
    )
    done = _cli("transcribe", str(path), "-q")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("moss-agent transcribe: error:"), done.stderr
    assert "mpg123" not in done.stderr


@pytest.mark.parametrize(
    "option", ["beam_size=abc", "beam_size=0", "beam_size=-3", "beam_size=2.5", "no_such=1"]
)
def test_bad_backend_options_exit_2_with_one_line(tmp_path: Path, option: str) -> None:
    path = tmp_path / "ok.wav"
    path.write_bytes(wav_bytes(16000, _noise(16000)))
    done = _cli("transcribe", str(path), "-q", "-o", option)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("moss-agent transcribe: error:"), done.stderr
    assert option.split("=")[0] in lines[0]
    assert done.stdout == ""
