"""Child process for the crash test: ingests an endless stream of segments in batches and
prints ``committed N`` each time N events are safely stored, until it is killed."""

from __future__ import annotations

import sys
from collections.abc import Iterator

from memory import open_memory
from perception.events import TranscriptSegment, Word

WORDS_PER_SEGMENT = 4


def segment(i: int) -> TranscriptSegment:
    start = float(i)
    words = [
        Word(start=start + k * 0.2, end=start + k * 0.2 + 0.15, text=f"w{i}_{k}", speaker="S1")
        for k in range(WORDS_PER_SEGMENT)
    ]
    return TranscriptSegment(
        start=start,
        end=start + 0.9,
        text=" ".join(w.text for w in words),
        speaker="S1",
        words=words,
    )


def stream(batch_size: int) -> Iterator[TranscriptSegment]:
    i = 0
    while True:
        # Asked for event i (a multiple of the batch size): the batch before it is committed.
        if i and i % batch_size == 0:
            print(f"committed {i}", flush=True)
        yield segment(i)
        i += 1


def main() -> None:
    url, session_id, batch_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    memory = open_memory(url)
    memory.ingest(session_id, stream(batch_size), batch_size=batch_size)


if __name__ == "__main__":
    main()
