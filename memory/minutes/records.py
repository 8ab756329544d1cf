"""The minutes of a session: topics and cited items, as stored in ``minutes_items``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ItemKind = Literal["decision", "action", "question", "disagreement", "next_meeting"]
ITEM_KINDS: tuple[ItemKind, ...] = (
    "decision",
    "action",
    "question",
    "disagreement",
    "next_meeting",
)


@dataclass(frozen=True)
class Citation:
    """A transcript segment an item rests on: when, who, what was said."""

    start: float
    end: float
    speaker: str | None
    text: str


@dataclass(frozen=True)
class Topic:
    """A stretch of the session about one thing, in time order (``index`` from 0)."""

    index: int
    title: str
    keywords: list[str]
    start: float
    end: float
    speakers: list[str]
    citations: list[Citation] = field(default_factory=list)


@dataclass(frozen=True)
class MinutesItem:
    """A decision, action item, question, disagreement or the next meeting.

    ``owner`` (actions) is a speaker id or the name said ("Dave"); ``deadline`` the phrase
    said ("by Friday"); ``resolved`` tells an answered question or a settled disagreement
    (``resolution`` says how) from an open one; ``topic`` is the ``Topic.index``.
    """

    kind: ItemKind
    text: str
    start: float
    end: float
    speaker: str | None
    owner: str | None = None
    deadline: str | None = None
    resolution: str | None = None
    resolved: bool | None = None
    topic: int | None = None
    citations: list[Citation] = field(default_factory=list)


@dataclass(frozen=True)
class Minutes:
    """Everything the minutes of one session hold; ``through`` is the session time they
    cover, ``method`` who wrote them ("rules", or a model)."""

    session_id: str
    topics: list[Topic]
    decisions: list[MinutesItem]
    actions: list[MinutesItem]
    questions: list[MinutesItem]
    disagreements: list[MinutesItem]
    next_meeting: MinutesItem | None
    method: str
    through: float

    @property
    def open_questions(self) -> list[MinutesItem]:
        return [q for q in self.questions if not q.resolved]

    def summary_line(self) -> str:
        return (
            f"minutes: {len(self.topics)} topics, {len(self.decisions)} decisions, "
            f"{len(self.actions)} action items, {len(self.open_questions)} open questions, "
            f"{len(self.disagreements)} disagreements"
        )

    def compact(self) -> dict[str, Any]:
        """The minutes as a model reads them: one line per item with its time and who said
        it; answered questions only counted; further citations as their start times."""

        def line(item: MinutesItem) -> dict[str, Any]:
            data: dict[str, Any] = {"time": item.start, "speaker": item.speaker, "text": item.text}
            for key in ("owner", "deadline", "resolution", "topic"):
                if getattr(item, key) is not None:
                    data[key] = getattr(item, key)
            if item.kind == "disagreement":
                data["resolved"] = bool(item.resolved)
            more = [c.start for c in item.citations if c.start != item.start]
            if more:
                data["also_at"] = more
            return data

        return {
            "topics": [
                {
                    "index": t.index,
                    "title": t.title,
                    "keywords": t.keywords,
                    "start": t.start,
                    "end": t.end,
                    "speakers": t.speakers,
                }
                for t in self.topics
            ],  # fmt: skip
            "decisions": [line(i) for i in self.decisions],
            "actions": [line(i) for i in self.actions],
            "open_questions": [line(i) for i in self.open_questions],
            "answered_questions": len(self.questions) - len(self.open_questions),
            "disagreements": [line(i) for i in self.disagreements],
            "next_meeting": line(self.next_meeting) if self.next_meeting else None,
            "method": self.method,
        }

    def items(self) -> list[MinutesItem]:
        """Every item (not the topics), in time order."""
        found = [*self.decisions, *self.actions, *self.questions, *self.disagreements]
        if self.next_meeting is not None:
            found.append(self.next_meeting)
        return sorted(found, key=lambda item: (item.start, item.kind))


def _citations(raw: list[dict[str, Any]]) -> list[Citation]:
    return [Citation(**c) for c in raw]


def to_rows(minutes: Minutes) -> list[dict[str, Any]]:
    """``minutes_items`` rows (without session and id) for the topics and items."""
    rows = []
    for topic in minutes.topics:
        details = asdict(topic)
        title = details.pop("title")
        for key in ("start", "end"):
            details.pop(key)
        rows.append(
            {"kind": "topic", "start_time": topic.start, "end_time": topic.end, "text": title,
             "speaker": None, "details": details}
        )  # fmt: skip
    for item in minutes.items():
        details = asdict(item)
        for key in ("kind", "text", "start", "end", "speaker"):
            details.pop(key)
        rows.append(
            {"kind": item.kind, "start_time": item.start, "end_time": item.end, "text": item.text,
             "speaker": item.speaker, "details": details}
        )  # fmt: skip
    return rows


def from_rows(
    session_id: str,
    method: str,
    through: float,
    rows: list[tuple[str, float, float, str, str | None, dict[str, Any]]],
) -> Minutes:
    """Minutes back from ``(kind, start, end, text, speaker, details)`` rows in time order."""
    topics: list[Topic] = []
    by_kind: dict[str, list[MinutesItem]] = {kind: [] for kind in ITEM_KINDS}
    for kind, start, end, text, speaker, details in rows:
        data = dict(details or {})
        citations = _citations(data.pop("citations", []))
        if kind == "topic":
            topics.append(Topic(title=text, start=start, end=end, citations=citations, **data))
        elif kind in by_kind:
            by_kind[kind].append(
                MinutesItem(kind=kind, text=text, start=start, end=end, speaker=speaker,  # type: ignore[arg-type]
                            citations=citations, **data)
            )  # fmt: skip
    topics.sort(key=lambda t: t.index)
    return Minutes(
        session_id=session_id,
        topics=topics,
        decisions=by_kind["decision"],
        actions=by_kind["action"],
        questions=by_kind["question"],
        disagreements=by_kind["disagreement"],
        next_meeting=by_kind["next_meeting"][-1] if by_kind["next_meeting"] else None,
        method=method,
        through=through,
    )
