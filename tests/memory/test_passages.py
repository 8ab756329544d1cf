"""Segment embeddings stored at ingestion, and hybrid (full-text + semantic) passage search."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from memory import Memory, MemoryStoreError
from memory.embeddings import DIM, TextEmbedder, content_words, default_embedder, from_blobs
from memory.semantic import SENTENCE_WEAK_FLOOR
from perception.events import TranscriptSegment
from tests.memory.planning_meeting import LINES, layout, line_time, planning_meeting_events


@pytest.fixture
def meeting(memory: Memory) -> str:
    session = memory.create_session("planning")
    memory.ingest(session.id, planning_meeting_events())
    return session.id


def _lines_of(hits: list) -> set[int]:  # type: ignore[type-arg]
    starts = {round(start, 2): i for i, (start, *_rest) in enumerate(layout())}
    return {starts[round(h.start, 2)] for h in hits}


def test_content_words_drop_stop_words_and_question_words() -> None:
    assert content_words("What did they say about the QA for the launch?", question=True) == [
        "quality", "assurance", "testing", "launch",
    ]  # fmt: skip
    assert content_words("Yeah, um, okay.") == []


def test_embedder_loads_from_the_package_folder_and_gives_unit_vectors() -> None:
    embedder = TextEmbedder()  # no network: files are read from the installed wheel
    vectors = embedder.embed(
        ["the budget for next quarter", "yeah okay", "we are hiring engineers"]
    )
    assert vectors.shape == (3, DIM)
    assert np.allclose(np.linalg.norm(vectors[[0, 2]], axis=1), 1.0, atol=1e-5)
    assert not vectors[1].any()  # nothing but stop words
    budget, hiring = vectors[0], vectors[2]
    costs = embedder.embed_query("what about the costs?")
    assert costs @ budget > costs @ hiring


def test_every_stored_segment_has_its_vector(memory: Memory, meeting: str) -> None:
    with memory.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT e.text, v.vector FROM events e JOIN segment_vectors v ON v.event_pk = e.id "
                "WHERE e.session_id = :sid ORDER BY e.start_time"
            ),
            {"sid": meeting},
        ).all()
    assert [r[0] for r in rows] == [line for _, line in LINES]
    stored = from_blobs([bytes(r[1]) for r in rows])
    fresh = default_embedder().embed([r[0] for r in rows])
    assert np.allclose(stored, fresh, atol=2e-3)  # float16 storage
    # Ingesting the same events again adds no vectors.
    memory.ingest(meeting, planning_meeting_events())
    with memory.engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM segment_vectors")).scalar()
    assert count == len(LINES)


@pytest.mark.parametrize(
    ("question", "said_as"),
    [
        ("what about the costs?", {5, 9, 10}),  # budget, save, dollars
        ("when is the release?", {16, 25, 28}),  # the launch
        ("what did they say about QA?", {17, 21, 22, 23}),  # testing
        ("anything about the relocation?", {43, 44, 45, 55}),  # the office move
        # Static sub-word vectors put 'recruiting' (rec+ruit+ing) near 'recap'; the
        # sentence vectors find the hiring lines.
        ("what about recruiting?", set(range(31, 43))),
        ("who will do the job interviews?", set(range(38, 43))),
        ("when do we meet again?", {64}),
    ],
)
def test_paraphrases_are_found(
    memory: Memory, meeting: str, question: str, said_as: set[int]
) -> None:
    found = memory.search_passages(meeting, question, limit=3)
    assert found.relevant, f"nothing found for {question!r}; closest {found.closest}"
    assert _lines_of(found.hits) & said_as, (question, [h.segment.text for h in found.hits])


@pytest.mark.parametrize(
    "question",
    ["did anyone mention the holiday party?", "what about the christmas bonus?", "football"],
)
def test_things_never_discussed_are_not_found_but_the_closest_are_kept(
    memory: Memory, meeting: str, question: str
) -> None:
    found = memory.search_passages(meeting, question)
    assert not found.strong
    if not found.relevant:
        assert found.hits == [] and 1 <= len(found.closest) <= 3
        assert all(h.similarity < SENTENCE_WEAK_FLOOR for h in found.closest)


def test_keyword_hits_rank_first_and_are_marked(memory: Memory, meeting: str) -> None:
    found = memory.search_passages(meeting, "landlord", limit=5)
    assert found.strong
    assert all("landlord" in h.segment.text.lower() for h in found.hits[:3])
    assert found.hits[0].keyword_rank is not None and "[landlord" in found.hits[0].snippet


def test_speaker_and_time_filters(memory: Memory, meeting: str) -> None:
    by_s2 = memory.search_passages(meeting, "testing the payment flow", limit=10, speakers=["s2"])
    assert by_s2.hits and {h.speaker for h in by_s2.hits} == {"S2"}
    memory.rename_speaker(meeting, "S3", "Carol")
    by_carol = memory.search_passages(meeting, "landlord", speakers=["carol"])
    assert by_carol.hits and {h.speaker for h in by_carol.hits} == {"S3"}
    start, end = line_time(43), line_time(58)
    late = memory.search_passages(meeting, "budget costs building", limit=10, start=start, end=end)
    assert late.hits and all(start - 10 <= h.start <= end for h in late.hits)
    with pytest.raises(MemoryStoreError, match="no speaker 'S9'.*known speakers: S1, S2, S3"):
        memory.search_passages(meeting, "budget", speakers=["S9"])
    assert memory.resolve_speaker(meeting, "CAROL") == "S3"
    assert memory.resolve_speaker(meeting, "s1") == "S1"
    assert memory.resolve_speaker(meeting, "Zed") is None
    said = memory.transcript_by_speaker(meeting, ["Carol"])
    assert len(said) == sum(1 for who, _ in LINES if who == "S3")


def test_new_segments_are_searchable_at_once(memory: Memory, meeting: str) -> None:
    assert not memory.search_passages(meeting, "espresso").strong
    late = TranscriptSegment(
        start=900.0,
        end=904.0,
        speaker="S2",
        text="The espresso machine in the kitchen is broken again.",
    )
    memory.ingest(meeting, [late])
    found = memory.search_passages(meeting, "espresso")
    assert found.strong and found.hits[0].start == 900.0


@pytest.mark.parametrize("table", ["segment_vectors", "sentence_vectors"])
def test_segments_stored_without_vectors_get_them_when_searched(
    memory: Memory, meeting: str, table: str
) -> None:
    memory.search_passages(meeting, "budget")
    with memory.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {table}"))
    fresh = Memory(memory.engine)  # a new process opening an old database
    assert fresh.search_passages(meeting, "relocation").relevant
    with memory.engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == len(LINES)


def test_sentence_vectors_come_after_ingestion_and_follow_new_speech(
    memory: Memory, meeting: str
) -> None:
    def stored() -> int:
        with memory.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM sentence_vectors")).scalar() or 0)

    assert stored() == 0  # ingestion stays fast: no sentence model on its path
    assert memory.index_meaning(meeting) == len(LINES)
    assert memory.index_meaning(meeting) == 0  # idempotent
    with pytest.raises(MemoryStoreError, match="no session"):
        memory.index_meaning("nope")
    outage = TranscriptSegment(
        start=905.0, end=909.0, speaker="S1", text="The chat tool was down for the whole day."
    )
    memory.ingest(meeting, [outage])
    found = memory.search_passages(meeting, "what about the outage?")
    assert stored() == len(LINES) + 1  # the search embedded the new line
    assert found.relevant and 905.0 in [h.start for h in found.hits[:3]]


def test_sentence_embedder_matches_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    from memory.sentences import DIM as SENTENCE_DIM
    from memory.sentences import default_sentence_embedder, package_folder

    embedder = default_sentence_embedder()
    assert embedder is not None
    texts = ["The auditors arrive on the third of May.", "what was said about the outage?", ""]
    ours = embedder.embed(texts)
    assert ours.shape == (3, SENTENCE_DIM) and not ours[2].any()
    reference = SentenceTransformer(str(package_folder()), device="cpu").encode(
        texts[:2], normalize_embeddings=True
    )
    assert np.allclose(ours[:2], reference, atol=1e-5)


def test_deleting_a_session_deletes_its_vectors(memory: Memory, meeting: str) -> None:
    memory.search_passages(meeting, "budget")
    memory.delete_session(meeting)
    with memory.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM segment_vectors")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM sentence_vectors")).scalar() == 0
    with pytest.raises(MemoryStoreError, match="no session"):
        memory.search_passages(meeting, "budget")


def test_empty_and_stop_word_queries(memory: Memory, meeting: str) -> None:
    assert memory.search_passages(meeting, "what did they say?").hits == []
    with pytest.raises(MemoryStoreError):
        memory.search_passages("missing", "budget")


def test_the_whole_question_finds_what_its_subject_alone_misses(memory: Memory) -> None:
    session = memory.create_session("call").id
    lines = [
        ("S1", "This is Diane in New Jersey."),
        ("S2", "And I'm Sheila in Texas, originally from Chicago."),
        ("S1", "Oh, I'm originally from Chicago also."),
        ("S2", "At least, you know, they all call me a Yankee down here."),
    ]
    memory.ingest(
        session,
        [
            TranscriptSegment(start=4.0 * i, end=4.0 * i + 3, speaker=who, text=text)
            for i, (who, text) in enumerate(lines)
        ],
    )
    assert not memory.search_passages(session, "live").relevant  # one word says too little
    found = memory.search_passages(session, "live", question="where does Sheila live?")
    assert found.relevant and found.hits[0].segment.text.startswith("And I'm Sheila")
