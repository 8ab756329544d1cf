# ruff: noqa: F811 - the lite fixtures are imported, then requested by name
"""The real lite backend (faster-whisper tiny.en, webrtcvad, CAM++ speaker embeddings, acoustic sound
detector) on real espeak-ng speech with known text, onsets, voices and sounds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from perception import transcribe
from perception.audio import AudioDecodeError
from perception.backends.lite import HEURISTICS_MODEL, LiteBackend
from perception.engine import Perceiver
from perception.events import (
    Event,
    SoundCategory,
    SoundEvent,
    SpeakerTurn,
    TranscriptSegment,
    VoiceTraits,
)
from perception.scoring import normalise_text, onset_errors, word_error_rate
from perception.synthetic import DISTINCT_VOICES, Scene, compose, speak
from perception.windowing import WindowConfig

SR = 16_000
FOX = "We want to hire two engineers before March."


def _segments(events: list[Event]) -> list[TranscriptSegment]:
    return [e for e in events if isinstance(e, TranscriptSegment)]


def _text(events: list[Event]) -> str:
    return " ".join(s.text for s in _segments(events))


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


@pytest.fixture(scope="module")
def fox() -> np.ndarray:
    return np.concatenate(
        [np.zeros(SR // 2, np.float32), speak(FOX, "en-us+m3"), np.zeros(SR // 2, np.float32)]
    )


# --- the meeting: words, timing, speakers, sounds -----------------------------------------


def test_word_error_rate_on_the_meeting(
    lite_meeting_events: list[Event], meeting_scene: Scene
) -> None:
    reference = " ".join(u.text for u in meeting_scene.utterances)
    assert word_error_rate(reference, _text(lite_meeting_events)) <= 0.15


def test_segment_starts_match_known_onsets(
    lite_meeting_events: list[Event], meeting_scene: Scene
) -> None:
    errors = onset_errors(
        [u.start for u in meeting_scene.utterances],
        [s.start for s in _segments(lite_meeting_events)],
    )
    assert float(np.median(errors)) <= 0.3
    assert float(np.max(errors)) <= 1.0


def _speaker_map(events: list[Event], scene: Scene) -> dict[str, Counter[str | None]]:
    """For each true speaker, the ids given to the segments that overlap their utterances."""
    found: dict[str, Counter[str | None]] = {}
    for seg in _segments(events):
        best = max(scene.utterances, key=lambda u: _overlap(u.start, u.end, seg.start, seg.end))
        if _overlap(best.start, best.end, seg.start, seg.end) > 0:
            found.setdefault(best.speaker, Counter())[seg.speaker] += 1
    return found


def test_three_voices_get_three_stable_ids(
    lite_meeting_events: list[Event], meeting_scene: Scene
) -> None:
    found = _speaker_map(lite_meeting_events, meeting_scene)
    assert set(found) == {"Bob", "Alice", "Carol"}
    ids = {person: set(c) for person, c in found.items()}
    assert all(len(v) == 1 for v in ids.values()), ids  # one id per voice, every time
    assert len(set.union(*ids.values())) == 3  # and three different ids
    assert set.union(*ids.values()) == {"S1", "S2", "S3"}


def test_speaker_ids_stay_stable_across_many_windows(
    lite_backend: LiteBackend, meeting_scene: Scene
) -> None:
    events = list(
        Perceiver(lite_backend, WindowConfig(length=9.0, hop=7.0)).process_array(
            meeting_scene.audio, "many-windows"
        )
    )
    windows = {s.window_id for s in _segments(events)}
    assert len(windows) >= 4
    found = _speaker_map(events, meeting_scene)
    ids = {person: set(c) for person, c in found.items()}
    assert all(len(v) == 1 for v in ids.values()), ids
    assert len(set.union(*ids.values())) == 3
    turns = [e for e in events if isinstance(e, SpeakerTurn)]
    assert len(turns) == 6 and [t.speaker for t in turns][:2] == ["S1", "S2"]


def test_files_run_in_two_stages_with_the_same_events_as_one_by_one(
    lite_backend: LiteBackend, meeting_scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whisper on the next window while this one's speakers and sounds are worked out on a
    worker thread: the same events, ids and embeddings as one window after another."""
    config = WindowConfig(length=9.0, hop=7.0)
    piped = list(Perceiver(lite_backend, config).process_array(meeting_scene.audio, "two-stages"))
    monkeypatch.setattr(lite_backend, "pipelined", False)
    plain = list(Perceiver(lite_backend, config).process_array(meeting_scene.audio, "two-stages"))
    assert len({e.window_id for e in plain}) >= 4
    assert [e.model_dump() for e in piped] == [e.model_dump() for e in plain]


def test_a_window_s_speech_frames_do_not_depend_on_what_was_heard_before(
    meeting_scene: Scene,
) -> None:
    from perception.vad import VoiceActivityDetector

    clip, before = meeting_scene.audio[: 8 * SR], meeting_scene.audio[8 * SR :]
    vad = VoiceActivityDetector()
    alone = vad.frames(clip, fresh=True).speech
    assert np.array_equal(vad.frames(clip).speech, alone)
    vad.frames(before)  # webrtcvad adapts to what it hears ...
    assert not np.array_equal(vad.frames(clip).speech, alone)
    assert np.array_equal(vad.frames(clip, fresh=True).speech, alone)  # ... unless fresh
    assert alone.mean() > 0.3


def test_doorbell_and_phone_are_found_between_utterances(
    lite_meeting_events: list[Event], meeting_scene: Scene
) -> None:
    sounds = [e for e in lite_meeting_events if isinstance(e, SoundEvent)]
    for truth, word in zip(meeting_scene.sounds, ("chime", "ringing"), strict=True):
        hits = [
            s
            for s in sounds
            if _overlap(s.start, s.end, truth.start, truth.end) >= 0.8 * (truth.end - truth.start)
        ]
        assert len(hits) == 1, (truth, sounds)
        hit = hits[0]
        assert hit.category == SoundCategory.TONAL and word in hit.label
        assert hit.heuristic and hit.backend == "lite" and hit.model == HEURISTICS_MODEL
        assert abs(hit.start - truth.start) < 0.1 and abs(hit.end - truth.end) < 0.2
    # Nothing tonal is reported on top of speech.
    for s in sounds:
        for u in meeting_scene.utterances:
            assert _overlap(s.start, s.end, u.start, u.end) < 0.2, (s, u)


def test_every_event_names_its_backend_model_and_session(lite_meeting_events: list[Event]) -> None:
    kinds = Counter(e.kind for e in lite_meeting_events)
    assert (
        kinds["transcript"] >= 6
        and kinds["sound"] >= 2
        and kinds["voice"] >= 5
        and kinds["speaker"] >= 5
    )
    for e in lite_meeting_events:
        assert (
            e.backend == "lite"
            and e.model
            and e.session_id == "meeting"
            and e.window_id is not None
        )
    assert {e.model for e in _segments(lite_meeting_events)} == {
        "whisper-tiny.en (faster-whisper int8)"
    }
    starts = [e.start for e in _segments(lite_meeting_events)]
    assert starts == sorted(starts)


def test_voice_traits_are_marked_heuristic(lite_meeting_events: list[Event]) -> None:
    traits = [e for e in lite_meeting_events if isinstance(e, VoiceTraits)]
    assert traits and all(t.heuristic and t.speaker for t in traits)
    for t in traits:
        assert {"pitch", "pace", "loudness"} <= set(t.traits)
        assert 60 <= float(t.traits["pitch_hz"]) <= 400


# --- window edges through words --------------------------------------------------------------


def test_words_cut_by_window_edges_are_kept_once(
    lite_backend: LiteBackend, meeting_scene: Scene
) -> None:
    # No pause-seeking: cuts fall every 5 s, inside utterances; windows overlap by 2 s.
    cfg = WindowConfig(length=7.0, hop=5.0, cut_in_pauses=False)
    events = list(Perceiver(lite_backend, cfg).process_array(meeting_scene.audio, "edges"))
    reference = " ".join(u.text for u in meeting_scene.utterances)
    hyp = normalise_text(_text(events))
    ref = normalise_text(reference)
    assert word_error_rate(reference, _text(events)) <= 0.25
    assert abs(len(hyp) - len(ref)) <= 3  # nothing doubled, nothing lost at the ~6 cuts
    assert not [a for a, b in zip(hyp, hyp[1:], strict=False) if a == b]  # no "the the"
    words = [w for s in _segments(events) for w in s.words]
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))


# --- inputs ----------------------------------------------------------------------------------


def test_silent_file_gives_no_transcript(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(20 * SR, np.float32), SR)
    assert [e for e in transcribe(path) if e.kind == "transcript"] == []


@pytest.mark.parametrize(
    "rate, channels, fmt", [(8_000, 2, "wav"), (48_000, 1, "flac"), (44_100, 2, "ogg")]
)
def test_other_rates_layouts_and_containers(
    tmp_path: Path, fox: np.ndarray, rate: int, channels: int, fmt: str
) -> None:
    scene = Scene(audio=fox)
    wav = tmp_path / f"fox.{rate}.wav"
    scene.write(str(wav), sample_rate=rate, channels=channels)
    path = wav
    if fmt != "wav":
        path = tmp_path / f"fox.{fmt}"
        data, r = sf.read(wav)
        sf.write(path, data, r, format=fmt.upper())
    events = list(transcribe(path, session_id="fox"))
    segs = _segments(events)
    assert word_error_rate(FOX, _text(events)) <= 0.25
    assert abs(segs[0].start - 0.5) < 0.3


def test_mp3(tmp_path: Path, fox: np.ndarray) -> None:
    import subprocess

    wav = tmp_path / "fox.wav"
    sf.write(wav, fox, SR)
    mp3 = tmp_path / "fox.mp3"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), str(mp3)], check=True)
    assert word_error_rate(FOX, _text(list(transcribe(mp3)))) <= 0.25


def test_clipped_speech_is_still_transcribed(lite_backend: LiteBackend, fox: np.ndarray) -> None:
    clipped = np.clip(fox * 8.0, -1.0, 1.0)
    assert float(np.mean(np.abs(clipped) >= 1.0)) > 0.05  # really clipped
    events = list(Perceiver(lite_backend).process_array(clipped, "clipped"))
    assert word_error_rate(FOX, _text(events)) <= 0.35


def test_corrupt_and_empty_files_fail_before_any_model_loads(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"ID3" + bytes(range(256)) * 10)
    with pytest.raises(AudioDecodeError):
        list(transcribe(bad))
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(AudioDecodeError, match="empty"):
        list(transcribe(empty))


# --- live and ask ------------------------------------------------------------------------------


def test_live_feed_gives_each_utterance_soon_after_it_ends(lite_backend: LiteBackend) -> None:
    scene = compose(
        [
            ("say", DISTINCT_VOICES[0], "Please call me back tomorrow."),
            ("say", DISTINCT_VOICES[1], "I will call you back before noon."),
        ],
        gap=1.0,
    )
    perceiver = Perceiver(lite_backend, session_id="live")
    step = int(0.02 * SR)
    arrivals: list[tuple[float, TranscriptSegment]] = []
    for i in range(0, len(scene.audio), step):
        for e in perceiver.feed((scene.audio[i : i + step] * 32767).astype(np.int16).tobytes()):
            if isinstance(e, TranscriptSegment):
                arrivals.append(((i + step) / SR, e))
    rest = perceiver.flush()
    assert len(arrivals) == 2 and not _segments(rest)
    for (fed, seg), utt in zip(arrivals, scene.utterances, strict=True):
        assert word_error_rate(utt.text, seg.text) <= 0.3
        assert fed - utt.end < 0.6  # in stream time: out after a short pause, not at the end
    assert arrivals[0][1].speaker != arrivals[1][1].speaker


def test_ask_answers_from_what_it_heard(lite_backend: LiteBackend, meeting_scene: Scene) -> None:
    clip = meeting_scene.audio[int(5.0 * SR) : int(12.0 * SR)]
    answer = lite_backend.ask(clip, "What sound did you hear?")
    assert answer.index("chime") < answer.index("budget")  # sounds first for a sound question
    assert "does not reason" in answer


# --- real voices and Whisper's text ------------------------------------------------------------


def test_real_voices_taking_turns_get_two_ids_live_and_refined(lite_backend: LiteBackend) -> None:
    """Two people from a real recorded dialogue (tests/fixtures/voices), turns 0.4-0.9 s apart."""
    from perception.speaker_refinement import refine_speakers

    voices = Path(__file__).resolve().parents[1] / "fixtures" / "voices"
    parts, truth, t = [np.zeros(SR // 2, np.float32)], [], 0.5
    for i, name in enumerate(("a1", "b1", "a2", "b2", "a3", "b3")):
        clip = sf.read(voices / f"{name}.flac", dtype="float32")[0]
        truth.append((t, t + len(clip) / SR, name[0]))
        gap = np.zeros(int((0.4 + 0.1 * i) * SR), np.float32)
        parts += [clip, gap]
        t += (len(clip) + len(gap)) / SR
    events = list(Perceiver(lite_backend).process_array(np.concatenate(parts), "real-voices"))
    for found in (events, refine_speakers(events)):
        ids: dict[str, Counter[str | None]] = {}
        for seg in _segments(found):
            person = max(truth, key=lambda x: _overlap(x[0], x[1], seg.start, seg.end))[2]
            ids.setdefault(person, Counter())[seg.speaker] += 1
        assert set(ids) == {"a", "b"}
        a, b = ids["a"].most_common(1)[0][0], ids["b"].most_common(1)[0][0]
        assert a != b and {s.speaker for s in _segments(found)} == {a, b}, ids
    assert all(
        s.speaker_embedding is not None and len(s.speaker_embedding) == 192
        for s in _segments(events)
        if s.duration >= 0.5
    )


def test_text_joins_words_the_way_whisper_does(lite_backend: LiteBackend) -> None:
    audio = np.concatenate(
        [
            np.zeros(SR // 2, np.float32),
            speak("It cost 20,000 dollars. We meet at 10 o'clock.", "en-us"),
            np.zeros(SR, np.float32),
        ]
    )
    segs = _segments(list(Perceiver(lite_backend).process_array(audio, "join")))
    text = " ".join(s.text for s in segs)
    assert "$20,000" in text and "10 o'clock" in text, text
    assert " ," not in text and " '" not in text


def test_only_sure_non_speech_keeps_whisper_from_a_window() -> None:
    from perception.backends.lite import _only_non_speech
    from perception.events import SoundCategory
    from perception.sound_detector import DetectedSound

    def sound(category: SoundCategory, confidence: float) -> DetectedSound:
        return DetectedSound(0.0, 5.0, "x", category, confidence)

    assert _only_non_speech([sound(SoundCategory.TONAL, 0.8), sound(SoundCategory.NOISE, 0.6)])
    assert _only_non_speech([sound(SoundCategory.MUSIC, 0.6)])  # melodic
    # Voices over background noise can look like "music (mixed)": Whisper still hears it.
    assert not _only_non_speech([sound(SoundCategory.MUSIC, 0.5)])
    assert not _only_non_speech([sound(SoundCategory.SPEECH, 0.5)])
    assert not _only_non_speech([sound(SoundCategory.SILENCE, 0.9)])


@pytest.mark.parametrize(
    "script",
    [
        (("sound", "phone ringing"),),
        (("sound", "noise burst"), ("pause", 1.0), ("sound", "doorbell")),
        (("say", "en-us+m3", "Can everyone hear me now?"), ("sound", "phone ringing")),
        (("pause", 2.0),),
    ],
)
def test_the_early_stopping_probe_agrees_with_the_full_detector(script: tuple) -> None:
    from perception.backends.lite import _only_non_speech
    from perception.sound_detector import SoundDetector
    from perception.synthetic import compose

    audio = compose(list(script), noise_level=0.0, seed=1).audio  # type: ignore[arg-type]
    detector = SoundDetector()
    assert _only_non_speech(detector.sounds(audio)) == _only_non_speech(detector.detect(audio))
