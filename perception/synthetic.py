"""Audio with known ground truth: espeak-ng speech and synthetic sounds.

The demo and the tests need real speech at known offsets (to measure word error rate,
timing and speaker stability) and real non-speech sounds (a doorbell, a phone ringing).
espeak-ng is a real speech synthesiser shipped by Debian; the sounds are synthesised here.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16_000

# espeak-ng voices that sound clearly different from each other (for speaker tests). Many
# variants are one voice at another pitch (en-us+m3, en-gb+f3, en-gb+f2 and en-gb+f4: CAM++
# cosine 0.79-0.88, as close as two clips of one voice); these four are 0.14-0.32 apart,
# and Whisper tiny.en transcribes them well (en-us+edward, though distinct, sounds tonal to
# the sound detector; en-us+Lee and en-us+david are often misheard).
DISTINCT_VOICES = ("en-us+m3", "en-us+benjamin", "en-us+grandma", "en-us+robert")


class SynthesisError(RuntimeError):
    pass


def _resample(audio: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    if rate == target:
        return audio.astype(np.float32)
    from scipy.signal import resample_poly

    g = np.gcd(rate, target)
    return resample_poly(audio, target // g, rate // g).astype(np.float32)


def speak(
    text: str, voice: str = "en-us", words_per_minute: int = 160, pitch: int = 50
) -> np.ndarray:
    """Speak ``text`` with espeak-ng; returns 16 kHz mono float32 in [-1, 1]."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SynthesisError(
            "espeak-ng is not installed: run `make setup` (apt-get install espeak-ng)"
        )
    proc = subprocess.run(
        [exe, "-v", voice, "-s", str(words_per_minute), "-p", str(pitch), "--stdout", text],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout:
        raise SynthesisError(
            f"espeak-ng failed for voice {voice!r}: {proc.stderr.decode(errors='replace')}"
        )
    audio, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    return _resample(audio, rate)


def doorbell(duration: float = 1.6, seed: int = 0) -> np.ndarray:
    """A two-tone 'ding-dong' chime with harmonics and exponential decay."""
    t = np.arange(int(duration * SAMPLE_RATE)) / SAMPLE_RATE
    half = len(t) // 2
    out = np.zeros_like(t)
    for i, f0 in enumerate((659.25, 523.25)):  # E5 then C5
        seg = t[: len(t) - half] if i == 0 else t[:half]
        tone = sum(a * np.sin(2 * np.pi * f0 * k * seg) for k, a in ((1, 1.0), (2, 0.4), (3, 0.15)))
        env = np.exp(-3.0 * seg)
        if i == 0:
            out[: len(seg)] += tone * env
        else:
            out[len(t) - half :] += tone * env
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


def phone_ring(duration: float = 2.0) -> np.ndarray:
    """North-American ring: 440 + 480 Hz, bursts of 0.4 s on, 0.2 s off."""
    t = np.arange(int(duration * SAMPLE_RATE)) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t)
    gate = ((t % 0.6) < 0.4).astype(np.float64)
    return (0.25 * tone * gate).astype(np.float32)


def noise_burst(duration: float = 1.0, seed: int = 0, level: float = 0.3) -> np.ndarray:
    """Broadband noise (e.g. a door slam or rustle) with a fast attack and decay."""
    rng = np.random.default_rng(seed)
    n = int(duration * SAMPLE_RATE)
    env = np.exp(-4.0 * np.arange(n) / SAMPLE_RATE)
    return (level * rng.standard_normal(n) * env).astype(np.float32)


SOUNDS = {"doorbell": doorbell, "phone ringing": phone_ring, "noise burst": noise_burst}


@dataclass(frozen=True)
class Utterance:
    text: str
    voice: str
    speaker: str
    start: float
    end: float


@dataclass(frozen=True)
class PlacedSound:
    label: str
    start: float
    end: float


@dataclass
class Scene:
    """Audio plus the truth about it: who said what when, and which sounds when."""

    audio: np.ndarray
    utterances: list[Utterance] = field(default_factory=list)
    sounds: list[PlacedSound] = field(default_factory=list)
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    def write(self, path: str, sample_rate: int | None = None, channels: int = 1) -> None:
        audio = self.audio
        rate = sample_rate or self.sample_rate
        if rate != self.sample_rate:
            from scipy.signal import resample_poly

            g = np.gcd(rate, self.sample_rate)
            audio = resample_poly(audio, rate // g, self.sample_rate // g).astype(np.float32)
        if channels > 1:
            audio = np.repeat(audio[:, None], channels, axis=1)
        sf.write(path, audio, rate, subtype="FLOAT" if path.endswith(".wav") else None)


def compose(
    script: Sequence[tuple[str, str] | tuple[str, str, str]],
    gap: float = 0.8,
    lead: float = 0.5,
    tail: float = 0.8,
    speakers: dict[str, str] | None = None,
    noise_level: float = 0.0,
    seed: int = 0,
) -> Scene:
    """Lay out a scene from a script.

    Each item is ``("say", voice, text)`` or ``("sound", label)`` or ``("pause", seconds)``.
    ``speakers`` maps a voice to a speaker name for the truth (default: the voice itself).
    """
    speakers = speakers or {}
    pieces: list[np.ndarray] = [np.zeros(int(lead * SAMPLE_RATE), np.float32)]
    cursor = lead
    scene = Scene(audio=np.zeros(0, np.float32))
    for item in script:
        kind = item[0]
        if kind == "say":
            _, voice, text = item  # type: ignore[misc]
            clip = _trim(speak(text, voice=voice))
            scene.utterances.append(
                Utterance(
                    text,
                    voice,
                    speakers.get(voice, voice),
                    cursor,
                    cursor + len(clip) / SAMPLE_RATE,
                )
            )
        elif kind == "sound":
            label = item[1]
            clip = SOUNDS[label]()
            scene.sounds.append(PlacedSound(label, cursor, cursor + len(clip) / SAMPLE_RATE))
        elif kind == "pause":
            clip = np.zeros(int(float(item[1]) * SAMPLE_RATE), np.float32)
        else:
            raise ValueError(f"unknown script item {item!r}")
        pieces.append(clip)
        cursor += len(clip) / SAMPLE_RATE
        if kind != "pause":
            pieces.append(np.zeros(int(gap * SAMPLE_RATE), np.float32))
            cursor += gap
    pieces.append(np.zeros(int(tail * SAMPLE_RATE), np.float32))
    audio = np.concatenate(pieces)
    if noise_level > 0:
        audio = audio + noise_level * np.random.default_rng(seed).standard_normal(
            len(audio)
        ).astype(np.float32)
    scene.audio = np.clip(audio, -1.0, 1.0).astype(np.float32)
    return scene


def _trim(clip: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    """Drop espeak-ng's leading/trailing silence so recorded onsets are the real onsets."""
    idx = np.flatnonzero(np.abs(clip) > threshold)
    if idx.size == 0:
        return clip
    return clip[idx[0] : idx[-1] + 1]


MEETING_SCRIPT: tuple[tuple[str, ...], ...] = (
    ("say", "en-us+m3", "Good morning everyone. Let's start with the budget for the next quarter."),
    ("say", "en-us+grandma", "The budget is tight. We spent most of it on the new servers."),
    ("sound", "doorbell"),
    ("say", "en-us+m3", "Someone is at the door. Let's move on to the hiring plan."),
    ("say", "en-us+grandma", "We want to hire two engineers before March."),
    ("say", "en-us+benjamin", "Action item: Alice will write the job description by Friday."),
    ("sound", "phone ringing"),
    ("say", "en-us+grandma", "Thanks everyone. That's all for today."),
)
MEETING_SPEAKERS = {"en-us+m3": "Bob", "en-us+grandma": "Alice", "en-us+benjamin": "Carol"}


def meeting() -> Scene:
    """A short three-voice meeting with a doorbell and a phone: the tests' and benchmarks' scene."""
    return compose(MEETING_SCRIPT, speakers=MEETING_SPEAKERS)  # type: ignore[arg-type]


# The demo's meeting: the one above with an action item whose owner Whisper tiny.en hears
# ("Alice will" comes out as "at least we"), then a decision and the next meeting, so that
# its minutes hold one of each. Whisper tiny.en writes these lines word for word in these
# voices (checked with the scene shifted by 0.4 s too).
DEMO_MEETING_SCRIPT: tuple[tuple[str, ...], ...] = (
    ("say", "en-us+m3", "Good morning everyone. Let's start with the budget for the next quarter."),
    ("say", "en-us+grandma", "The budget is tight. We spent most of it on the new servers."),
    ("sound", "doorbell"),
    ("say", "en-us+m3", "Someone is at the door. Let's move on to the hiring plan."),
    ("say", "en-us+grandma", "We want to hire two engineers before March."),
    (
        "say",
        "en-us+benjamin",
        "Action item: Alice is going to write the job description by Friday.",
    ),
    ("say", "en-us+m3", "We decided to keep the old servers for one more year."),
    ("sound", "phone ringing"),
    ("say", "en-us+grandma", "Our next meeting is on Monday. Thanks everyone."),
)


def demo_meeting() -> Scene:
    """The meeting ``moss-agent demo`` records: like ``meeting()``, with an action item that
    names its owner, a decision and the next meeting (about 36 s)."""
    return compose(DEMO_MEETING_SCRIPT, speakers=MEETING_SPEAKERS)  # type: ignore[arg-type]
