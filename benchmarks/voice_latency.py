"""Voice-to-voice latency of the local WebRTC endpoint: end of the user's speech to the
first answer audio arriving back, p50 and p95, all local on the CPU.

Starts the endpoint in this process (lite perception, rules reasoner, espeak-ng voice,
in-memory-free SQLite), connects a WebRTC client (aiortc: Opus both ways, as a browser
would) that speaks espeak-ng questions into the call in real time, and timestamps, per
question, the last sample of speech sent and the first non-silent answer audio received.
The data channel's transcript and answer messages give the split: end of speech ->
transcript (perception), -> answer (reasoner), -> first audio back (TTS and transport).

    .venv/bin/python benchmarks/voice_latency.py [--rounds 3] [--compare]

``--compare`` adds two more calls, each question asked of every call in turn: one with
interim transcripts, one whose replies start from a quick per-utterance Whisper transcript
instead of the engine's (both with interims).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from agent.bus.in_process import EventBus
from agent.reasoning.registry import get_reasoner
from agent.voice.browser.endpoint import call_handler
from agent.voice.browser.server import VoiceServer
from agent.voice.livekit.assistant import VoiceAssistant
from memory import open_memory
from perception import synthetic
from perception.backends import get_backend

RATE = 48_000
FRAME = 960  # 20 ms
CONTEXT = "We keep the printer in the basement."
QUESTIONS = (
    "Who mentioned the basement?",
    "What was said in the last minute?",
    "What happened so far?",
)


class ScriptedMicrophone(MediaStreamTrack):
    """Plays queued 48 kHz audio in real time (silence otherwise); notes when each clip ends."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pending = np.zeros(0, np.int16)
        self._start: float | None = None
        self._pts = 0
        self.clip_ends: list[float] = []
        self._ends_at: list[int] = []  # sample positions where queued clips end
        self._sent = 0

    def say(self, audio16k: np.ndarray) -> None:
        from scipy.signal import resample_poly

        pcm = (np.clip(resample_poly(audio16k, 3, 1), -1, 1) * 32767).astype(np.int16)
        self._pending = np.concatenate([self._pending, pcm])
        self._ends_at.append(self._sent + len(self._pending))

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.time()
        else:
            self._pts += FRAME
            await asyncio.sleep(max(0.0, self._start + self._pts / RATE - time.time()))
        chunk, self._pending = self._pending[:FRAME], self._pending[FRAME:]
        self._sent += len(chunk)
        while self._ends_at and self._sent >= self._ends_at[0]:
            self._ends_at.pop(0)
            self.clip_ends.append(time.time())
        if len(chunk) < FRAME:
            self._sent += FRAME - len(chunk)
            chunk = np.concatenate([chunk, np.zeros(FRAME - len(chunk), np.int16)])
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(chunk.tobytes())
        frame.pts, frame.sample_rate, frame.time_base = self._pts, RATE, fractions.Fraction(1, RATE)
        return frame


async def _listen(track: MediaStreamTrack, onsets: list[float], threshold: float = 0.01) -> None:
    """Record the wall time when answer audio starts after a silence."""
    silent_for = 1.0
    while True:
        try:
            frame = await track.recv()
        except Exception:
            return
        pcm = frame.to_ndarray().astype(np.float32) / 32768
        loud = float(np.sqrt(np.mean(pcm**2))) > threshold
        if loud and silent_for >= 0.5:
            onsets.append(time.time())
        silent_for = 0.0 if loud else silent_for + frame.samples / frame.sample_rate


class Caller:
    """One WebRTC call into one endpoint: a scripted microphone, the answer track, the data channel."""

    def __init__(self, backend, quick: bool, interims: bool) -> None:
        self.memory = open_memory(str(Path(tempfile.mkdtemp()) / "memory.db"))
        assistant = VoiceAssistant(
            backend, self.memory, get_reasoner("rules"), bus=EventBus(),
            quick_transcripts=quick, interim_transcripts=interims,
        )  # fmt: skip
        self.server = VoiceServer(call_handler(assistant), port=0)
        self.mic = ScriptedMicrophone()
        self.pc = RTCPeerConnection()
        self.messages: list[tuple[float, dict]] = []
        self.onsets: list[float] = []
        self._listeners: list[asyncio.Task] = []
        self.results: dict[str, list[float]] = {
            "total": [],
            "transcript": [],
            "answer": [],
            "audio": [],
        }

    async def connect(self) -> None:
        await self.server.start()
        self.pc.addTrack(self.mic)
        channel = self.pc.createDataChannel("events")
        channel.on("message", lambda m: self.messages.append((time.time(), json.loads(m))))
        self.pc.on(
            "track",
            lambda t: self._listeners.append(asyncio.ensure_future(_listen(t, self.onsets))),
        )
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                self.server.url + "offer",
                json={"sdp": self.pc.localDescription.sdp, "type": "offer"},
            ) as r,
        ):
            answer = await r.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(**answer))

    async def ask(self, question: str, clip: np.ndarray) -> None:
        mic, onsets = self.mic, self.onsets
        n_ends, n_onsets, n_msgs = len(mic.clip_ends), len(onsets), len(self.messages)
        mic.say(clip)
        deadline = time.time() + 30
        while len(onsets) <= n_onsets and time.time() < deadline:
            await asyncio.sleep(0.02)
        if len(onsets) <= n_onsets or len(mic.clip_ends) <= n_ends:
            print(f"no answer to {question!r} within 30 s")
            return
        end, onset = mic.clip_ends[n_ends], onsets[n_onsets]
        new = self.messages[n_msgs:]
        t_final = next((t for t, m in new if m["type"] == "transcript" and m.get("final")), None)
        t_answer = next((t for t, m in new if m["type"] == "answer"), None)
        self.results["total"].append(onset - end)
        if t_final and t_answer:
            self.results["transcript"].append(t_final - end)
            self.results["answer"].append(t_answer - t_final)
            self.results["audio"].append(onset - t_answer)
        print(f"{question!r}: {onset - end:.3f} s")
        await asyncio.sleep(4.0)  # let the answer play out (and stay out of the next turn)
        while time.time() - max(onsets[-1], end) < 1.0:
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        for task in self._listeners:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.pc.close()
        await self.server.stop()
        self.memory.close()


async def run(
    rounds: int, backend, modes: list[tuple[str, bool, bool]]
) -> dict[str, dict[str, list[float]]]:
    """Each question goes to each mode's call in turn, so load drifts hit all modes alike."""
    callers = {label: Caller(backend, quick, interims) for label, quick, interims in modes}
    for caller in callers.values():
        await caller.connect()
    clips = {q: synthetic.speak(q, "en-us", words_per_minute=150) for q in QUESTIONS}
    pause = np.zeros(16_000, np.float32)
    context = np.concatenate(
        [pause, synthetic.speak(CONTEXT, "en-gb+f3", words_per_minute=150), pause]
    )
    await asyncio.sleep(1.0)
    for caller in callers.values():
        caller.mic.say(context)
        await asyncio.sleep(6.0)  # context transcribed and stored; no reply expected
    for _ in range(rounds):
        for question in QUESTIONS:
            for label, caller in callers.items():
                print(f"[{label}] ", end="")
                await caller.ask(question, clips[question])
    for caller in callers.values():
        await caller.close()
    return {label: caller.results for label, caller in callers.items()}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _table(results: dict[str, list[float]]) -> None:
    print("| stage | p50 | p95 |\n|---|---|---|")
    labels = {
        "transcript": "end of speech -> final transcript",
        "answer": "transcript -> answer text",
        "audio": "answer text -> first answer audio received",
        "total": "**end of speech -> first answer audio**",
    }
    for key, label in labels.items():
        values = results[key]
        if values:
            print(f"| {label} | {statistics.median(values):.3f} | {_pct(values, 0.95):.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="times each question is asked (default 3)"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also measure, interleaved with the default: interim transcripts, and quick finals",
    )
    args = parser.parse_args()
    backend = get_backend("lite")
    modes = [("engine finals, no interim transcripts (default)", False, False)]
    if args.compare:
        modes += [
            ("engine finals + interim transcripts", False, True),
            ("quick finals + interims", True, True),
        ]
    tables = asyncio.run(run(args.rounds, backend, modes))
    backend.close()
    for label, results in tables.items():
        print(f"\n{label}: voice-to-voice latency over {len(results['total'])} questions (seconds)")
        _table(results)


if __name__ == "__main__":
    main()
