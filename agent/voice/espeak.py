"""espeak-ng as a speech synthesiser: text in, 16-bit mono PCM out, streamed as it is made.

espeak-ng ships with Debian, runs far faster than real time on one core and needs no model
download, so it is the local voice of the assistant. It writes a WAV stream to stdout whose
header sizes are placeholders; we read the 44-byte header for the rate and pass the rest on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import struct
import subprocess
from collections.abc import AsyncIterator

logger = logging.getLogger(__name__)

_WAV_HEADER_BYTES = 44
_READ_BYTES = 4096


class EspeakError(RuntimeError):
    """espeak-ng is missing or failed; the message says what to do."""


def espeak_executable() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise EspeakError(
            "espeak-ng is not installed: run `make setup` (or `apt-get install espeak-ng`)"
        )
    return exe


@functools.cache
def known_voices() -> frozenset[str]:
    """Language codes, voice names and file names espeak-ng accepts for ``-v`` (lower case)."""
    out = subprocess.run(
        [espeak_executable(), "--voices"], capture_output=True, text=True, check=False
    ).stdout
    names: set[str] = set()
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5:
            names.update(
                {cols[1].lower(), cols[3].lower(), cols[4].lower(), cols[4].split("/")[-1].lower()}
            )
    return frozenset(names)


def check_voice(voice: str) -> None:
    """Refuse a voice espeak-ng does not have (it would silently fall back to another)."""
    base = voice.split("+", 1)[0].lower()
    if base not in known_voices():
        raise EspeakError(
            f"espeak-ng has no voice {voice!r}; list them with `espeak-ng --voices` "
            "(a variant may follow '+', e.g. en-us+f3)"
        )


def _parse_header(header: bytes) -> int:
    """Sample rate from a canonical PCM WAV header; refuses anything but 16-bit mono."""
    if len(header) < _WAV_HEADER_BYTES or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        raise EspeakError("espeak-ng did not produce a WAV stream (is the voice installed?)")
    channels, rate = struct.unpack_from("<HI", header, 22)
    bits = struct.unpack_from("<H", header, 34)[0]
    if channels != 1 or bits != 16:
        raise EspeakError(f"unexpected espeak-ng output: {channels} channels, {bits} bits")
    return int(rate)


async def synthesize_pcm(
    text: str, *, voice: str = "en-us", words_per_minute: int = 175, pitch: int = 50
) -> AsyncIterator[tuple[int, bytes]]:
    """Yield ``(sample_rate, int16 mono PCM bytes)`` chunks as espeak-ng produces them."""
    check_voice(voice)
    proc = await asyncio.create_subprocess_exec(
        espeak_executable(),
        "-v",
        voice,
        "-s",
        str(words_per_minute),
        "-p",
        str(pitch),
        "--stdout",
        "--",
        text,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        try:
            header = await proc.stdout.readexactly(_WAV_HEADER_BYTES)
        except asyncio.IncompleteReadError as exc:
            err = (await proc.stderr.read()).decode(errors="replace").strip()
            raise EspeakError(
                f"espeak-ng failed for voice {voice!r}: {err or 'no output'}"
            ) from exc
        rate = _parse_header(header)
        carry = b""
        while chunk := await proc.stdout.read(_READ_BYTES):
            chunk = carry + chunk
            # keep whole samples only; an odd byte waits for the next read
            cut = len(chunk) - (len(chunk) % 2)
            carry = chunk[cut:]
            if cut:
                yield rate, chunk[:cut]
        code = await proc.wait()
        if code != 0:
            err = (await proc.stderr.read()).decode(errors="replace").strip()
            raise EspeakError(f"espeak-ng exited with {code}: {err}")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
