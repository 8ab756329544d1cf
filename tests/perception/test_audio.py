"""Decoding: every container and layout to 16 kHz mono, streamed; clear errors for bad input."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from perception.audio import (
    AudioDecodeError,
    AudioSourceUnavailableError,
    MicrophoneSource,
    StreamResampler,
    decode_file,
    load_audio,
    probe_duration,
    to_16k_mono,
    to_float_mono,
)

SR = 16_000


def _chirp(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.4 * np.sin(2 * np.pi * (200 + 300 * t) * t)).astype(np.float32)


def _ffmpeg(src: Path, dst: Path, *args: str) -> Path:
    assert shutil.which("ffmpeg"), "ffmpeg is a test dependency (scripts/setup.sh)"
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-i", str(src), *args, str(dst)], check=True
    )
    return dst


@pytest.fixture(scope="module")
def source_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dec") / "src.wav"
    sf.write(path, _chirp(3.0, 44_100), 44_100)
    return path


@pytest.mark.parametrize("ext", ["flac", "mp3", "ogg", "opus", "m4a"])
def test_compressed_formats_decode_to_16k_mono(source_wav: Path, ext: str) -> None:
    path = _ffmpeg(source_wav, source_wav.with_suffix(f".{ext}"), "-ac", "2")
    audio = load_audio(path)
    assert audio.dtype == np.float32
    # Encoders pad a little; the length must still be about 3 s at 16 kHz.
    assert abs(len(audio) / SR - 3.0) < 0.1
    reference = load_audio(source_wav)
    n = min(len(audio), len(reference))
    if ext == "flac":  # lossless: the same signal
        assert np.max(np.abs(audio[:n] - reference[:n])) < 1e-3
    assert 0.15 < float(np.sqrt(np.mean(audio**2))) < 0.4


def test_8k_stereo_and_48k_inputs_land_on_the_same_timeline(tmp_path: Path) -> None:
    mono16 = _chirp(2.0, SR)
    for rate, channels in ((8_000, 2), (48_000, 1), (22_050, 6)):
        data = _chirp(2.0, rate)
        if channels > 1:
            data = np.repeat(data[:, None], channels, axis=1)
        path = tmp_path / f"x{rate}.wav"
        sf.write(path, data, rate)
        audio = load_audio(path)
        assert len(audio) == pytest.approx(len(mono16), abs=20)


def test_long_files_stream_in_fixed_chunks(tmp_path: Path) -> None:
    path = tmp_path / "long.flac"
    sf.write(path, np.zeros(95 * SR, np.float32), SR)
    sizes = [len(c) for c in decode_file(path, chunk_seconds=10.0)]
    assert sizes[:-1] == [10 * SR] * 9 and sizes[-1] == 5 * SR
    assert probe_duration(path) == pytest.approx(95.0)


def test_clipped_input_stays_in_range(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    sf.write(path, np.clip(4.0 * _chirp(1.0, SR), -1, 1), SR, subtype="FLOAT")
    audio = load_audio(path)
    assert np.max(np.abs(audio)) <= 1.0


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 20, "not a readable audio file"),
        (bytes(range(256)) * 40, "not a readable audio file"),
    ],
)
def test_bad_files_raise_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioDecodeError, match=message):
        load_audio(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioDecodeError, match="directory"):
        load_audio(tmp_path)


def test_a_file_without_samples_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, np.float32), SR)
    with pytest.raises(AudioDecodeError, match="no audio"):
        load_audio(path)


def test_truncated_file_yields_what_came_before_the_damage(
    tmp_path: Path, source_wav: Path
) -> None:
    mp3 = _ffmpeg(source_wav, tmp_path / "t.mp3")
    data = mp3.read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: len(data) // 2])
    audio = load_audio(cut)  # FFmpeg decodes the intact half; nothing is invented
    assert 0.8 < len(audio) / SR < 2.2


def test_pcm_bytes_and_ints() -> None:
    pcm = (np.array([0, 16384, -32768, 32767], np.int16)).tobytes()
    assert to_float_mono(pcm).tolist() == pytest.approx([0.0, 0.5, -1.0, 32767 / 32768], abs=1e-6)
    with pytest.raises(AudioDecodeError, match="whole number"):
        to_float_mono(b"\x00\x01\x02", channels=1)
    stereo = np.array([[1000, 3000], [-1000, -3000]], np.int16)
    assert to_float_mono(stereo, channels=2).tolist() == pytest.approx(
        [2000 / 32768, -2000 / 32768]
    )
    nan = np.array([np.nan, np.inf, -np.inf, 0.5], np.float32)
    assert to_float_mono(nan).tolist() == [0.0, 1.0, -1.0, 0.5]


def test_streaming_resampler_matches_whole_clip() -> None:
    x = _chirp(2.0, 48_000)
    whole = to_16k_mono(x, 48_000)
    r = StreamResampler(48_000)
    parts = [r.push(x[i : i + 960]) for i in range(0, len(x), 960)] + [r.flush()]
    chunked = np.concatenate(parts)
    assert len(chunked) == len(whole)
    assert np.max(np.abs(chunked - whole)) < 1e-5
    with pytest.raises(AudioDecodeError):
        StreamResampler(0)


def test_microphone_without_portaudio_says_what_to_install() -> None:
    try:
        mic = MicrophoneSource()
    except AudioSourceUnavailableError as exc:
        assert "sounddevice" in str(exc) or "microphone" in str(exc)
    else:  # a machine with a working input device
        mic.close()


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_16k_mono_wav_read_by_libsndfile_gives_ffmpeg_s_samples(
    tmp_path: Path, subtype: str
) -> None:
    from perception.audio import _decode_with_av, _Limit

    path = tmp_path / "x.wav"
    sf.write(path, _chirp(12.5, SR), SR, subtype)
    ffmpeg = np.concatenate(list(_decode_with_av(path, _Limit(path, None))))
    ours = load_audio(path)
    assert len(ours) == len(ffmpeg) == int(12.5 * SR)
    assert np.abs(ours - ffmpeg).max() < 1e-6
    assert [len(c) for c in decode_file(path, chunk_seconds=5.0)] == [5 * SR, 5 * SR, SR * 5 // 2]
