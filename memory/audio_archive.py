"""The session's audio kept as FLAC chunks, so any time range can be listened to again.

FLAC is lossless (16-bit) and roughly halves speech audio; chunks of ``CHUNK_SECONDS`` keep
a re-listen of a few seconds from decoding the whole recording.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from memory import timeline
from memory.errors import MemoryStoreError
from memory.schema import AudioChunkRow
from memory.store import Store

SAMPLE_RATE = 16_000
CHUNK_SECONDS = 30.0


@dataclass(frozen=True)
class EncodedChunk:
    start: float
    end: float
    sample_count: int
    data: bytes


def _as_mono_float(samples: np.ndarray) -> np.ndarray:
    array = np.asarray(samples)
    if array.ndim != 1:
        raise MemoryStoreError(
            f"audio to archive must be mono (one dimension), got shape {array.shape}; "
            "mix it down to 16 kHz mono first"
        )
    if array.dtype.kind not in "fi":
        raise MemoryStoreError(f"audio samples must be numbers, got dtype {array.dtype}")
    if array.dtype.kind == "i":
        array = array.astype(np.float32) / float(np.iinfo(array.dtype).max)
    if not np.all(np.isfinite(array)):
        raise MemoryStoreError("audio to archive contains NaN or infinite samples")
    return np.clip(array.astype(np.float32), -1.0, 1.0)


def encode_chunks(start: float, samples_16k: np.ndarray) -> list[EncodedChunk]:
    """Cut 16 kHz mono audio starting at ``start`` s into FLAC chunks."""
    if start < 0:
        raise MemoryStoreError(f"audio cannot start before the session (start={start})")
    audio = _as_mono_float(samples_16k)
    step = int(CHUNK_SECONDS * SAMPLE_RATE)
    chunks = []
    for offset in range(0, len(audio), step):
        piece = audio[offset : offset + step]
        buffer = io.BytesIO()
        sf.write(buffer, piece, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
        chunk_start = start + offset / SAMPLE_RATE
        chunks.append(
            EncodedChunk(
                start=chunk_start,
                end=chunk_start + len(piece) / SAMPLE_RATE,
                sample_count=len(piece),
                data=buffer.getvalue(),
            )
        )
    return chunks


def assemble(t0: float, t1: float, chunks: Sequence[tuple[float, bytes]]) -> np.ndarray:
    """The samples of [t0, t1] from ``(start, flac bytes)`` chunks; gaps are silence."""
    if t1 < t0:
        t0, t1 = t1, t0
    first = round(t0 * SAMPLE_RATE)
    out = np.zeros(max(0, round(t1 * SAMPLE_RATE) - first), dtype=np.float32)
    for chunk_start, data in chunks:
        try:
            audio, rate = sf.read(io.BytesIO(data), dtype="float32")
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise MemoryStoreError(
                f"the archived audio chunk at {chunk_start:.1f}s is damaged ({exc}); "
                "archive that range again"
            ) from exc
        if rate != SAMPLE_RATE:
            raise MemoryStoreError(
                f"archived chunk at {chunk_start:.1f}s has rate {rate}, not 16 kHz"
            )
        at = round(chunk_start * SAMPLE_RATE) - first
        lo, hi = max(0, at), min(len(out), at + len(audio))
        if hi > lo:
            out[lo:hi] = audio[lo - at : hi - at]
    return out


class AudioArchiveStore(Store):
    """A session's audio as FLAC chunks, read back sample-exact by time range."""

    def archive_audio(self, session_id: str, start: float, samples_16k: np.ndarray) -> int:
        """Keep ``samples_16k`` (16 kHz mono) starting at ``start`` s as FLAC chunks; returns
        the number of chunks written. Archiving the same range again replaces it."""
        chunks = encode_chunks(start, samples_16k)
        with self.engine.begin() as conn:
            timeline.require_session(conn, session_id)
            for chunk in chunks:
                conn.execute(
                    delete(AudioChunkRow).where(
                        AudioChunkRow.session_id == session_id,
                        AudioChunkRow.start_time == chunk.start,
                    )
                )
            if chunks:
                conn.execute(
                    insert(AudioChunkRow),
                    [
                        {
                            "session_id": session_id,
                            "start_time": c.start,
                            "end_time": c.end,
                            "sample_rate": SAMPLE_RATE,
                            "sample_count": c.sample_count,
                            "codec": "flac",
                            "data": c.data,
                        }
                        for c in chunks
                    ],
                )
        return len(chunks)

    def read_audio(self, session_id: str, t0: float, t1: float) -> np.ndarray:
        """16 kHz mono float32 audio of [t0, t1]; parts never archived are silence."""
        with Session(self.engine) as db:
            timeline.require_session(db, session_id)
            rows = db.execute(
                select(AudioChunkRow.start_time, AudioChunkRow.data)
                .where(
                    AudioChunkRow.session_id == session_id,
                    AudioChunkRow.start_time < t1,
                    AudioChunkRow.end_time > t0,
                )
                .order_by(AudioChunkRow.start_time)
            ).all()
        return assemble(t0, t1, [(start, data) for start, data in rows])
