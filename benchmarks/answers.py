"""Answers to the questions people ask about a meeting: scored per category.

Each question set under ``benchmarks/question_sets/`` is one meeting (an espeak-ng script
with several voices and sounds, or a real recording of the speaker dev set with its
reference turns) and its questions with their truth: facts that must appear in the
answer, facts that must not, the moments that must be cited (within 2 s of the utterance
or sound that holds the answer), or "not discussed". The meetings are recorded through
the real lite backend into memory (the recorded events are cached under
``benchmarks/out/answers-cache/``, keyed by the script), every question goes through the
real ``ask`` path with the default reasoner, and the table per category is printed (and
with ``--docs`` written into docs/BENCHMARKS.md), with the median question -> answer time.

    .venv/bin/python benchmarks/answers.py [--label after] [--docs] [--show-failures]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import re
import statistics
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SETS_DIR = ROOT / "benchmarks" / "question_sets"
CACHE_DIR = ROOT / "benchmarks" / "out" / "answers-cache"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
CITE_TOLERANCE = 2.0
CATEGORIES = (
    "time",
    "sounds",
    "people",
    "decisions",
    "paraphrase",
    "followup",
    "summary",
    "negative",
)

# How an answer says the session holds nothing about the question.
NOT_DISCUSSED = re.compile(
    r"\bnobody (?:mentioned|said|talked)|\bnothing (?:about|was said about|on)\b|\bnot (?:discussed|mentioned)\b|"
    r"\bnever (?:mentioned|came up|discussed)|\bno one (?:mentioned|said)|\bdid not come up\b|\bwas not talked about\b",
    re.I,
)
REFUSED = re.compile(r"\bI did not understand\b|\bI can answer questions about\b", re.I)

log = logging.getLogger("benchmarks.answers")


# -- the question sets --------------------------------------------------------------------


@dataclass
class Question:
    q: str
    category: str
    facts: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    cite: list[str] = field(default_factory=list)
    negative: bool = False
    after: str | None = None


@dataclass
class QuestionSet:
    name: str
    title: str
    speakers: dict[str, str]
    script: list[tuple[str, ...]]
    questions: list[Question]
    # A real recording instead of a script: "speaker-devset:NAME" (benchmarks/speaker_devset.py),
    # with its reference turns (start, end, speaker label, what is said).
    recording: str | None = None
    lines: list[tuple[float, float, str, str]] = field(default_factory=list)

    def key(self) -> str:
        text = json.dumps([self.script, self.speakers, self.recording, self.lines], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]


def load_sets(names: Sequence[str] | None = None, directory: Path = SETS_DIR) -> list[QuestionSet]:
    out = []
    for path in sorted(directory.glob("*.toml")):
        if names and path.stem not in names:
            continue
        data = tomllib.loads(path.read_text())
        questions = [Question(**q) for q in data.get("question", [])]
        for q in questions:
            if q.category not in CATEGORIES:
                raise ValueError(f"{path.name}: unknown category {q.category!r} for {q.q!r}")
        out.append(
            QuestionSet(
                path.stem,
                data["title"],
                dict(data["speakers"]),
                [tuple(x) for x in data.get("script", [])],
                questions,
                data.get("recording"),
                [
                    (float(s), float(e), str(who), str(text))
                    for s, e, who, text in data.get("lines", [])
                ],
            )
        )
    return out


# -- recording ----------------------------------------------------------------------------


@dataclass
class Truth:
    """Where each line and sound of a set's meeting is, from the composed scene."""

    utterances: list[tuple[float, float, str, str]]  # start, end, speaker name, text
    sounds: list[tuple[float, float, str]]  # start, end, label

    def most_talk(self) -> str:
        talk: dict[str, float] = defaultdict(float)
        for start, end, name, _ in self.utterances:
            talk[name] += end - start
        return max(talk, key=lambda n: talk[n])

    def spans_for(self, entry: str) -> list[tuple[float, float]]:
        """(start, end) of the sounds (``sound:LABEL``) or utterances (text fragments,
        ``|``-separated) an entry names."""
        if entry.startswith("sound:"):
            label = entry.split(":", 1)[1]
            return [(s, e) for s, e, lab in self.sounds if lab == label]
        fragments = [f.strip().lower() for f in entry.split("|")]
        return [
            (s, e) for s, e, _, text in self.utterances if any(f in text.lower() for f in fragments)
        ]


def _recording(qset: QuestionSet) -> tuple[Path, Truth]:
    """A real recording's file (built by benchmarks/speaker_devset.py) and its truth."""
    source, _, name = (qset.recording or "").partition(":")
    if source != "speaker-devset" or not name:
        raise ValueError(f"{qset.name}: unknown recording {qset.recording!r}")
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    from speaker_devset import DEFAULT_CACHE, build

    wav = DEFAULT_CACHE / f"{name}.wav"
    if not wav.exists():
        build()
    truth = Truth([(s, e, qset.speakers.get(who, who), text) for s, e, who, text in qset.lines], [])
    return wav, truth


def recorded_events(qset: QuestionSet, cache: Path = CACHE_DIR) -> tuple[list[Any], Truth]:
    """The meeting's events as the lite backend recorded them into memory (cached)."""
    from memory import open_memory
    from perception.events import event_from_json, event_to_json
    from perception.synthetic import compose

    scene = None
    if qset.recording:
        recording, truth = _recording(qset)
    else:
        scene = compose(qset.script, speakers=qset.speakers)  # type: ignore[arg-type]
        truth = Truth(
            [(u.start, u.end, u.speaker, u.text) for u in scene.utterances],
            [(s.start, s.end, s.label) for s in scene.sounds],
        )
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{qset.name}-{qset.key()}.jsonl"
    if path.exists():
        return [
            event_from_json(line) for line in path.read_text().splitlines() if line.strip()
        ], truth
    from agent.recording.recorder import Recorder
    from perception.backends import get_backend

    log.info("recording %s with the lite backend", qset.name)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / f"{qset.name}.wav"
        if scene is not None:
            scene.write(str(wav))
        else:
            wav.write_bytes(recording.read_bytes())
        backend = get_backend("lite")
        try:
            with open_memory(f"sqlite:///{tmp}/rec.db") as memory:
                result = Recorder(memory, backend).record_file(wav, qset.title)
                events = memory.session_events(result.session.id)
        finally:
            backend.close()
    path.write_text("".join(event_to_json(e) + "\n" for e in events))
    return list(events), truth


def scripted_events(qset: QuestionSet) -> tuple[list[Any], Truth]:
    """The meeting's truth as events, without perception (for the fast test subset)."""
    from agent.testing import EventScript
    from perception.synthetic import compose

    if qset.recording:
        lines = [(s, e, qset.speakers.get(who, who), text) for s, e, who, text in qset.lines]
        truth = Truth(lines, [])
    else:
        scene = compose(qset.script, speakers=qset.speakers)  # type: ignore[arg-type]
        truth = Truth(
            [(u.start, u.end, u.speaker, u.text) for u in scene.utterances],
            [(s.start, s.end, s.label) for s in scene.sounds],
        )
    ids = {
        name: f"S{i + 1}"
        for i, name in enumerate(dict.fromkeys(name for _, _, name, _ in truth.utterances))
    }
    script = EventScript()
    for start, end, name, text in truth.utterances:
        script.say(ids[name], text, at=start, duration=end - start)
    for start, end, label in truth.sounds:
        script.sound(label, at=start, duration=end - start)
    return script.events, truth


def ask_set(memory: Any, qset: QuestionSet, events: list[Any], truth: Truth) -> list[Outcome]:
    """Store one meeting and ask all its questions; the scored outcomes."""
    session_id, ids = load_meeting(memory, qset, events, truth)
    outcomes = []
    for question in qset.questions:
        text = _fill(question.q, ids, truth)
        answer, seconds = asyncio.run(ask_question(memory, session_id, text, question.after))
        correct, refused, false_never, missing = score(question, answer, truth, ids)
        outcomes.append(
            Outcome(
                qset.name,
                question,
                text,
                answer.answer,
                correct,
                refused,
                false_never,
                missing,
                seconds,
            )
        )
    return outcomes


def load_meeting(
    memory: Any, qset: QuestionSet, events: list[Any], truth: Truth
) -> tuple[str, dict[str, str]]:
    """Store the recorded events as a session, name its speakers after the people who spoke
    (as ``moss-agent speakers --rename`` would) and build its minutes; returns the session id
    and the name -> speaker id map."""
    info = memory.create_session(qset.title, source=f"{qset.name}.wav", backend="lite")
    memory.ingest(info.id, [e.model_copy() for e in events])
    overlap: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for e in events:
        if getattr(e, "kind", None) != "transcript" or not e.speaker:
            continue
        for start, end, name, _ in truth.utterances:
            overlap[e.speaker][name] += max(0.0, min(end, e.end) - max(start, e.start))
    ids: dict[str, str] = {}
    for speaker, names in sorted(overlap.items(), key=lambda item: -max(item[1].values())):
        name = max(names, key=lambda n: names[n])
        if names[name] > 0:
            ids.setdefault(name, speaker)  # {id:Name} is the id that holds most of Name's talk
            memory.rename_speaker(info.id, speaker, name)
    try:
        from memory.minutes import refresh_minutes
    except ImportError:
        log.info("no minutes in this version of memory")
    else:
        refresh_minutes(memory, info.id)
    return info.id, ids


# -- asking and scoring -------------------------------------------------------------------


@dataclass
class Outcome:
    set_name: str
    question: Question
    text: str
    answer: str
    correct: bool
    refused: bool
    false_never: bool
    missing: list[str]
    seconds: float


def _fill(text: str, ids: dict[str, str], truth: Truth) -> str:
    text = re.sub(r"\{id:(\w+)\}", lambda m: ids.get(m.group(1), m.group(1)), text)
    return text.replace("{most}", truth.most_talk())


def score(
    question: Question, answer: Any, truth: Truth, ids: dict[str, str]
) -> tuple[bool, bool, bool, list[str]]:
    """(correct, refused, false "never mentioned", what was missing) for one answer."""
    text = answer.answer
    refused = (not answer.understood) or bool(REFUSED.search(text))
    says_nothing = bool(NOT_DISCUSSED.search(text))
    missing: list[str] = []
    if question.negative:
        if not says_nothing:
            missing.append("not discussed")
    else:
        for fact in question.facts:
            if not re.search(_fill(fact, ids, truth), text, re.I):
                missing.append(f"fact {fact!r}")
        for fact in question.absent:
            if re.search(_fill(fact, ids, truth), text, re.I):
                missing.append(f"absent {fact!r}")
        for entry in question.cite:
            spans = truth.spans_for(entry)
            if not spans:
                raise ValueError(f"cite {entry!r} of {question.q!r} matches nothing in the script")
            # A citation starts within 2 s of the utterance's start, or inside it (a real
            # recording's reference turn may hold several sentences).
            if not any(
                start - CITE_TOLERANCE <= c.start <= max(end, start + CITE_TOLERANCE)
                for c in answer.citations
                for start, end in spans
            ):
                missing.append(f"citation {entry!r}")
    if refused:
        missing.append("refused")
    false_never = not question.negative and says_nothing
    if false_never:  # even when the closest passages quoted hold the facts
        missing.append('said "not discussed"')
    return not missing, refused, false_never, missing


async def ask_question(
    memory: Any, session_id: str, text: str, after: str | None
) -> tuple[Any, float]:
    """Ask through the real ``ask`` path (as ``moss-agent ask`` does); a follow-up is asked
    after its first question in one conversation. Returns the answer and its seconds."""
    import inspect

    from agent.reasoning.ask import ask
    from agent.reasoning.registry import get_reasoner
    from tools import builtin_registry

    reasoner = get_reasoner("rules", registry=builtin_registry(sync_in_thread=False))
    follow = "conversation" in inspect.signature(ask).parameters
    conversation = None
    if after is not None:
        if follow:
            first = await ask(memory, session_id, after, reasoner, conversation="new")
            conversation = first.conversation
        else:  # this version keeps no conversation: the question is asked alone
            await ask(memory, session_id, after, reasoner)
    started = time.perf_counter()
    if follow and conversation:
        answer = await ask(memory, session_id, text, reasoner, conversation=conversation)
    else:
        answer = await ask(memory, session_id, text, reasoner)
    return answer, time.perf_counter() - started


def run(sets: list[QuestionSet], db_url: str) -> list[Outcome]:
    from memory import open_memory

    outcomes: list[Outcome] = []
    with open_memory(db_url) as memory:
        for qset in sets:
            events, truth = recorded_events(qset)
            outcomes += ask_set(memory, qset, events, truth)
    return outcomes


def table(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    rows = []
    for category in (*CATEGORIES, "all"):
        mine = [o for o in outcomes if category == "all" or o.question.category == category]
        if not mine:
            continue
        rows.append(
            {
                "category": category,
                "questions": len(mine),
                "correct": sum(o.correct for o in mine),
                "refused": sum(o.refused for o in mine),
                "false_never": sum(o.false_never for o in mine),
            }
        )
    return rows


def render(rows: list[dict[str, Any]], before: list[dict[str, Any]] | None = None) -> str:
    old = {r["category"]: r for r in before or []}
    head = '| category | questions | correct with citations | refused | false "never mentioned" |'
    if old:
        head = (
            "| category | questions | before: correct | after: correct | before: refused | after: refused "
            "| before: false never | after: false never |"
        )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        pct = f"{r['correct']}/{r['questions']} ({100 * r['correct'] / r['questions']:.0f}%)"
        if old:
            o = old.get(
                r["category"],
                {"correct": 0, "questions": r["questions"], "refused": 0, "false_never": 0},
            )
            opct = f"{o['correct']}/{o['questions']} ({100 * o['correct'] / max(1, o['questions']):.0f}%)"
            lines.append(
                f"| {r['category']} | {r['questions']} | {opct} | {pct} | {o['refused']} | {r['refused']} | "
                f"{o['false_never']} | {r['false_never']} |"
            )
        else:
            lines.append(
                f"| {r['category']} | {r['questions']} | {pct} | {r['refused']} | {r['false_never']} |"
            )
    return "\n".join(lines)


DOCS_HEADING = "## Answers to people's questions (rules reasoner)"


def write_docs(text: str) -> None:
    """Replace (or append) this benchmark's section of docs/BENCHMARKS.md."""
    docs = DOCS.read_text()
    start = docs.find(DOCS_HEADING)
    if start < 0:
        docs = docs.rstrip() + "\n\n" + text.rstrip() + "\n"
    else:
        nxt = docs.find("\n## ", start + len(DOCS_HEADING))
        docs = docs[:start] + text.rstrip() + "\n" + (docs[nxt:] if nxt >= 0 else "")
    DOCS.write_text(docs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sets", nargs="*", help="question set names (default: all)")
    parser.add_argument(
        "--label", default="after", help="name of this run's results file (e.g. before, after)"
    )
    parser.add_argument(
        "--before", help="label of an earlier run to show side by side (default: before if saved)"
    )
    parser.add_argument(
        "--docs", action="store_true", help="write the table into docs/BENCHMARKS.md"
    )
    parser.add_argument("--show-failures", action="store_true", help="print every wrong answer")
    parser.add_argument("--show-all", action="store_true", help="print every answer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sets = load_sets(args.sets)
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = run(sets, f"sqlite:///{tmp}/answers.db")
    rows = table(outcomes)
    latencies = sorted(o.seconds for o in outcomes)
    p50 = statistics.median(latencies) * 1000
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    (CACHE_DIR.parent / f"answers-{args.label}.json").write_text(
        json.dumps({"rows": rows, "p50_ms": p50, "failures": [
            {"set": o.set_name, "q": o.text, "missing": o.missing, "answer": o.answer}
            for o in outcomes if not o.correct
        ]}, indent=1)
    )  # fmt: skip
    before_label = args.before or ("before" if args.label != "before" else None)
    before_path = CACHE_DIR.parent / f"answers-{before_label}.json" if before_label else None
    before = json.loads(before_path.read_text()) if before_path and before_path.exists() else None
    text = render(rows, before["rows"] if before else None)
    sys.stdout.write(text + "\n")
    sys.stdout.write(f"p50 question -> answer: {p50:.1f} ms over {len(outcomes)} questions")
    if before:
        sys.stdout.write(f" (before: {before['p50_ms']:.1f} ms)")
    sys.stdout.write("\n")
    if args.show_failures or args.show_all:
        for o in outcomes:
            if args.show_all or not o.correct:
                sys.stdout.write(
                    f"\n[{o.set_name}/{o.question.category}] {o.text}\n  missing: {', '.join(o.missing) or '-'}\n"
                )
                sys.stdout.write("  " + o.answer.replace("\n", "\n  ")[:600] + "\n")
    if args.docs:
        n_sets = len(sets)
        section = (
            f"{DOCS_HEADING}\n\n"
            f"Command: `.venv/bin/python benchmarks/answers.py --docs`. {len(outcomes)} questions over "
            f"{n_sets} espeak-ng meetings (three voices each, doorbell, phone and noise; "
            "`benchmarks/question_sets/`), recorded through the lite backend into SQLite memory, asked "
            "through `agent.reasoning.ask.ask` with the `rules` reasoner. Correct means every fact present, no "
            "forbidden fact, every required moment cited within 2 s, not refused; negatives must say "
            "the topic was not discussed. Machine: 2-core x86_64, 24 GiB, no GPU, loaded by other jobs.\n\n"
            + text
            + f"\n\np50 question -> answer: {p50:.1f} ms"
            + (f" (before: {before['p50_ms']:.1f} ms)" if before else "")
            + " (meetings of about a minute; see above for a day of memory).\n"
        )
        wrong = [o for o in outcomes if not o.correct]
        if wrong:
            section += "\nWrong answers of this run:\n\n" + "".join(
                f'- {o.set_name}/{o.question.category}: "{o.text}" ({"; ".join(o.missing)})\n'
                for o in wrong
            )
        write_docs(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
