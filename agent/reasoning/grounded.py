"""Answers from grounded retrieval and the stored minutes, for the ``rules`` reasoner.

The question shapes people actually use about a meeting (what was decided or agreed, the
plan, the next meeting, who volunteered / proposed / objected, deadlines, action items, the
main topics, disagreements, why something happened, summaries) are answered from the
session's minutes (decisions, actions, open questions, disagreements, next meeting, topics)
and from hybrid passage search, each sentence citing the moment it rests on. Whatever
question no shape fits is answered from the passages that fit it best, stated as what was
said; "nothing about X" only when search finds nothing relevant, and then with what came
closest.

Everything degrades: without the ``minutes`` or ``search_passages`` tools (another tool
registry) the same answers come from keyword search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.reasoning.answer import Answer, Citation
from memory.minutes.rules import DEADLINE
from tools.clock import format_clock

if TYPE_CHECKING:
    from agent.reasoning.tool_loop import ToolLoop
    from tools.registry import ToolResult

# Words that carry no topic: question words, auxiliaries, pronouns, meeting words.
_STOP_WORDS = """
    a an the and or but if of to in on at for with about from by as into over under than then so
    is are was were be been being am do does did done doing have has had having will would shall
    should can could may might must what whats what's which who whom whose when where why how
    i me my we us our you your he him his she her it its they them their this that these those
    there here any some anyone anybody someone somebody everyone everybody people anything something
    say said says tell told talk talked talking discuss discussed mention mentioned speak spoke
    meeting session call recording conversation please give me us know let lets let's get got
    also just really very more most much many did don't didn't isn't wasn't weren't not no yes
    hello hi hey thanks thank ok okay bye goodbye sorry
"""
_STOP = frozenset(_STOP_WORDS.split())
_TOPIC_TAIL = re.compile(
    r"\b(?:about|regarding|re|on|for|with|of|concerning|around)\s+(?P<topic>.+)$", re.I
)
_LEADING = re.compile(
    r"^(?:(?:about|regarding|on|for|with|of|the|a|an|any|some|our|their|this|that)\s+)+", re.I
)

DECIDE = re.compile(
    r"\b(?:decid\w*|decision\w*|agree\w*|settle\w*|conclu\w*|resolv\w*|final\s+call|outcome)\b",
    re.I,
)
PLAN = re.compile(r"\b(?:plan|plans|planned|next\s+steps?|going\s+to\s+do|gonna\s+do)\b", re.I)
NEXT_MEETING = re.compile(
    r"\bnext\s+(?:meeting|call|session|sync|check-?in)\b|\bmeet(?:ing)?\s+again\b|\bwhen\b.*\b(?:meet|reconvene)\b|\bfollow-?up\s+meeting\b",
    re.I,
)
ACTIONS = re.compile(
    r"\baction\s*items?\b|\bto-?dos?\b|\btasks?\b|\bnext\s+steps?\b|\bfollow-?ups?\b|\bassignments?\b|\bwho\s+(?:does|do|is\s+doing)\s+what\b",
    re.I,
)
DEADLINES = re.compile(
    r"\bdeadlines?\b|\bdue\b|\bby\s+when\b|\bdue\s+dates?\b|\btime\s*lines?\b", re.I
)
OPEN_QUESTIONS = re.compile(
    r"\bopen\s+(?:questions?|issues?|points?)\b|\bunresolved\b|\bunanswered\b|\bstill\s+open\b|\bleft\s+open\b|"
    r"\bundecided\b|\bnot\s+(?:yet\s+)?decided\b|\bto\s+be\s+decided\b|\bpending\b|\bunsettled\b|\btbd\b",
    re.I,
)
ORDINAL_TOPIC = re.compile(
    r"\b(?P<which>first|second|third|fourth|fifth|last|final)\s+(?:topic|subject|item\s+on\s+the\s+agenda|agenda\s+item)\b",
    re.I,
)
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1, "final": -1}
RELATIVE = re.compile(
    r"\b(?P<when>after|before|right\s+after|just\s+after|just\s+before|following)\s+"
    r"(?:the\s+|that\s+|a\s+)?(?P<what>[a-z][a-z \-]*?)\s*(?:rang|ring|was\s+\w+|came\s+up)?\s*[?.!]*$",
    re.I,
)
DISAGREE = re.compile(
    r"\bdisagree\w*|\bobject\w*|\bpush(?:ed)?\s*back\b|\bconflicts?\b|\bargu\w+|\bagainst\b|\bdispute\w*|\bcontroversial\b|\bpushback\b",
    re.I,
)
TOPICS = re.compile(
    r"\b(?:main|key|big|major)?\s*(?:topics?|themes?|subjects?|agenda|points)\b.*\b(?:discussed|covered|talked|meeting|session|were|was|are)\b|"
    r"\bwhat\s+(?:were|are)\s+the\s+(?:main\s+|key\s+)?(?:topics|themes|subjects|points)\b|\bagenda\b|"
    r"\bwhat\s+(?:was|is)\s+(?:the\s+)?(?:meeting|session|call)\s+about\b|\bwhat\s+did\s+they\s+(?:talk|speak)\s+about\b\s*\??$",
    re.I,
)
SUMMARY = re.compile(
    r"\bsummar\w*|\brecap\b|\boverview\b|\bgist\b|\bhighlights?\b|\bbrief\s+me\b|\bwhat\s+did\s+i\s+miss\b|\btl;?dr\b",
    re.I,
)
WHY = re.compile(
    r"^\s*(?:and\s+|but\s+|so\s+)?why\b|\bwhat\s+(?:was|is)\s+the\s+reason\b|\bhow\s+come\b|\breason\s+(?:for|why)\b",
    re.I,
)
WHO_VOLUNTEERED = re.compile(
    r"\bwho\s+(?:volunteer\w*|offered|will|is\s+going\s+to|'s\s+going\s+to|agreed\s+to|took|takes|is\s+responsible|owns?|is\s+in\s+charge|signed\s+up|has\s+to|needs?\s+to|should)\b",
    re.I,
)
WHO_PROPOSED = re.compile(
    r"\bwho\s+(?:first\s+)?(?:propos\w*|suggest\w*|came\s+up\s+with|recommend\w*|brought\s+up\s+the\s+idea|had\s+the\s+idea|pitched)\b",
    re.I,
)
WHO_OBJECTED = re.compile(
    r"\bwho\s+(?:objected|disagreed|pushed\s+back|was\s+against|opposed|argued|was\s+not\s+sure|had\s+doubts)\b",
    re.I,
)
WHO_SAID_THAT = re.compile(
    r"^\s*who\s+(?:said|says|mentioned|suggested|proposed)\s+(?:that|it|this)\s*\??\s*$", re.I
)
WHO_SAID_WORDS = re.compile(
    r"\bwho\s+(?:first\s+|last\s+)?(?:said|says|mentioned|used\s+the\s+words?)\s+(?!that\b|it\b|this\b)\S",
    re.I,
)
OPINION_WORDS = frozenset({
    "think", "thought", "thinks", "feel", "felt", "opinion", "view", "views", "position",
    "want", "wanted", "wants", "propose", "suggest", "suggested", "say", "said",
})  # fmt: skip
FOLLOW_UP_WORDS = re.compile(
    r"\b(?:it|that|this|those|these|they|them|then|there|he|she|him|her)\b", re.I
)

# Sentences that give a reason, propose, commit or object (for why / who questions).
_REASON = re.compile(
    r"\bbecause\b|\bsince\b|\bso\s+(?:that\s+)?\w+\s+(?:know|can|could|will|would)\b|\bdue\s+to\b|\btoo\s+\w+|\breason\b|\bas\s+a\s+result\b|\bcaused?\b|\bso\s+that\b",
    re.I,
)
_PROPOSAL = re.compile(
    r"\bi\s+suggest\b|\bwe\s+(?:want|need)\s+to\b|\bwe\s+should\b|\bi\s+think\s+we\s+should\b|\bhow\s+about\b|\bwhy\s+don'?t\s+we\b|\blet'?s\b|\bi\s+propose\b|\bwe\s+could\b|\bi\s+recommend\b|\bmaybe\s+we\b",
    re.I,
)
_COMMIT = re.compile(
    r"\bi\s+will\b|\bi'll\b|\bi\s+can\b|\bi'm\s+going\s+to\b|\bi\s+am\s+going\s+to\b|\bi\s+volunteer\b|\bleave\s+it\s+(?:to|with)\s+me\b",
    re.I,
)
_DECISION = re.compile(
    r"\bdecid\w*|\bdecision\b|\bagree\w*|\bokay,?\s+let'?s\b|\bwe\s+will\b|\bsettled\b|\bstays?\s+(?:on|at|in|the\s+same)\b|"
    # "let's raise the price", not "let's go over the roadmap" / "let's start" / "let's move on"
    r"\blet'?s\s+(?!go\s+over\b|start\b|begin\b|talk\b|move\s+on\b|discuss\b|look\s+at\b|meet\b|get\s+started\b)\w+",
    re.I,
)
_REQUEST = re.compile(r"\bplease\b|\bcan\s+you\b|\bcould\s+you\b|\baction\s+item\b", re.I)
_QUESTION = re.compile(
    r"\?\s*$|\bopen\s+question\b|\bdecide\s+(?:that\s+)?later\b|\bnot\s+decided\b", re.I
)
_OBJECTION = re.compile(
    r"\bdisagree\b|\bnot\s+sure\b|\b(?:i\s+am|i'm)\s+(?:worried|concerned|afraid|not\s+convinced)\b|\brisky\b|\btoo\s+(?:expensive|long|late|early|risky|much)\b|\bi\s+don'?t\s+think\b|\bi\s+would\s+rather\b|\bno\s+way\b|\bagainst\b|\bobject\b|\bbad\s+idea\b",
    re.I,
)

# Words that open an agenda item: "the first topic is", "next item", "let's talk about".
AGENDA = re.compile(
    r"\b(?:first|second|third|fourth|next|last|final|biggest|main|other|another)\s+(?:item|topic|point|thing|issue|question)\b|"
    r"\bone\s+more\s+thing\b|\blet'?s\s+(?:talk\s+about|start\s+with|move\s+on\s+to|go\s+over|discuss|turn\s+to)\b|"
    r"\bmoving\s+on\s+to\b|\bon\s+the\s+agenda\b|\btoday\s+we\s+(?:need|want|have)\s+to\b",
    re.I,
)
AGENDA_LINES = 8
PASSAGES_SHOWN = 3
# Longer sessions are never read whole for one answer (a day is 15 000 segments).
LONG_SESSION = 30 * 60.0
LATEST = 10 * 60.0
TOPIC_REACH = 5 * 60.0
# A follow-up "who will do it?" looks this far past the moments of the last answer.
FOLLOW_REACH = 15.0
# A reason not in the topic's words counts only when said this close to where it came up.
REASON_REACH = 8.0
SUMMARY_LINES = 8


@dataclass
class Scope:
    """The part of the session a question is about."""

    start: float
    end: float
    phrase: str | None  # the words the user used, None for the whole session
    point: float | None = None  # the moment, for "at 7:00"

    def describe(self) -> str:
        if self.phrase is None:
            return "in the whole session"
        return f"between {format_clock(self.start)} and {format_clock(self.end)}"


@dataclass
class Line:
    """One thing said: a transcript segment, a passage or a minutes citation."""

    start: float
    end: float
    speaker: str | None
    text: str
    similarity: float = 0.0


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry the topic of ``text``."""
    return [
        w
        for w in re.findall(r"[a-z0-9][a-z0-9'\-]*", text.lower())
        if w not in _STOP and len(w) > 1
    ]


def topic_in(question: str) -> str | None:
    """The topic a question is about: the words after about/on/for/with, else its content words."""
    text = question.strip(" ?!.")
    match = _TOPIC_TAIL.search(text)
    if match:
        topic = _LEADING.sub("", match.group("topic")).strip(" ?!.,;:\"'")
        topic = re.sub(
            r"\s+(?:in|during|at)\s+(?:the\s+)?(?:session|meeting|recording|call)$",
            "",
            topic,
            flags=re.I,
        )
        if content_words(topic):
            return topic
    words = content_words(text)
    return " ".join(words) if words else None


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def overlap(a: str, b: str) -> int:
    """How many content words (by crude stem) two texts share."""
    return len({_stem(w) for w in content_words(a)} & {_stem(w) for w in content_words(b)})


class GroundedAnswers:
    """The ``rules`` reasoner's answers from minutes and passages (the base of its run,
    which provides the tool loop, the notes, the citations and the way to finish)."""

    loop: ToolLoop
    citations: list[Citation]
    question: str
    last_strong: bool = True  # the last passage search found the words or a clear meaning
    _minutes: Any = None  # the session's minutes, read once per question
    _minutes_loaded: bool = False

    @property
    def duration(self) -> float:
        raise NotImplementedError

    def note(self, step: str) -> None:
        raise NotImplementedError

    async def call(self, name: str, **arguments: Any) -> ToolResult:
        raise NotImplementedError

    def finish(self, text: str, understood: bool = True) -> Answer:
        raise NotImplementedError

    def learn_names(self) -> None:
        raise NotImplementedError

    def speaker_named_in(self, text: str) -> list[str]:
        raise NotImplementedError

    async def when_mentioned(self, topic: str, scope: Scope, *, about: bool = False) -> Answer:
        raise NotImplementedError

    async def what_was_said(self, scope: Scope, *, include_sounds: bool, rest: str) -> Answer:
        raise NotImplementedError

    # -- the plan for meeting questions and follow-ups ------------------------------------

    async def said_by(self, named: list[str], rest: str, scope: Scope) -> Answer:
        """ "What did Carol think", "Bob on the launch": that speaker's words (on the topic)."""
        names = {w.lower() for s in named for w in (s, self.loop.name_of(s) or s)}
        topic = " ".join(
            w for w in content_words(rest) if w not in names and w not in OPINION_WORDS
        )
        if not topic:
            return await self.what_was_said(scope, include_sounds=False, rest=rest)
        who = self.loop.name_of(named[0]) or named[0]
        hits, closest = await self.passages(topic, limit=6, speaker=named[0])
        hits = [h for h in hits if h.speaker in named]
        if not hits:
            return self.nothing_about(f"{topic}' from '{who}", closest)
        return self.finish(
            f"What {who} said about {topic!r}:\n" + "\n".join(self.say_line(h) for h in hits[:5])
        )

    async def meeting_plan(self, q: str, scope: Scope, timed: bool) -> Answer | None:
        """Follow-ups and the meeting shapes (grounded.py); None when none fits."""
        previous = self.loop.ctx.extras.get("previous_turns") or []
        anchors, prev_topic = self.previous_context(previous)
        if previous:
            if WHO_SAID_THAT.search(q):
                return await self.who_said_that(anchors)
            own = [w for w in content_words(q) if not FOLLOW_UP_WORDS.fullmatch(w)]
            if WHY.search(q) and len(own) <= 3:
                self.note(
                    f"A follow-up: 'why' about {prev_topic!r}, near the last answer's moments."
                )
                return await self.why(" ".join([*own, prev_topic or ""]).strip() or None, anchors)
            if FOLLOW_UP_WORDS.search(q) or len(own) <= 1:
                for pattern, kind in (
                    (WHO_PROPOSED, "proposed"),
                    (WHO_OBJECTED, "objected"),
                    (WHO_VOLUNTEERED, "volunteered"),
                ):
                    if match := pattern.search(q):
                        self.note(f"A follow-up: who {kind}, about {prev_topic!r}.")
                        words = [
                            w
                            for w in content_words(q[match.end() :])
                            if not FOLLOW_UP_WORDS.fullmatch(w)
                        ]
                        return await self.who_did(
                            kind, " ".join([*words, prev_topic or ""]).strip() or None, anchors
                        )
                if re.match(r"^\s*when\b", q, re.I) and prev_topic:
                    self.note(f"A follow-up: 'it' is {prev_topic!r}.")
                    return await self.when_mentioned(prev_topic, scope, about=True)
                if len(own) <= 2 and not self.speaker_named_in(q):
                    self.note(f"A follow-up to {previous[-1].get('question')!r}.")
                    return await self.follow_up(q, prev_topic, anchors)
        if WHO_SAID_WORDS.search(q):
            return None  # "who said 'action item'": the words themselves, not the minutes
        if NEXT_MEETING.search(q):
            return await self.next_meeting()
        for pattern, kind in (
            (WHO_PROPOSED, "proposed"),
            (WHO_OBJECTED, "objected"),
            (WHO_VOLUNTEERED, "volunteered"),
        ):
            if match := pattern.search(q):
                topic = " ".join(content_words(q[match.end() :])) or None
                return await self.who_did(kind, topic)
        if ACTIONS.search(q) or DEADLINES.search(q):
            return await self.action_items(q, deadlines=bool(DEADLINES.search(q)))
        if OPEN_QUESTIONS.search(q):
            return await self.open_questions()
        if match := ORDINAL_TOPIC.search(q):
            return await self.nth_topic(match.group("which"))
        if (match := RELATIVE.search(q)) and re.search(
            r"\b(?:said|say|happen\w*|talk\w*|discuss\w*|going\s+on)\b", q, re.I
        ):
            what = " ".join(content_words(match.group("what")))
            if what and (answer := await self.relative(match.group("when"), what)) is not None:
                return answer
        if SUMMARY.search(q) and (topic := _topic_or_none(q)) and not timed:
            return await self.topic_summary(topic)
        if DISAGREE.search(q):
            return await self.disagreements(q)
        if TOPICS.search(q) and not timed:
            return await self.main_topics()
        if DECIDE.search(q) or PLAN.search(q):
            return await self.decisions(q)
        if WHY.search(q):
            return await self.why(topic_in(re.sub(r"\bwhy\b", "", q, flags=re.I)), [])
        return None

    def previous_context(self, previous: list[dict[str, Any]]) -> tuple[list[Line], str | None]:
        """The last turn's cited moments and its topic, for "it", "that", "why?"."""
        if not previous:
            return [], None
        last = previous[-1]
        anchors = [
            Line(float(c["start"]), float(c["end"]), c.get("speaker"), str(c.get("text") or ""))
            for c in last.get("citations") or []
            if c.get("kind") == "transcript" and c.get("text")
        ]
        topic = None
        for turn in reversed(previous):
            question = str(turn.get("question") or "")
            for pattern in (WHO_PROPOSED, WHO_OBJECTED, WHO_VOLUNTEERED):
                if m := pattern.search(question):
                    question = question[m.end() :]
            words = [w for w in content_words(question) if not FOLLOW_UP_WORDS.fullmatch(w)]
            words = [
                w
                for w in words
                if not re.fullmatch(r"decid\w*|agree\w*|plan|happen\w*|said|when|why|who", w)
            ]
            if words:
                topic = " ".join(words)
                break
        return anchors, topic

    # -- reading the tools ----------------------------------------------------------------

    async def passages(
        self, query: str, limit: int = 5, *, speaker: str | None = None
    ) -> tuple[list[Line], list[Line]]:
        """(relevant passages, closest when none is relevant) for ``query``, best first;
        one search per query and question (a search for more passages answers one for
        fewer)."""
        memo: dict[tuple[str, str | None], tuple[int, list[Line], list[Line], bool]] = (
            self.__dict__.setdefault("_passages", {})
        )
        key = (query.lower(), speaker)
        if key in memo and memo[key][0] >= limit:
            _, hits, closest, self.last_strong = memo[key]
            return hits[:limit], list(closest)
        hits, closest = await self._search_passages(query, limit, speaker)
        memo[key] = (limit, hits, closest, self.last_strong)
        return list(hits), list(closest)

    async def _search_passages(
        self, query: str, limit: int, speaker: str | None
    ) -> tuple[list[Line], list[Line]]:
        self.last_strong = True
        if "search_passages" in self.loop.registry:
            args: dict[str, Any] = {"query": query, "limit": limit}
            if speaker:
                args["speaker"] = speaker
            asked = getattr(self, "question", "")
            if asked and set(content_words(query)) <= set(content_words(asked)):
                args["question"] = asked  # the subject came from this question, not an earlier one
            result = await self.call("search_passages", **args)
            if result.ok:
                value = result.value
                self.last_strong = bool(getattr(value, "strong", True))
                found = [self.line_of(p) for p in getattr(value, "passages", [])]
                hits = [h for h in found if not self.addressed(h)]
                closest = [
                    c
                    for c in (self.line_of(p) for p in getattr(value, "closest", []))
                    if not self.addressed(c)
                ]
                if len(hits) < len(found):
                    # "strong" may have rested on a question to the assistant, and meaning
                    # scores borrow from neighbouring segments: only the words themselves count
                    self.last_strong = any(overlap(query, h.text) for h in hits)
                return hits, closest
        result = await self.call("search_transcript", query=query, limit=limit)
        hits = [self.line_of(s) for s in result.value] if result.ok else []
        if speaker:
            hits = [h for h in hits if h.speaker == speaker]
        return [h for h in hits if not self.addressed(h)], []

    def line_of(self, item: Any) -> Line:
        return Line(
            float(item.start),
            float(item.end),
            getattr(item, "speaker", None),
            str(getattr(item, "text", "")).strip(),
            float(getattr(item, "similarity", 0.0) or 0.0),
        )

    async def load_minutes(self) -> Any | None:
        if self._minutes_loaded:
            return self._minutes
        self._minutes_loaded = True
        self._minutes = None
        if "minutes" in self.loop.registry:
            result = await self.call("minutes")
            if result.ok:
                self._minutes = result.value
        return self._minutes

    async def segments_between(self, start: float, end: float) -> list[Line]:
        result = await self.call("transcript_between", start=start, end=end)
        if not result.ok:
            return []
        return [
            line for line in (self.line_of(s) for s in result.value) if not self.addressed(line)
        ]

    def addressed(self, line: Line) -> bool:
        """True for what was said to the assistant itself (not evidence about the session)."""
        spans = self.loop.ctx.extras.get("addressed_spans") or ()
        return any(start - 0.5 <= line.start <= end + 0.5 for start, end in spans)

    # -- writing --------------------------------------------------------------------------

    def say_line(self, line: Line, *, full: bool = True) -> str:
        """``[mm:ss] Name: text`` and a citation of it."""
        self.learn_names()
        who = self.loop.name_of(line.speaker)
        self.citations.append(
            Citation(start=line.start, end=line.end, kind="transcript", text=line.text, speaker=who)
        )
        text = line.text if full else _short(line.text)
        return f"[{format_clock(line.start)}] {who + ': ' if who else ''}{text}"

    def cite_item(self, item: Any) -> str:
        """Cite a minutes item's moments; returns "(Name at mm:ss)"."""
        self.learn_names()
        cites = list(getattr(item, "citations", []) or [])
        if not cites:
            cites = [item]
        for c in cites:
            self.citations.append(
                Citation(
                    start=float(c.start), end=float(c.end), kind="transcript",
                    text=str(getattr(c, "text", "") or getattr(item, "text", "")),
                    speaker=self.loop.name_of(getattr(c, "speaker", None)),
                )
            )  # fmt: skip
        who = self.loop.name_of(getattr(item, "speaker", None))
        return f"({who + ' ' if who else ''}at {format_clock(float(item.start))})"

    def item_text(self, item: Any) -> str:
        text = str(item.text).strip().rstrip(".")
        extra = []
        owner = getattr(item, "owner", None)
        if owner:
            extra.append(f"owner {self.loop.name_of(owner)}")
        deadline = getattr(item, "deadline", None)
        if deadline and str(deadline).lower() not in text.lower():
            extra.append(f"due {deadline}")
        resolution = getattr(item, "resolution", None)
        if resolution:
            extra.append(f"resolved: {resolution}")
        return text + (f" [{'; '.join(extra)}]" if extra else "")

    # -- which minutes items fit a topic ---------------------------------------------------

    async def items_about(self, items: list[Any], topic: str | None) -> list[Any]:
        if not topic or not items:
            return list(items)
        hits, _ = await self.passages(topic, limit=5)

        def fits(item: Any) -> bool:
            texts = [str(item.text)] + [
                str(getattr(c, "text", "")) for c in getattr(item, "citations", []) or []
            ]
            if any(overlap(topic, t) for t in texts):
                return True
            return any(h.start - 2.0 <= float(item.start) <= h.end + 2.0 for h in hits[:2])

        return [i for i in items if fits(i)]

    # -- the answers ----------------------------------------------------------------------

    async def grounded(
        self, question: str, scope: Scope | None = None, *, heading: str | None = None
    ) -> Answer:
        """No special shape: quote the passages that fit the question best."""
        query = topic_in(question) or question
        self.note(f"No specialised plan fits; searching what was said for {query!r}.")
        hits, closest = await self.passages(query, limit=6)
        if scope is not None and scope.phrase is not None:
            hits = [h for h in hits if h.end >= scope.start and h.start <= scope.end]
        if not hits:
            return self.nothing_about(query, closest)
        shown = sorted(hits[:PASSAGES_SHOWN], key=lambda h: h.start)
        wanted = _answer_type(question)
        if wanted is not None and not any(wanted.search(h.text) for h in shown):
            # "how much ...": the amount is often said next to the subject, not in its words
            near = [
                n
                for h in shown[:2]
                for n in await self.segments_between(max(0.0, h.start - 15.0), h.end + 15.0)
            ]
            typed = sorted(
                (n for n in near if wanted.search(n.text)),
                key=lambda n: min(abs(n.start - h.start) for h in shown[:2]),
            )
            if typed:
                self.note(
                    "The question asks for an amount or a time: adding the nearest passage that states one."
                )
                shown = sorted(
                    [typed[0], *[h for h in shown if h.start != typed[0].start]][:PASSAGES_SHOWN],
                    key=lambda h: h.start,
                )
        lines = [self.say_line(h) for h in shown]
        head = heading or f"What was said about {query!r}:"
        return self.finish(head + "\n" + "\n".join(lines))

    def nothing_about(self, topic: str, closest: list[Line]) -> Answer:
        # search can miss other words for the same thing: say what it found, not what was never said
        text = f"I found nothing about {topic!r} in this session."
        if closest:
            text += " The closest was " + self.say_line(closest[0], full=False) + "."
            if len(closest) > 1:
                text += " Then " + self.say_line(closest[1], full=False) + "."
        self.note("Search found nothing relevant; said so, with what came closest.")
        return self.finish(text)

    async def decisions(self, question: str) -> Answer:
        topic = _topic_or_none(question)
        minutes = await self.load_minutes()
        items = list(getattr(minutes, "decisions", []) or []) if minutes is not None else []
        if PLAN.search(question):
            items += list(getattr(minutes, "actions", []) or []) if minutes is not None else []
        items = await self.items_about(sorted(items, key=lambda i: float(i.start)), topic)
        lines = [f"- {self.item_text(i)} {self.cite_item(i)}" for i in items[:8]]
        about = f" about {topic!r}" if topic else ""
        if lines:
            text = f"Decided{about}:\n" + "\n".join(lines)
            if topic:
                hits, _ = await self.passages(topic, limit=3)
                extra = [
                    h
                    for h in hits[:2]
                    if not any(abs(h.start - float(i.start)) < 1.0 for i in items)
                ]
                if extra:
                    text += "\nAlso said about it:\n" + "\n".join(self.say_line(h) for h in extra)
            return self.finish(text)
        self.note("The minutes hold no decision that fits; answering from what was said.")
        found = await self.marked_lines(topic, _DECISION)
        if found:
            return self.finish(
                f"Agreed{about}:\n" + "\n".join(self.say_line(line) for line in found[:4])
            )
        if topic and (span := await self.topic_span(topic)) is not None:
            start, end = span
            marker = re.compile(
                "|".join(m.pattern for m in (_DECISION, _COMMIT, _REQUEST, _PROPOSAL)), re.I
            )
            planned = [
                line for line in await self.segments_between(start, end) if marker.search(line.text)
            ]
            if planned:
                self.note(
                    f"Read the part of the meeting about {topic!r} ({format_clock(start)}-{format_clock(end)}) "
                    "for what was proposed, agreed or promised."
                )
                head = (
                    f"Where {topic!r} came up ({format_clock(start)}-{format_clock(end)}), "
                    "what was proposed, agreed or promised:"
                )
                return self.finish(
                    head + "\n" + "\n".join(self.say_line(line) for line in planned[:6])
                )
        every = list(getattr(minutes, "decisions", []) or []) if minutes is not None else []
        if topic and every:
            hits, closest = await self.passages(topic, limit=3)
            text = f"No decision is recorded about {topic!r} in those words. The decisions of the session:\n"
            text += "\n".join(f"- {self.item_text(i)} {self.cite_item(i)}" for i in every[:6])
            if hits:
                text += "\nWhat was said about it:\n" + "\n".join(
                    self.say_line(h) for h in hits[:2]
                )
            elif closest:
                text += f"\nI found nothing about {topic!r} itself; the closest:\n" + "\n".join(
                    self.say_line(c) for c in closest[:2]
                )
            return self.finish(text)
        if topic:
            return await self.grounded(
                topic,
                heading=f"No decision{about} is recorded in the minutes; what was said about it:",
            )
        return await self.grounded(
            "decided agreed decision",
            heading="No decision is recorded in the minutes; the closest passages:",
        )

    async def next_meeting(self) -> Answer:
        minutes = await self.load_minutes()
        item = getattr(minutes, "next_meeting", None) if minutes is not None else None
        if item is not None:
            return self.finish(f"Next meeting: {self.item_text(item)} {self.cite_item(item)}.")
        return await self.grounded(
            "next meeting meet again", heading="What was said about meeting again:"
        )

    async def action_items(self, question: str, *, deadlines: bool) -> Answer:
        self.learn_names()
        minutes = await self.load_minutes()
        items = list(getattr(minutes, "actions", []) or []) if minutes is not None else []
        topic = _topic_or_none(question)
        if topic and not ACTIONS.search(topic) and not DEADLINES.search(topic):
            items = await self.items_about(items, topic)
        if deadlines:
            items = [
                i for i in items if getattr(i, "deadline", None) or DEADLINE.search(str(i.text))
            ] or items
        owners = self.speaker_named_in(question)
        if owners:
            names = {o.lower() for o in owners} | {
                str(self.loop.name_of(o)).lower() for o in owners
            }
            mine = [
                i for i in items
                if str(getattr(i, "owner", "") or getattr(i, "speaker", "") or "").lower() in names
                or str(
                    self.loop.name_of(getattr(i, "owner", None) or getattr(i, "speaker", None)) or ""
                ).lower() in names
            ]  # fmt: skip
            who = ", ".join(sorted({str(self.loop.name_of(o)) for o in owners}))
            if not mine:
                return self.finish(f"No action items of {who} are recorded in the minutes.")
            items = mine
        if not items:
            self.note("The minutes hold no action items; listing who committed to what.")
            marker = (
                DEADLINE if deadlines else re.compile(f"{_COMMIT.pattern}|{_REQUEST.pattern}", re.I)
            )
            found = await self.marked_lines(
                topic
                if topic and not ACTIONS.search(topic) and not DEADLINES.search(topic)
                else None,
                marker,
            )
            if not found:
                return self.finish(
                    "No action items or deadlines were set: nobody committed to anything in this session."
                )
            head = "Deadlines set" if deadlines else "Action items (who said they would do what)"
            return self.finish(f"{head}:\n" + "\n".join(self.say_line(line) for line in found[:12]))
        word = "Deadlines set" if deadlines else "Action items"
        lines = []
        for i in sorted(items, key=lambda i: float(i.start))[:12]:
            owner = self.loop.name_of(getattr(i, "owner", None) or getattr(i, "speaker", None))
            deadline = getattr(i, "deadline", None)
            due = (
                f" (due {deadline})"
                if deadline and str(deadline).lower() not in str(i.text).lower()
                else ""
            )
            lines.append(
                f"- {owner + ': ' if owner else ''}{str(i.text).strip().rstrip('.')}{due} {self.cite_item(i)}"
            )
        if not topic or ACTIONS.search(topic) or DEADLINES.search(topic):
            # requests and promises the minutes did not keep ("please set up ... by Monday")
            marker = (
                DEADLINE if deadlines else re.compile(f"{_COMMIT.pattern}|{_REQUEST.pattern}", re.I)
            )
            extra = [
                line
                for line in await self.marked_lines(None, marker)
                if not any(float(i.start) - 1.0 <= line.start <= float(i.end) + 1.0 for i in items)
                and (not deadlines or DEADLINE.search(line.text))
            ]
            lines += [f"- also said: {self.say_line(line)}" for line in extra[:6]]
        more = len(items) - 12
        if more > 0:
            lines.append(f"({more} more: ask for the action items of a topic or a time range.)")
        return self.finish(f"{word}:\n" + "\n".join(lines))

    async def open_questions(self) -> Answer:
        minutes = await self.load_minutes()
        items = (
            [
                i
                for i in (getattr(minutes, "questions", []) or [])
                if getattr(i, "resolved", None) is not True
            ]
            if minutes
            else []
        )
        if not items:
            found = await self.marked_lines(None, _QUESTION)
            if not found:
                return self.finish(
                    "No open questions were left: nothing was asked that stayed unanswered."
                )
            return self.finish(
                "Questions raised:\n" + "\n".join(self.say_line(line) for line in found[:8])
            )
        lines = []
        for i in items[:10]:
            line = f"- {self.item_text(i)} {self.cite_item(i)}"
            if len(content_words(str(i.text))) < 3:  # "Open question." -- the question follows
                after = [
                    s
                    for s in await self.segments_between(float(i.end), float(i.end) + 6.0)
                    if s.start >= float(i.end) - 0.1
                ]
                if after:
                    line += " " + self.say_line(after[0])
            lines.append(line)
        return self.finish("Open questions:\n" + "\n".join(lines))

    async def disagreements(self, question: str) -> Answer:
        minutes = await self.load_minutes()
        items = list(getattr(minutes, "disagreements", []) or []) if minutes is not None else []
        topic = _topic_or_none(question)
        if topic and not DISAGREE.search(topic):
            items = await self.items_about(items, topic)
        if items:
            lines = [f"- {self.item_text(i)} {self.cite_item(i)}" for i in items[:8]]
            return self.finish("Yes, there was disagreement:\n" + "\n".join(lines))
        found = await self.marked_lines(topic, _OBJECTION)
        if found:
            return self.finish(
                "Objections raised:\n" + "\n".join(self.say_line(line) for line in found[:4])
            )
        return self.finish("No disagreement was recorded: nobody objected in this session.")

    async def topic_span(self, topic: str) -> tuple[float, float] | None:
        """The stretch of the meeting about ``topic``: the minutes' topic holding its best
        passage (or half a minute around it), at most five minutes."""
        hits, _ = await self.passages(topic, limit=3)
        if not hits:
            return None
        at = hits[0].start
        minutes = await self.load_minutes()
        for t in list(getattr(minutes, "topics", []) or []) if minutes is not None else []:
            if float(t.start) - 1.0 <= at <= float(t.end) + 1.0:
                start, end = float(t.start), float(t.end)
                return max(start, at - TOPIC_REACH), min(end, at + TOPIC_REACH)
        return max(0.0, at - 30.0), at + 30.0

    async def marked_lines(self, topic: str | None, marker: re.Pattern[str]) -> list[Line]:
        """Segments matching ``marker`` (objection, proposal, commitment), about ``topic``.

        A long session is not read whole: around the topic's passages, or its last stretch."""
        found = (await self.passages(topic, limit=8))[0] if topic else []
        hits = [h for h in found if topic and overlap(topic, h.text)] or found[
            :1
        ]  # loose matches anchor nothing
        if self.duration <= LONG_SESSION:
            lines = (
                await self.segments_between(0.0, max(self.duration, 0.0) + 1.0)
                if self.duration
                else []
            )
        elif hits:
            lines = []
            for h in hits[:3]:
                lines += [
                    x
                    for x in await self.segments_between(max(0.0, h.start - 15.0), h.end + 15.0)
                    if x not in lines
                ]
        else:
            self.note("A long session: looking at its last stretch only.")
            lines = await self.segments_between(
                max(0.0, self.duration - LATEST), self.duration + 1.0
            )
        marked = [line for line in lines if marker.search(line.text)]
        if topic:
            marked = [
                m
                for m in marked
                if overlap(topic, m.text) or any(abs(h.start - m.start) <= 12.0 for h in hits[:3])
            ]
        return marked

    async def main_topics(self) -> Answer:
        topics = []
        if "topics" in self.loop.registry:
            result = await self.call("topics")
            topics = list(result.value) if result.ok else []
        if not topics:
            return await self.summary(None)
        self.learn_names()
        lines = []
        for t in topics[:10]:
            cites = list(getattr(t, "citations", []) or [])
            for c in cites[:2]:
                self.citations.append(
                    Citation(
                        start=float(c.start),
                        end=float(c.end),
                        kind="transcript",
                        text=str(c.text),
                        speaker=self.loop.name_of(c.speaker),
                    )
                )
            example = f': "{_short(str(cites[0].text))}"' if cites else ""
            lines.append(
                f"- {t.title} ({format_clock(float(t.start))}-{format_clock(float(t.end))}){example}"
            )
        text = f"{len(topics)} topic{'s' if len(topics) != 1 else ''}:\n" + "\n".join(lines)
        agenda = await self.agenda()
        if len(agenda) >= 2:  # the meeting named its items itself
            text += "\nThe items raised, in order:\n" + "\n".join(self.say_line(a) for a in agenda)
        elif len(topics) < 3:  # one coarse topic says little: add the most central things said
            lines_all = await self.segments_between(0.0, self.duration + 1.0)
            cited = {round(c.start, 1) for c in self.citations}
            central = [c for c in _central(lines_all, 5) if round(c.start, 1) not in cited]
            if central:
                text += "\nMost of the talk was about:\n" + "\n".join(
                    self.say_line(c) for c in central
                )
        return self.finish(text)

    async def agenda(self) -> list[Line]:
        """The lines that opened an agenda item, in order (not read for long sessions)."""
        if self.duration > LONG_SESSION or self.duration <= 0:
            return []
        lines = _utterances(
            await self.segments_between(0.0, self.duration + 1.0), self.loop.name_of
        )
        return [line for line in lines if AGENDA.search(line.text)][:AGENDA_LINES]

    async def summary(self, scope: Scope | None) -> Answer:
        """Extractive: the minutes (decisions, actions, next meeting) and the central passages."""
        whole = scope is None or scope.phrase is None
        start, end = (0.0, self.duration + 1.0) if whole else (scope.start, scope.end)  # type: ignore[union-attr]
        where = "the session" if whole else f"{format_clock(start)}-{format_clock(end)}"
        if end - start > LONG_SESSION:  # the minutes cover it all; quotes from the last stretch
            self.note("A long stretch: the minutes for all of it, quotes from its last 10 minutes.")
            start = end - LATEST
        lines_all = await self.segments_between(start, end)
        if not lines_all:
            return self.finish(f"Nothing was said in {where}.")
        out: list[str] = []
        agenda = [a for a in await self.agenda() if start <= a.start <= end] if whole else []
        if agenda:
            out.append("Items raised:\n" + "\n".join(self.say_line(a) for a in agenda))
        minutes = await self.load_minutes() if whole else None
        if minutes is not None:
            topics = list(getattr(minutes, "topics", []) or [])
            if topics:
                out.append("Topics:")
                for t in topics[:6]:
                    cites = list(getattr(t, "citations", []) or [])[:1]
                    said = ""
                    for c in cites:
                        who = self.loop.name_of(c.speaker)
                        self.citations.append(
                            Citation(
                                start=float(c.start),
                                end=float(c.end),
                                kind="transcript",
                                text=str(c.text),
                                speaker=who,
                            )
                        )
                        said = f': {who + " said " if who else ""}"{_short(str(c.text))}"'
                    out.append(f"- {t.title} (from {format_clock(float(t.start))}){said}")
            for label, items in (
                ("Decided", getattr(minutes, "decisions", [])),
                ("To do", getattr(minutes, "actions", [])),
            ):
                for i in list(items or [])[:5]:
                    out.append(f"{label}: {self.item_text(i)} {self.cite_item(i)}.")
            nxt = getattr(minutes, "next_meeting", None)
            if nxt is not None:
                out.append(f"Next meeting: {self.item_text(nxt)} {self.cite_item(nxt)}.")
        if len(lines_all) <= SUMMARY_LINES and not out:
            quoted = [self.say_line(line) for line in lines_all]
            return self.finish(
                f"In {where} ({len(lines_all)} segment{'s' if len(lines_all) != 1 else ''}):\n"
                + "\n".join(quoted)
            )
        central = _central(lines_all, SUMMARY_LINES if not out else 4)
        cited = {round(c.start, 1) for c in self.citations}
        central = [c for c in central if round(c.start, 1) not in cited]
        if central:
            out.append("Said:\n" + "\n".join(self.say_line(c) for c in central))
        rest = len(lines_all) - len(central)
        tail = (
            f"\n({len(lines_all)} segments in all; ask \"what was said between {format_clock(start)} and "
            f"{format_clock(min(end, self.duration))}\" for every line.)"
            if rest > 0 else ""
        )  # fmt: skip
        return self.finish(f"Summary of {where}:\n" + "\n".join(out) + tail)

    async def topic_summary(self, topic: str) -> Answer:
        """What was said about ``topic``, with the minutes items that fall where it came up."""
        hits, closest = await self.passages(topic, limit=8)
        if not hits:
            return self.nothing_about(topic, closest)
        hits = [h for h in hits if overlap(topic, h.text)] or hits  # its own words first
        minutes = await self.load_minutes()
        items = []
        if minutes is not None:
            every = [
                *getattr(minutes, "decisions", []),
                *getattr(minutes, "actions", []),
                *getattr(minutes, "questions", []),
            ]
            items = await self.items_about(list(every), topic)
        out = [
            f"- {self.item_text(i)} {self.cite_item(i)}"
            for i in sorted(items, key=lambda i: float(i.start))[:4]
        ]
        shown = sorted(hits[:5], key=lambda h: h.start)
        said = [
            self.say_line(h)
            for h in shown
            if not any(abs(h.start - float(i.start)) < 1.0 for i in items)
        ]
        text = f"Summary of what was said about {topic!r}:"
        if out:
            text += "\n" + "\n".join(out)
        if said:
            text += "\n" + "\n".join(said)
        more = len(hits) - len(shown)
        if more > 0:
            text += f'\n({more} more passage{"s" if more != 1 else ""}: ask "when was {topic} mentioned" for all.)'
        return self.finish(text)

    async def nth_topic(self, which: str) -> Answer:
        topics = []
        if "topics" in self.loop.registry:
            result = await self.call("topics")
            topics = list(result.value) if result.ok else []
        index = _ORDINALS[which.lower()]
        if not topics or index >= len(topics):
            count = (
                f"only {len(topics)} topic{'s' if len(topics) != 1 else ''}"
                if topics
                else "no topics"
            )
            return self.finish(f"The minutes hold {count}, so there is no {which} topic.")
        t = topics[index]
        lines = await self.segments_between(float(t.start), float(t.end))
        central = _central(lines, 3)
        text = f"The {which} topic ({format_clock(float(t.start))}-{format_clock(float(t.end))}): {t.title}."
        if central:
            text += "\n" + "\n".join(self.say_line(c) for c in central)
        return self.finish(text)

    async def relative(self, when: str, what: str) -> Answer | None:
        """What was said after / before a sound or a moment something came up; None if
        ``what`` is neither."""
        anchor: tuple[float, float] | None = None
        result = await self.call("sound_events_between", start=0.0, label=what)
        if result.ok and result.value and not (set(what.split()) & {"music", "song"}):
            event = result.value[0]
            anchor = (event.start, event.end)
            label = f"the {what} ({format_clock(event.start)})"
        else:
            hits, _ = await self.passages(what, limit=3)
            exact = [h for h in hits if overlap(what, h.text)]
            if not exact:
                return None
            first = min(exact, key=lambda h: h.start)
            anchor = (first.start, first.end)
            label = f"{what!r} came up ({format_clock(first.start)})"
        before = "before" in when.lower()
        start, end = (
            (max(0.0, anchor[0] - 30.0), anchor[0]) if before else (anchor[1], anchor[1] + 30.0)
        )

        def inside(line: Line) -> bool:
            if before:
                return start - 0.5 <= line.start and line.end <= anchor[0] + 0.5
            return line.start >= anchor[1] - 0.5

        lines = [line for line in await self.segments_between(start, end) if inside(line)]
        if not lines:
            return self.finish(
                f"Nothing was said in the 30 s {'before' if before else 'after'} {label}."
            )
        head = f"In the 30 s {'before' if before else 'after'} {label}:"
        return self.finish(head + "\n" + "\n".join(self.say_line(line) for line in lines[:8]))

    async def why(self, topic: str | None, anchors: list[Line]) -> Answer:
        """A reason near where the topic came up (or near the previous answer's moments)."""
        hits: list[Line] = []
        if topic:
            found, _ = await self.passages(topic, limit=5)
            hits = [h for h in found if overlap(topic, h.text)] or found[
                :1
            ]  # loose matches are no anchor
        centres = anchors[:3] + hits[:3]
        if not centres:
            return self.nothing_about(topic or "that", [])
        near: list[Line] = []
        for c in centres:
            for line in await self.segments_between(max(0.0, c.start - 15.0), c.end + 10.0):
                if line.start not in {n.start for n in near}:
                    near.append(line)
        near = _utterances(sorted(near, key=lambda line: line.start), self.loop.name_of)
        about = " ".join(filter(None, [topic, *(a.text for a in anchors[:3])]))

        def distance(line: Line) -> float:
            return min(abs(line.start - c.start) for c in centres)

        # a reason about the topic, or said right next to where it came up
        reasons = [
            line for line in near
            if _REASON.search(line.text) and (overlap(about, line.text) or distance(line) <= REASON_REACH)
        ]  # fmt: skip
        reasons.sort(key=lambda line: (not overlap(about, line.text), distance(line)))
        parts = []
        if reasons:
            parts.append("The reason given: " + self.say_line(reasons[0]))
            if len(reasons) > 1 and abs(reasons[1].start - reasons[0].start) < 20:
                parts.append("Also: " + self.say_line(reasons[1]))
        else:
            parts.append("No reason was stated in so many words.")
        context = [c for c in centres[:2] if not reasons or abs(c.start - reasons[0].start) > 0.5]
        if context:
            parts.append("Where it came up: " + "; ".join(self.say_line(c) for c in context))
        return self.finish("\n".join(parts))

    async def who_did(
        self, kind: str, topic: str | None, anchors: list[Line] | None = None
    ) -> Answer:
        """Who volunteered / proposed / objected (about ``topic``, or right after the moments
        of the last answer for a follow-up)."""
        self.learn_names()
        if kind == "volunteered" and anchors:
            after = []
            for a in anchors[:3]:
                after += [
                    x
                    for x in await self.segments_between(a.start, a.end + FOLLOW_REACH)
                    if _COMMIT.search(x.text) and x not in after
                ]
            if after:
                first = min(after, key=lambda x: x.start)
                who = self.loop.name_of(first.speaker) or "An unknown speaker"
                return self.finish(f"{who} took it on: " + self.say_line(first))
        minutes = await self.load_minutes()
        if kind == "volunteered" and minutes is not None:
            items = await self.items_about(list(getattr(minutes, "actions", []) or []), topic)
            if items:
                parts = []
                for i in items[:3]:
                    owner = (
                        self.loop.name_of(getattr(i, "owner", None) or getattr(i, "speaker", None))
                        or "someone"
                    )
                    parts.append(f"{owner}: {self.item_text(i)} {self.cite_item(i)}.")
                return self.finish("\n".join(parts))
        if kind == "objected" and minutes is not None:
            items = await self.items_about(list(getattr(minutes, "disagreements", []) or []), topic)
            if items:
                i = items[0]
                who = self.loop.name_of(getattr(i, "speaker", None)) or "someone"
                return self.finish(f"{who} objected: {self.item_text(i)} {self.cite_item(i)}.")
        marker = {"volunteered": _COMMIT, "proposed": _PROPOSAL, "objected": _OBJECTION}[kind]
        found = await self.marked_lines(topic, marker)
        if not found and topic:
            hits, closest = await self.passages(topic, limit=5)
            if not hits:
                return self.nothing_about(topic, closest)
            found = sorted(hits[:3], key=lambda h: h.start)
            self.note("Nobody said it in those words; naming who spoke where it came up.")
        if not found:
            return self.finish(f"Nobody {kind} anything I could find in this session.")
        if topic:
            found.sort(key=lambda line: (-overlap(topic, line.text), line.start))
            if found and not overlap(topic, found[0].text):
                hits, _ = await self.passages(topic, limit=3)
                found = [h for h in hits if marker.search(h.text)] + found
        first = found[0]
        who = self.loop.name_of(first.speaker) or "An unknown speaker"
        text = (
            f"{who} {kind}{' ' + repr(topic) if topic and kind != 'objected' else ''}: "
            + self.say_line(first)
        )
        second = [line for line in found[1:] if abs(line.start - first.start) <= 15.0][:1]
        if second:
            text += "\nAlso: " + self.say_line(second[0])
        return self.finish(text)

    async def who_said_that(self, anchors: list[Line]) -> Answer:
        if not anchors:
            return self.finish(
                'I do not know what "that" refers to; ask about the words themselves.'
            )
        first = anchors[0]
        who = self.loop.name_of(first.speaker) or "An unknown speaker"
        return self.finish(f"{who} said it: " + self.say_line(first))

    async def follow_up(self, question: str, topic: str | None, anchors: list[Line]) -> Answer:
        """A follow-up no other shape fits: the previous answer's moments that fit the question,
        then the passages for the question with the previous topic."""
        query = " ".join(filter(None, [" ".join(content_words(question)), topic])) or question
        hits, closest = await self.passages(query, limit=5)
        ranked = sorted(anchors, key=lambda a: -overlap(question, a.text))[:2]
        lines = [self.say_line(a) for a in ranked]
        seen = {round(a.start, 1) for a in ranked}
        lines += [self.say_line(h) for h in hits[:2] if round(h.start, 1) not in seen]
        if not lines:
            return self.nothing_about(query, closest)
        return self.finish("Following on from the last answer, what was said:\n" + "\n".join(lines))


_QUANTITY = re.compile(
    r"\d|\$|€|£|\b(?:percent|dollars?|euros?|pounds?|hundred|thousand|million|billion|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|fifteen|twenty|thirty|forty|fifty|half|double|twice)\b",
    re.I,
)
_MONEY = re.compile(
    r"[$€£]|\b(?:dollars?|euros?|pounds?|cents?|bucks)\b|\d[\d,.]*\s*(?:k|thousand|million)\b", re.I
)
_MONEY_WORDS = re.compile(
    r"\b(?:pay|pays|paid|cost|costs|price|prices|spend|spent|money|budget|expensive|cheap|charge|fee|fees)\b",
    re.I,
)
_TIME = re.compile(
    r"\d|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|tonight|yesterday|week|weeks|month|months|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|morning|afternoon|evening|"
    r"next|end\s+of|quarter)\b",
    re.I,
)


def _answer_type(question: str) -> re.Pattern[str] | None:
    """What kind of words answer the question: an amount, a time, or anything."""
    q = question.strip().lower()
    if re.match(
        r"(?:and\s+)?(?:how\s+(?:much|many|expensive|big|long)|what\s+(?:is|was|will\s+be)\s+the\s+(?:price|cost|amount|number))\b",
        q,
    ):
        return _MONEY if _MONEY_WORDS.search(q) else _QUANTITY
    if re.match(r"(?:and\s+)?(?:when|by\s+when|what\s+(?:day|date|time))\b", q):
        return _TIME
    return None


def _topic_or_none(question: str) -> str | None:
    match = _TOPIC_TAIL.search(question.strip(" ?!."))
    if not match:
        return None
    topic = _LEADING.sub("", match.group("topic")).strip(" ?!.,;:\"'")
    return topic if content_words(topic) else None


def _utterances(lines: list[Line], name_of: Any, gap: float = 1.0) -> list[Line]:
    """Join consecutive segments of one person, or a sentence cut off mid-way (perception
    splits an utterance at pauses, and now and then gives its tail another speaker id)."""
    out: list[Line] = []
    for line in lines:
        last = out[-1] if out else None
        same = last is not None and (
            name_of(last.speaker) == name_of(line.speaker)
            or not last.text.rstrip().endswith((".", "?", "!"))
        )
        if last is not None and same and 0 <= line.start - last.end <= gap:
            out[-1] = Line(
                last.start,
                line.end,
                last.speaker,
                f"{last.text} {line.text}",
                max(last.similarity, line.similarity),
            )
        else:
            out.append(line)
    return out


def _central(lines: list[Line], count: int) -> list[Line]:
    """The ``count`` lines that share most content words with the rest, in time order."""
    from collections import Counter

    freq: Counter[str] = Counter()
    for line in lines:
        freq.update({_stem(w) for w in content_words(line.text)})

    def weight(line: Line) -> float:
        words = {_stem(w) for w in content_words(line.text)}
        return sum(freq[w] for w in words) / (1 + len(words)) ** 0.5

    best = sorted(lines, key=weight, reverse=True)[:count]
    return sorted(best, key=lambda line: line.start)


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


__all__ = ["GroundedAnswers", "Line", "content_words", "overlap", "topic_in"]
