"""``Memory.recluster_speakers``: regroup stored speaker ids from stored voice embeddings
(real voices from tests/fixtures/voices), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from memory import Memory
from perception.events import SpeakerTurn, TranscriptSegment, Word
from perception.speaker_embedding import CampPlusEmbedder

VOICES = Path(__file__).resolve().parents[1] / "fixtures" / "voices"
CLIPS = ("a1", "b1", "a2", "b2", "a3", "b3")


@pytest.fixture(scope="module")
def vectors() -> dict[str, list[float]]:
    embedder = CampPlusEmbedder()
    out = {}
    for name in CLIPS:
        audio, _ = sf.read(VOICES / f"{name}.flac", dtype="float32")
        out[name] = np.asarray(embedder.embed(audio), np.float32).tolist()
    return out


def _store(memory: Memory, vectors: dict[str, list[float]]) -> str:
    session = memory.create_session("dialogue")
    events = []
    for i, k in enumerate(CLIPS):
        start = 3.0 * i
        live = "S1" if i < 3 else "S3"  # live ids that mix the two people up
        events.append(
            TranscriptSegment(
                start=start,
                end=start + 3.0,
                text=k,
                speaker=live,
                speaker_embedding=vectors[k],
                words=[Word(start=start, end=start + 1.0, text=k, speaker=live)],
            )
        )
        events.append(SpeakerTurn(start=start, end=start + 3.0, speaker=live))
    memory.ingest(session.id, events)
    return session.id


def test_recluster_rewrites_ids_keeps_names_and_is_idempotent(memory: Memory, vectors) -> None:  # type: ignore[no-untyped-def]
    sid = _store(memory, vectors)
    stored = memory.transcript_between(sid, 0, 100)
    assert stored[0].speaker_embedding == vectors["a1"]  # embeddings read back exactly
    memory.rename_speaker(sid, "S1", "Alice")
    result = memory.recluster_speakers(sid)
    assert result.segments == 6 and result.changed > 0
    segs = memory.transcript_between(sid, 0, 100)
    a, b = segs[0].speaker, segs[1].speaker
    assert a != b and [s.speaker for s in segs] == [a, b, a, b, a, b]
    assert all(w.speaker == s.speaker for s in segs for w in s.words)
    turns = [e for e in memory.session_events(sid) if isinstance(e, SpeakerTurn)]
    assert [t.speaker for t in turns] == [a, b, a, b, a, b]
    talk = {t.speaker: t for t in memory.speakers_with_talk_time(sid)}
    assert set(talk) == {a, b} and talk[a].turns == 3 and talk[a].talk_seconds == pytest.approx(9.0)
    names = memory.speaker_names(sid)
    assert set(names) == {a, b} and "Alice" in names.values()
    again = memory.recluster_speakers(sid)
    assert again.changed == 0 and memory.speaker_names(sid) == names


def test_recluster_without_embeddings_changes_nothing(memory: Memory) -> None:
    session = memory.create_session("old")
    memory.ingest(session.id, [TranscriptSegment(start=0, end=2, text="hi", speaker="S1")])
    assert memory.recluster_speakers(session.id).segments == 0
    assert memory.speaker_names(session.id) == {"S1": "S1"}


def test_speakers_recluster_command(db_url: str, vectors, capsys) -> None:  # type: ignore[no-untyped-def]
    from agent.cli import main
    from memory import open_memory

    with open_memory(db_url) as memory:
        sid = _store(memory, vectors)
    assert main(["speakers", sid, "--recluster", "--rename", "S1=Alice", "--db", db_url]) == 0
    out = capsys.readouterr()
    assert "regrouped 6 segments: 2 -> 2 speakers" in out.err
    assert "Alice" in out.out
    rows = [line.split() for line in out.out.splitlines()[1:]]
    assert len(rows) == 2 and all(r[3] == "3" for r in rows)  # three turns each
