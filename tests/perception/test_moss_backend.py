"""The local MOSS-Audio backend on the tiny parity checkpoint (random weights).

The tiny model's text is nonsense, so these tests check the plumbing: one encoder pass
per window whatever the number of tasks, batching equal to one-by-one, parsers applied
to the answers, absolute times, and clear errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from perception.backend import BackendError, BackendUnavailableError, Window
from perception.backends import get_backend
from perception.backends.moss import MossBackend
from perception.events import MusicEvent, SoundEvent, TranscriptSegment, VoiceTraits
from perception.moss import GenerationResult
from perception.parsers import PROMPTS, Task
from tests.perception.tiny_moss import PARITY_CHECKPOINT


@pytest.fixture
def backend(moss_tiny, tokenizer_dir: Path) -> MossBackend:  # type: ignore[no-untyped-def]
    model, processor = moss_tiny
    return MossBackend(model=model, processor=processor, tokenizer=tokenizer_dir, max_new_tokens=3)


def _windows(lengths: list[float], seed: int = 0) -> list[Window]:
    rng = np.random.default_rng(seed)
    return [
        Window(
            "sess",
            i,
            100.0 + 30.0 * i,
            (0.1 * rng.standard_normal(int(16000 * s))).astype(np.float32),
        )
        for i, s in enumerate(lengths)
    ]


class _EncoderCounter:
    """Counts encoder passes and the audio rows they carried."""

    def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
        self.calls = 0
        self.rows = 0
        self._inner = model.encode_audio

    def __call__(self, mel, lengths):  # type: ignore[no-untyped-def]
        self.calls += 1
        self.rows += int(lengths.shape[0])
        return self._inner(mel, lengths)


def test_one_encoder_pass_per_window_whatever_the_task_count(
    backend: MossBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows = _windows([2.0, 3.0, 2.5])
    counts = {}
    for tasks in ("transcript", "transcript,voice,sounds"):
        counter = _EncoderCounter(backend.torch_model)
        monkeypatch.setattr(backend.torch_model, "encode_audio", counter)
        backend.tasks = tasks  # type: ignore[assignment]
        backend.batch_size = 2
        backend.analyze(windows)
        counts[tasks] = (counter.calls, counter.rows)
    # 3 windows in batches of 2: two encoder passes, each window encoded exactly once.
    assert counts == {"transcript": (2, 3), "transcript,voice,sounds": (2, 3)}


def test_batching_equals_one_by_one(backend: MossBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    windows = _windows([2.0, 3.2, 1.4], seed=1)
    seen: dict[int, list[list[list[int]]]] = {}
    original = backend.generate

    def recording(audios, questions, config=None, on_token=None):  # type: ignore[no-untyped-def]
        out = original(audios, questions, config, on_token)
        seen.setdefault(backend.batch_size, []).extend([[r.token_ids for r in row] for row in out])
        return out

    monkeypatch.setattr(backend, "generate", recording)
    for size in (3, 1):
        backend.batch_size = size
        backend.analyze(windows)
    assert len(seen[3]) == len(seen[1]) == 3
    assert seen[3] == seen[1]
    assert all(len(ids) == 3 for row in seen[3] for ids in row)  # 3 tasks, 3 tokens each


def test_answers_go_through_the_parsers_with_absolute_times(
    backend: MossBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model's text is replaced by scripted answers (the tiny model only says nonsense)."""
    scripted = {
        PROMPTS[
            Task.TRANSCRIPT
        ]: "0.50 - 1.50: Hello there.\n9.0 - 12.0: past the window\ngarbage line",
        PROMPTS[
            Task.VOICE
        ]: '<think>\nhm\n</think>\n\n{"gender": "male", "emotion": "calm", "summary": "steady"}',
        PROMPTS[
            Task.SOUNDS
        ]: "1.0 - 1.8: doorbell ringing\n0.2 - 2.5: soft piano music\n3 - 1: broken",
    }
    questions_seen: list[list[str]] = []

    def scripted_generate(audios, questions, config=None, on_token=None):  # type: ignore[no-untyped-def]
        questions_seen.extend(questions)
        return [[_result(scripted[q]) for q in qs] for qs in questions]

    monkeypatch.setattr(backend, "generate", scripted_generate)
    (window,) = _windows([3.0])
    [events] = backend.analyze([window])
    assert questions_seen == [[PROMPTS[t] for t in backend.tasks]]
    described = sorted((type(e).__name__, e.start, e.end) for e in events)
    assert described == [
        ("MusicEvent", 100.2, 102.5),
        ("SoundEvent", 101.0, 101.8),
        ("TranscriptSegment", 100.5, 101.5),
        ("VoiceTraits", 100.0, 103.0),
    ]
    assert [e.start for e in events] == sorted(e.start for e in events)
    for event in events:
        assert (event.backend, event.model, event.session_id, event.window_id) == (
            "moss",
            backend.model,
            "sess",
            0,
        )
    by_kind = {type(e): e for e in events}
    assert by_kind[TranscriptSegment].text == "Hello there."
    assert by_kind[VoiceTraits].emotion == "calm" and by_kind[VoiceTraits].summary == "steady"
    assert by_kind[SoundEvent].label == "doorbell ringing"
    assert by_kind[MusicEvent].label == "soft piano music"


def _result(text: str) -> GenerationResult:
    from perception.moss import split_thinking

    thinking, answer = split_thinking(text)
    return GenerationResult([], text, thinking, answer, "stop")


def test_real_answers_never_crash_and_stay_in_the_window(backend: MossBackend) -> None:
    windows = _windows([2.0, 0.01, 2.0])  # the middle one is too short to hear anything
    results = backend.analyze(windows)
    assert len(results) == 3 and results[1] == []
    for window, events in zip(windows, results, strict=True):
        for event in events:
            assert window.start <= event.start <= event.end <= window.end


def test_ask_returns_the_answer_text(backend: MossBackend) -> None:
    (window,) = _windows([2.0])
    answer = backend.ask(window.samples, "What do you hear?")
    assert isinstance(answer, str)
    with pytest.raises(BackendError, match="at most 120 s"):
        backend.ask(np.zeros(16000 * 121, np.float32), "too long?")


def test_window_longer_than_the_model_hears_is_refused(backend: MossBackend) -> None:
    (window,) = _windows([121.0])
    with pytest.raises(BackendError, match="at most 120 s"):
        backend.analyze([window])


def test_without_tokenizer_text_tasks_fail_clearly_but_ids_work(moss_tiny) -> None:  # type: ignore[no-untyped-def]
    model, processor = moss_tiny
    ids_only = MossBackend(
        model=model, processor=processor, checkpoint=PARITY_CHECKPOINT, max_new_tokens=2
    )
    assert not ids_only.has_tokenizer
    (window,) = _windows([2.0])
    with pytest.raises(BackendUnavailableError, match="no tokenizer.*tokenizer=DIR"):
        ids_only.analyze([window])
    with pytest.raises(BackendUnavailableError, match="no tokenizer"):
        ids_only.ask(window.samples, "What?")
    [[result]] = ids_only.generate([window.samples], [[[14374, 13]]])
    assert len(result.token_ids) == 2 and result.text is None


def test_loading_from_the_checkpoint_path_via_the_registry(tokenizer_dir: Path) -> None:
    backend = get_backend("moss", checkpoint=str(PARITY_CHECKPOINT), tokenizer=str(tokenizer_dir),
                          dtype="float32", max_new_tokens=2, tasks="sounds")  # fmt: skip
    assert backend.model == "moss-audio:checkpoint" and backend.has_tokenizer
    events = backend.analyze(_windows([1.5]))
    assert len(events) == 1
    backend.close()


def test_missing_or_broken_checkpoint_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOSS_AUDIO_CHECKPOINT", raising=False)
    with pytest.raises(BackendUnavailableError, match="MOSS_AUDIO_CHECKPOINT.*hf download"):
        MossBackend()
    with pytest.raises(BackendUnavailableError, match="not a directory"):
        MossBackend(checkpoint=tmp_path / "nowhere")
    monkeypatch.setenv("MOSS_AUDIO_CHECKPOINT", str(tmp_path))
    with pytest.raises(BackendUnavailableError, match="cannot load MOSS-Audio"):
        MossBackend()
    with pytest.raises(BackendUnavailableError, match="no tokenizer files"):
        MossBackend(checkpoint=PARITY_CHECKPOINT, tokenizer=tmp_path)
    with pytest.raises(ValueError, match="unknown perception task"):
        MossBackend(checkpoint=PARITY_CHECKPOINT, tasks="transcript,dance")
