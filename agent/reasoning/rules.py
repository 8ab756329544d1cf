"""The CPU default: a deterministic reasoner that reads the question with patterns.

It recognises a handful of question shapes (what was said, when something was mentioned,
who spoke, how many spoke, who spoke most, which sounds, the mood, how long) and time
expressions, plans the tool calls each shape needs, runs them through the registry like
any other reasoner would, and writes the answer from the results, citing every segment
or event it quotes. Meeting questions (decisions, plans, action items, deadlines, the next
meeting, who volunteered / proposed / objected, why, summaries) and any other content
question are answered from the minutes and grounded retrieval (``grounded.py``); only a
question with no content at all gets "I did not understand" and the list of what it can
answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from agent.reasoning import grounded as g
from agent.reasoning.answer import Answer, Citation, dedupe_citations
from agent.reasoning.grounded import GroundedAnswers, Line, Scope
from agent.reasoning.reasoner import Reasoner
from agent.reasoning.time_expressions import (
    TimeExpression,
    find_time_expression,
    strip_time_expression,
)
from agent.reasoning.tool_loop import ToolLoop
from perception.events import BaseEvent, MusicEvent, SoundEvent, TranscriptSegment, VoiceTraits
from tools.audio_scene import SOUND_SYNONYMS
from tools.clock import format_clock, format_span
from tools.context import ToolContext
from tools.registry import ToolRegistry, ToolResult
from tools.relisten import Relistened
from tools.session import SessionOverview, SpeakersOverview

CAPABILITIES = (
    'what was said at a time or between times ("what was said at minute 12", '
    '"between 3:00 and 5:00", "in the last 30 seconds", "at the start")',
    'when something was mentioned ("when did someone mention the budget")',
    'who said something ("who said action item")',
    "who spoke, who spoke most, how many people spoke",
    'which sounds were heard ("was there a doorbell", "when did the phone ring")',
    'the mood or how someone sounded ("what was the mood at the end")',
    "how long the session is",
    'listening again to a stretch ("listen again to minute 2: is anyone laughing?")',
    "the meeting: decisions, the plan, action items and deadlines, the next meeting, open questions, "
    'disagreements, the main topics ("what did they decide about the launch?", "what are the action items?")',
    'who volunteered, proposed or objected; what one person said ("what did S2 say about the budget?")',
    'summaries of the session, a subject or a stretch ("summarize the last five minutes"), and why something happened',
    'anything said about a subject, also in other words ("what was said about the costs?"), and follow-ups ("why?")',
)

# A whole-session transcript is read only for sessions up to this long; longer ones get
# their last stretch, and the answer says so.
WHOLE_SESSION_LIMIT = 30 * 60.0
# Passages that match only in meaning: kept when this close to the best one, and next to
# word-for-word mentions when at least this similar (cosine of content-word embeddings).
MEANING_MARGIN = 0.08
SAME_MEANING = 0.35
PASSAGES_ABOUT = 3
LATEST_STRETCH = 10 * 60.0

_FILLER = re.compile(
    r"^(?:the|a|an|any|some|our|their|his|her|about|of|that|this|word|words|phrase|term|topic of|subject of)\s+",
    re.I,
)
_TOPIC_VERBS = (
    r"mention(?:ed|s)?|say|said|says|talk(?:ed|s)?\s+about|discuss(?:ed|es)?|bring\s+up|brought\s+up|"
    r"raise[ds]?|ask(?:ed)?\s+about|speak\s+(?:of|about)|spoke\s+(?:of|about)|come\s+up|came\s+up"
)
_WHEN_TOPIC = [
    re.compile(
        rf"\bwhen\s+(?:did|was|were|has|have|had|do|does)\b.*?\b(?:{_TOPIC_VERBS})\s+(?P<topic>.+)",
        re.I,
    ),
    re.compile(
        rf"\bwhen\s+(?:was|were|is|did)\s+(?P<topic>.+?)\s+(?:being\s+)?(?:{_TOPIC_VERBS})\b", re.I
    ),
    re.compile(
        rf"\b(?:did|has|have)\s+(?:anyone|anybody|someone|somebody|they|we|you|people|\w+)\s+(?:{_TOPIC_VERBS})\s+(?P<topic>.+)",
        re.I,
    ),
    re.compile(
        rf"^\s*(?:was|were|is|has|had)\s+(?P<topic>.+?)\s+(?:ever\s+|being\s+)?(?:{_TOPIC_VERBS})\b",
        re.I,
    ),
    re.compile(
        r"\bwas\s+(?:there\s+)?(?:any(?:thing)?\s+)?(?:talk|mention|discussion)\s+(?:of|about)\s+(?P<topic>.+)",
        re.I,
    ),
]
_WHO_SAID = re.compile(
    rf"\bwho\s+(?:first\s+|last\s+)?(?:{_TOPIC_VERBS}|asked\s+for|suggested|proposed)\s+(?P<topic>.+)",
    re.I,
)
_SAID_ABOUT = re.compile(
    r"\bwhat\b.*\b(?:said|say|saying|talk(?:ed)?|discuss(?:ed)?|spoken|mentioned|decided)\b.*?\b(?:about|on|regarding|of)\s+(?P<topic>.+)",
    re.I,
)
_HOW_MANY = re.compile(
    r"\bhow\s+many\s+(?:different\s+)?(?:people|persons|speakers|voices|participants|talkers|humans)\b",
    re.I,
)
_WHO_MOST = re.compile(
    r"\bwho\b.*\b(?:spoke|speaks|talked|talks|was\s+talking|was\s+speaking)\b.*\b(?P<which>most|longest|more|least|less|shortest)\b"
    r"|\bwho\s+(?P<which2>dominated|led)\b",
    re.I,
)
_WHO_SPOKE = re.compile(
    r"\bwho\b.*\b(?:spoke|speak|speaks|talk|talked|talking|speaking|was\s+there|were\s+there|participated|present|attended|"
    r"in\s+the\s+(?:meeting|room|call|session|conversation))\b",
    re.I,
)
_MOOD = re.compile(
    r"\b(?:mood|moods|emotion|emotions|emotional|feel|feeling|feelings|felt|tone|atmosphere|vibe|angry|anger|happy|sad|"
    r"upset|stressed|stress|excited|calm|nervous|frustrated|annoyed|cheerful|tense)\b|\bhow\s+did\s+.+\s+sound\b",
    re.I,
)
_SOUND_WORDS = re.compile(
    r"\b(?:sound|sounds|noise|noises|hear|heard|ring|rang|rings|ringing|beep|beeped)\b|\b("
    + "|".join(
        sorted(
            (re.escape(k) for k in SOUND_SYNONYMS if k not in {"ring", "noise"}),
            key=len,
            reverse=True,
        )
    )
    + r")s?\b",
    re.I,
)
_THERE_WAS = re.compile(
    r"\b(?:was|were|is)\s+there\s+(?:(?:any|some|an|a)\b)?\s*(?P<label>[a-z][a-z\- ]*?)"
    r"(?:\s+(?:at|in|during|between|from|around|sound|noise)\b|[?.!]|$)",
    re.I,
)
_HEAR_A = re.compile(r"\bhear\s+(?:(?:any|some|the|an|a)\b)?\s*(?P<label>[a-z][a-z\-]*)", re.I)
_GENERIC_SOUND = {
    "sound",
    "sounds",
    "noise",
    "noises",
    "anything",
    "something",
    "thing",
    "things",
    "background",
    "any",
}
_SESSION = re.compile(
    r"\bhow\s+long\b|\bduration\b|\bwhen\s+did\s+(?:the\s+|this\s+)?(?:session|meeting|recording|call)\s+(?:start|begin)\b|"
    r"\bwhat\s+(?:is|was)\s+(?:this|the)\s+(?:session|meeting|recording)\b",
    re.I,
)
_WHAT_SAID = re.compile(
    r"\bwhat\b.*\b(?:said|say|saying|says|talk|talked|talking|discuss|discussed|discussing|spoken|mentioned|happen|happened|"
    r"happening|going\s+on|decided|asked)\b|\btranscript\b|\bsummar|\brecap\b|\bwhat'?s\s+going\s+on\b|\bquote\s+(?:me|what|everything|all)\b|\bwords\b",
    re.I,
)
_HAPPEN = re.compile(r"\bhappen|\bgoing\s+on\b|\bsummar|\brecap\b", re.I)
_RELISTEN = re.compile(r"\b(?:listen\s+again|re-?listen|listen\s+back|play\s+back)\b", re.I)
_CAPITALISED = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][a-z]+)\b")
# "what noises were there besides talking": the talking is excluded, not asked about.
_BESIDES_SPEECH = re.compile(
    r"\b(?:besides|other\s+than|apart\s+from|except(?:\s+for)?|aside\s+from|beyond)\s+(?:the\s+)?(?:talking|speech|speaking|voices|people\s+talking)\b",
    re.I,
)
_HAPPEN_WITH = re.compile(
    r"\b(?:happen(?:ed|s|ing)?|going\s+on|news|update)\s+(?:with|about|on|to|regarding)\s+(?P<topic>.+)",
    re.I,
)


class RulesReasoner(Reasoner):
    """Deterministic pattern-based reasoner; the default on a CPU."""

    name = "rules"

    def __init__(self, registry: ToolRegistry | None = None, *, max_quotes: int = 12) -> None:
        super().__init__(registry)
        self.max_quotes = max_quotes

    async def answer(self, question: str, ctx: ToolContext) -> Answer:
        run = _Run(self, question.strip(), ctx)
        return await run.go()


class _Run(GroundedAnswers):
    """One question: plan, call tools, write the answer."""

    def __init__(self, reasoner: RulesReasoner, question: str, ctx: ToolContext) -> None:
        self.reasoner = reasoner
        self.question = question
        self.loop = ToolLoop(reasoner.registry, ctx)
        self.reasoning: list[str] = []
        self.citations: list[Citation] = []
        self.session: SessionOverview | None = None
        self.speakers: SpeakersOverview | None = None

    # -- the plan -------------------------------------------------------------------------

    async def go(self) -> Answer:
        q = self.question
        if not q:
            return self.not_understood("The question is empty.")
        expr = find_time_expression(q)
        rest = strip_time_expression(q, expr)
        if expr is not None:
            self.note(f"Read the time expression {expr.phrase!r}.")
        if not await self.load_session():
            return self.finish(
                f"I cannot read session {self.loop.ctx.session_id!r}: {self.loop.results[-1].error}"
            )
        self.learn_names()
        scope = self.scope(expr)
        if scope is None:
            return self.finish(
                f"The session is only {format_clock(self.duration)} long, so {expr.phrase!r} is after its end."  # type: ignore[union-attr]
            )

        if _RELISTEN.search(q):
            return await self.relisten(scope, rest)
        if (answer := await self.meeting_plan(rest, scope, expr is not None)) is not None:
            return answer
        if topic := self.topic_of(_WHO_SAID, rest):
            return await self.who_said(topic, scope)
        for pattern in _WHEN_TOPIC:
            if topic := self.topic_of(pattern, rest):
                return await self.when_mentioned(topic, scope)
        if _HOW_MANY.search(q):
            return await self.how_many(scope)
        if match := _WHO_MOST.search(q):
            least = (match.group("which") or "").lower() in {"least", "less", "shortest"}
            return await self.who_most(scope, least=least)
        if _MOOD.search(q):
            return await self.mood(scope, rest)
        if _SOUND_WORDS.search(q) and not _WHAT_SAID.search(
            _BESIDES_SPEECH.sub("", q).replace("sound", "")
        ):
            return await self.sounds(scope, rest)
        if _WHO_SPOKE.search(q):
            return await self.who_spoke(scope)
        if _SESSION.search(q):
            return self.session_answer()
        if topic := self.topic_of(_SAID_ABOUT, rest):
            return await self.when_mentioned(topic, scope, about=True)
        if topic := self.topic_of(_HAPPEN_WITH, rest):
            return await self.when_mentioned(topic, scope, about=True)
        if g.SUMMARY.search(q) or (
            _HAPPEN.search(q) and scope.phrase is None and not g.content_words(_HAPPEN.sub("", q))
        ):
            return await self.summary(scope if scope.phrase else None)
        if _WHAT_SAID.search(q):
            return await self.what_was_said(
                scope, include_sounds=bool(_HAPPEN.search(q)), rest=rest
            )
        if expr is not None:
            self.note("No question word I know, but a time: reading what happened then.")
            return await self.what_was_said(scope, include_sounds=True, rest=rest)
        if named := self.speaker_named_in(rest):
            return await self.said_by(named, rest, scope)
        if g.content_words(rest):
            return await self.grounded(rest, scope)
        return self.not_understood(f"I did not understand {q!r}.")

    def note(self, step: str) -> None:
        self.reasoning.append(step)

    @property
    def duration(self) -> float:
        return self.session.duration if self.session else 0.0

    async def call(self, name: str, **arguments: Any) -> ToolResult:
        result = await self.loop.call(name, arguments)
        if result.ok:
            self.note(f"Called {name}({_args_text(arguments)}): {result.summary()}.")
        else:
            self.note(f"Called {name}({_args_text(arguments)}) and it failed: {result.error}")
        return result

    async def load_session(self) -> bool:
        result = await self.call("session_info")
        if result.ok:
            self.session = result.value
        return result.ok

    async def load_speakers(self) -> SpeakersOverview:
        if self.speakers is None:
            result = await self.call("speakers")
            self.speakers = (
                result.value if result.ok else SpeakersOverview(speakers=[], total_talk_seconds=0.0)
            )
        return self.speakers

    def scope(self, expr: TimeExpression | None) -> Scope | None:
        if expr is None:
            return Scope(0.0, self.duration, None)
        start, end = expr.resolve(self.duration if self.duration > 0 else None)
        if self.duration > 0 and start >= self.duration and expr.anchor != "end":
            return None
        scope = Scope(start, end, expr.phrase, point=expr.moment if expr.point else None)
        self.note(
            f"That is {format_clock(start)}-{format_clock(end)} of a {format_clock(self.duration)} session."
        )
        return scope

    @staticmethod
    def topic_of(pattern: re.Pattern[str], text: str) -> str | None:
        match = pattern.search(text)
        if not match:
            return None
        topic = match.group("topic").strip(" ?!.,;:\"'“”‘’")
        while True:
            stripped = _FILLER.sub("", topic)
            if stripped == topic:
                break
            topic = stripped
        topic = re.sub(
            r"\s+(?:in|during|at|from|between)\s+(?:the\s+)?(?:session|meeting|recording|call)$",
            "",
            topic,
            flags=re.I,
        )
        topic = topic.strip(" ?!.,;:\"'“”‘’")
        return (
            topic if g.content_words(topic) else None
        )  # "talk about in the first minute": no topic

    def learn_names(self) -> None:
        """Speaker names for quoting (a lookup, not a tool call: it is presentation only)."""
        if not self.loop.speaker_names:
            self.loop.learn_speaker_names()

    def speaker_named_in(self, text: str) -> list[str]:
        """Speaker ids whose name or id appears in ``text``."""
        self.learn_names()
        words = {w.lower() for w in re.findall(r"[\w]+", text)}
        found = [
            sid
            for sid, name in self.loop.speaker_names.items()
            if name.lower() in words or sid.lower() in words
        ]
        if not found:  # an id the names table does not list yet ("S2" before any rename)
            found = [w.upper() for w in words if re.fullmatch(r"s\d{1,3}", w)]
        return found

    # -- the answers ----------------------------------------------------------------------

    async def what_was_said(self, scope: Scope, *, include_sounds: bool, rest: str) -> Answer:
        if scope.phrase is None and self.duration > WHOLE_SESSION_LIMIT:
            scope = Scope(self.duration - LATEST_STRETCH, self.duration, "the last 10 minutes")
            self.note("No time given and the session is long: reading its last 10 minutes.")
        self.learn_names()
        wanted = self.speaker_named_in(rest)
        if wanted and scope.phrase is None and (topic := g._topic_or_none(rest)):
            self.note(
                f"The question asks what {self.loop.name_of(wanted[0])} said about {topic!r}."
            )
            hits, closest = await self.passages(topic, limit=6, speaker=wanted[0])
            hits = [h for h in hits if h.speaker in wanted]
            if not hits:
                return self.nothing_about(f"{topic}' by '{self.loop.name_of(wanted[0])}", closest)
            return self.finish(
                f"What {self.loop.name_of(wanted[0])} said about {topic!r}:\n"
                + "\n".join(self.say_line(h) for h in hits[:5])
            )
        if scope.point is not None:
            result = await self.call(
                "transcript_at",
                time=scope.point,
                before=scope.point - scope.start,
                after=scope.end - scope.point,
            )
        else:
            result = await self.call("transcript_between", start=scope.start, end=scope.end)
        if not result.ok:
            return self.finish(f"I could not read the transcript: {result.error}")
        segments: list[TranscriptSegment] = [
            s for s in result.value if not self.addressed(self.line_of(s))
        ]
        if wanted:
            names = ", ".join(self.loop.name_of(s) or s for s in wanted)
            self.note(f"Kept only what {names} said.")
            segments = [s for s in segments if s.speaker in wanted]
        sounds: list[BaseEvent] = []
        if include_sounds:
            sound_result = await self.call("sound_events_between", start=scope.start, end=scope.end)
            sounds = list(sound_result.value) if sound_result.ok else []
        if not segments and not sounds:
            who = (
                f"{', '.join(self.loop.name_of(s) or s for s in wanted)} said nothing"
                if wanted
                else "Nothing was said"
            )
            return self.finish(f"{who} {scope.describe()}.")
        if not segments and not wanted:
            self.note("Nothing was said there; reporting the sounds.")
        lines = [self.quote(s) for s in segments[: self.reasoner.max_quotes]]
        more = len(segments) - self.reasoner.max_quotes
        if more > 0:
            after = segments[self.reasoner.max_quotes].start
            lines.append(
                f'... and {more} more segment{"s" if more != 1 else ""}: ask "what was said between '
                f'{format_clock(after)} and {format_clock(max(s.end for s in segments))}" for the rest.'
            )
        if sounds:
            lines.append(
                "Sounds: "
                + "; ".join(self.sound_phrase(e) for e in sounds[: self.reasoner.max_quotes])
                + "."
            )
        head = f"{scope.describe().capitalize()}:" if scope.phrase else "In the whole session:"
        return self.finish(head + "\n" + "\n".join(lines))

    async def when_mentioned(self, topic: str, scope: Scope, *, about: bool = False) -> Answer:
        self.note(f"The question asks about {topic!r}: searching the transcript for it.")
        self.learn_names()
        hits, closest = await self.search(topic, scope, about=about)
        where = "" if scope.phrase is None else f" {scope.describe()}"
        if not hits:
            if scope.phrase is None:
                return self.nothing_about(topic, closest)
            return self.finish(f"Nobody mentioned {topic!r}{where}.")
        words = {g._stem(w) for w in g.content_words(topic)}
        if (
            not about
            and len(words) >= 2
            and hits
            and not any(g.overlap(topic, h.text) >= 2 for h in hits)
            and any(g.overlap(topic, h.text) for h in hits)
        ):
            self.note("Only part of the subject's words came up: that is not a mention of it.")
            return self.nothing_about(topic, [h for h in hits if g.overlap(topic, h.text)])
        if not about and not self.last_strong and not any(g.overlap(topic, h.text) for h in hits):
            self.note("Only loose matches in meaning: not enough to say it came up.")
            return self.nothing_about(topic, hits)
        shown = hits[: self.reasoner.max_quotes]
        if about:
            lines = [self.say_line(s) for s in shown]
            loose = not self.last_strong and not any(g.overlap(topic, s.text) for s in shown)
            head = (
                f"Only loosely related things were said about {topic!r}{where}"
                if loose
                else f"What was said about {topic!r}{where}"
            )
            return self.finish(f"{head}:\n" + "\n".join(lines))
        times = ", ".join(self.hit_phrase(s) for s in shown)
        count = f"{len(hits)} time{'s' if len(hits) != 1 else ''}"
        return self.finish(f'"{topic}" came up {count}{where}: {times}.')

    async def who_said(self, topic: str, scope: Scope) -> Answer:
        self.note(
            f"The question asks who said {topic!r}: searching the transcript, then naming the speakers."
        )
        self.learn_names()
        hits, closest = await self.search(topic, scope)
        if not hits:
            if scope.phrase is None:
                return self.nothing_about(topic, closest)
            return self.finish(f"Nobody said {topic!r} {scope.describe()}.")
        by_speaker: dict[str, list[Line]] = {}
        for seg in hits:
            by_speaker.setdefault(
                self.loop.name_of(seg.speaker) or "an unknown speaker", []
            ).append(seg)
        parts = [
            f"{name} ({', '.join('at ' + format_clock(s.start) for s in segs[:5])})"
            for name, segs in by_speaker.items()
        ]
        first = hits[0]
        self.note(f"{len(by_speaker)} speaker(s) said it; quoting the first time.")
        return self.finish(f"{_join(parts)} said {topic!r}. First: {self.say_line(first)}")

    async def search(
        self, topic: str, scope: Scope, *, about: bool = False
    ) -> tuple[list[Line], list[Line]]:
        """Relevant passages for ``topic`` in ``scope`` (time order) and, if none, the closest.

        Where the words themselves were said, those are the mentions (plus, for "what was
        said about", the two closest in meaning); otherwise the matches in meaning that
        come near the best one."""
        hits, closest = await self.passages(topic, limit=10)
        exact = [h for h in hits if g.overlap(topic, h.text)]
        if exact:
            loose = (
                [h for h in hits if h not in exact and h.similarity >= SAME_MEANING]
                if about
                else []
            )
            hits = exact + loose[:2]
        elif hits and not about:
            best = max(h.similarity for h in hits)
            hits = [h for h in hits if h.similarity >= best - MEANING_MARGIN][:5]
        elif hits:
            hits = hits[:PASSAGES_ABOUT]
        kept = [
            s
            for s in hits
            if scope.phrase is None or (s.end >= scope.start and s.start <= scope.end)
        ]
        if scope.phrase is not None and len(kept) != len(hits):
            self.note(f"Kept the {len(kept)} match(es) {scope.describe()}.")
        return sorted(kept, key=lambda s: s.start), closest

    async def how_many(self, scope: Scope) -> Answer:
        names = await self.speakers_in(scope)
        if names is None:
            return self.finish("I could not read who spoke.")
        if not names:
            return self.finish(f"Nobody spoke {scope.describe()}.")
        count = len(names)
        return self.finish(
            f"{count} {'person' if count == 1 else 'people'} spoke {scope.describe()}: {_join(names)}."
        )

    async def who_spoke(self, scope: Scope) -> Answer:
        if scope.phrase is None and not self.loop.ctx.extras.get("addressed_spans"):
            overview = await self.load_speakers()
            if not overview.speakers:
                return self.finish("Nobody spoke in this session.")
            parts = [
                f"{s.name} ({s.talk_seconds:.0f} s, {s.turns} turn{'s' if s.turns != 1 else ''})"
                for s in overview.speakers
            ]
            self.cite_speakers(overview)
            return self.finish(
                f"{len(parts)} {'person' if len(parts) == 1 else 'people'} spoke: {_join(parts)}."
            )
        names = await self.speakers_in(scope)
        if names is None:
            return self.finish("I could not read who spoke.")
        if not names:
            return self.finish(f"Nobody spoke {scope.describe()}.")
        return self.finish(f"{_join(names)} spoke {scope.describe()}.")

    async def speakers_in(self, scope: Scope) -> list[str] | None:
        """Names of the speakers heard in ``scope``, first to speak first (questions put to
        the assistant do not count)."""
        if scope.phrase is None and not self.loop.ctx.extras.get("addressed_spans"):
            overview = await self.load_speakers()
            self.cite_speakers(overview)
            return [s.name for s in sorted(overview.speakers, key=lambda s: s.first_start or 0.0)]
        self.learn_names()
        result = await self.call("transcript_between", start=scope.start, end=scope.end)
        if not result.ok:
            return None
        names: list[str] = []
        for seg in (s for s in result.value if not self.addressed(self.line_of(s))):
            name = self.loop.name_of(seg.speaker) or "an unknown speaker"
            if name not in names:
                names.append(name)
                self.citations.append(self.loop.cite(seg))
        return names

    def cite_speakers(self, overview: SpeakersOverview) -> None:
        for s in overview.speakers:
            if s.first_start is not None and s.last_end is not None:
                self.citations.append(
                    Citation(
                        start=s.first_start,
                        end=s.last_end,
                        kind="speaker",
                        label=s.name,
                        speaker=s.name,
                    )
                )

    async def who_most(self, scope: Scope, *, least: bool) -> Answer:
        if scope.phrase is not None or self.loop.ctx.extras.get("addressed_spans"):
            self.learn_names()
            result = await self.call("transcript_between", start=scope.start, end=scope.end)
            if not result.ok:
                return self.finish(f"I could not read the transcript: {result.error}")
            talk: Counter[str] = Counter()
            for seg in (s for s in result.value if not self.addressed(self.line_of(s))):
                talk[self.loop.name_of(seg.speaker) or "an unknown speaker"] += seg.end - seg.start
            ranking: list[tuple[str, float]] = [
                (name, seconds) for name, seconds in talk.most_common()
            ]
            self.note("Added up each speaker's transcript time in that stretch.")
        else:
            overview = await self.load_speakers()
            ranking = [(s.name, s.talk_seconds) for s in overview.speakers]
            self.cite_speakers(overview)
        merged: dict[str, float] = {}
        for name, seconds in ranking:  # one person recorded under two ids counts once
            merged[name] = merged.get(name, 0.0) + seconds
        ranking = sorted(merged.items(), key=lambda item: -item[1])
        if not ranking:
            return self.finish(f"Nobody spoke {scope.describe()}.")
        if least:
            ranking = list(reversed(ranking))
        total = sum(seconds for _, seconds in ranking) or 1.0
        name, seconds = ranking[0]
        word = "least" if least else "most"
        others = ", ".join(f"{n} {s:.0f} s ({100 * s / total:.0f}%)" for n, s in ranking[1:])
        tail = f"; then {others}" if others else ""
        return self.finish(
            f"{name} spoke {word} {scope.describe()}: {seconds:.0f} s of {total:.0f} s of talk, "
            f"{100 * seconds / total:.0f}%{tail}."
        )

    async def sounds(self, scope: Scope, rest: str) -> Answer:
        label = self.sound_label(_BESIDES_SPEECH.sub("", rest))
        args: dict[str, Any] = {"start": scope.start}
        if scope.phrase is not None:
            args["end"] = scope.end
        if label:
            args["label"] = label
            self.note(f"The question asks about the sound {label!r}.")
        result = await self.call("sound_events_between", **args)
        if not result.ok:
            return self.finish(f"I could not read the sound events: {result.error}")
        events: list[SoundEvent | MusicEvent] = list(result.value)
        where = "" if scope.phrase is None else f" {scope.describe()}"
        if not events:
            what = f"no {label}" if label else "no sounds besides speech"
            return self.finish(
                f"No: I heard {what}{where}." if label else f"I heard {what}{where}."
            )
        for event in events[: self.reasoner.max_quotes]:
            self.citations.append(self.loop.cite(event))
        listed = "; ".join(self.sound_phrase(e) for e in events[: self.reasoner.max_quotes])
        more = len(events) - self.reasoner.max_quotes
        tail = f"; and {more} more" if more > 0 else ""
        if label:
            if re.match(r"^\s*(?:was|were|did|is|are|has|have)\b", self.question, re.I):
                return self.finish(f"Yes: {listed}{tail}.")
            times = f"{len(events)} time{'s' if len(events) != 1 else ''}"
            return self.finish(f"I heard it {times}{where}: {listed}{tail}.")
        return self.finish(f"Sounds heard{where}: {listed}{tail}.")

    def sound_label(self, text: str) -> str | None:
        for pattern in (_THERE_WAS, _HEAR_A):
            match = pattern.search(text)
            if match:
                words = [w for w in match.group("label").lower().split() if w not in _GENERIC_SOUND]
                if words:
                    return " ".join(words[:2])
        for word in re.findall(r"[a-z]+", text.lower()):
            if word in SOUND_SYNONYMS and word not in {"ring", "noise"}:
                return word
            if (
                word.endswith("s")
                and word[:-1] in SOUND_SYNONYMS
                and word[:-1] not in {"ring", "noise"}
            ):
                return word[:-1]
        if re.search(r"\b(?:rang|ring|rings|ringing)\b", text, re.I):
            return "ring"
        return None

    async def mood(self, scope: Scope, rest: str) -> Answer:
        args: dict[str, Any] = {"start": scope.start}
        if scope.phrase is not None:
            args["end"] = scope.end
        self.learn_names()
        named = self.speaker_named_in(rest)
        if named:
            args["speaker"] = named[0]
        result = await self.call("voice_traits_between", **args)
        if not result.ok:
            return self.finish(f"I could not read the voice traits: {result.error}")
        readings: list[VoiceTraits] = [v for v in result.value if v.emotion]
        who = f"{self.loop.name_of(args['speaker'])}'s" if "speaker" in args else "the"
        where = "" if scope.phrase is None else f" {scope.describe()}"
        if not readings:
            return self.finish(f"No emotion was recorded{where}, so I cannot tell {who} mood.")
        counts = Counter(v.emotion.lower() for v in readings if v.emotion)
        top, n = counts.most_common(1)[0]
        others = [f"{e} ({c})" for e, c in counts.most_common()[1:4]]
        examples = [v for v in readings if v.emotion and v.emotion.lower() != "neutral"] or readings
        for v in examples[:5]:
            self.citations.append(self.loop.cite(v))
        detail = "; ".join(
            f"{self.loop.name_of(v.speaker) or 'someone'} sounded {v.emotion} at {format_clock(v.start)}"
            for v in examples[:3]
        )
        estimate = (
            " (estimated from pitch and energy)" if all(v.heuristic for v in readings) else ""
        )
        also = f"; also {', '.join(others)}" if others else ""
        return self.finish(
            f"{who.capitalize()} mood{where} was mostly {top}{estimate}: "
            f"{n} of {len(readings)} readings{also}. {detail}."
        )

    def session_answer(self) -> Answer:
        s = self.session
        assert s is not None
        started = f", started {s.started_at:%Y-%m-%d %H:%M}" if s.started_at else ""
        return self.finish(
            f"Session {s.title!r} is {format_clock(s.duration)} long{started}, with {s.event_count} events."
        )

    async def relisten(self, scope: Scope, rest: str) -> Answer:
        if scope.phrase is None:
            return self.finish(
                'Tell me which stretch to listen to again, e.g. "listen again to minute 2: is anyone laughing?"'
            )
        question = re.sub(
            r"^.*?\b(?:listen\s+again|re-?listen|listen\s+back|play\s+back)\b\s*(?:to)?\s*[:,]?\s*",
            "",
            rest,
            flags=re.I,
        )
        question = question.strip(" :,") or "What can you hear?"
        result = await self.call(
            "relisten",
            start=scope.start,
            end=min(scope.end, scope.start + 120.0),
            question=question,
        )
        if not result.ok:
            return self.finish(f"I could not listen again: {result.error}")
        value: Relistened = result.value
        self.citations.append(
            Citation(start=value.start, end=value.end, kind="relisten", text=value.answer)
        )
        return self.finish(
            f"Listening again to {format_span(value.start, value.end)}: {value.answer}"
        )

    # -- writing --------------------------------------------------------------------------

    def quote(self, seg: TranscriptSegment) -> str:
        self.citations.append(self.loop.cite(seg))
        who = self.loop.name_of(seg.speaker)
        return f"[{format_clock(seg.start)}] {who + ': ' if who else ''}{seg.text.strip()}"

    def hit_phrase(self, seg: Line) -> str:
        who = self.loop.name_of(seg.speaker)
        self.citations.append(
            Citation(start=seg.start, end=seg.end, kind="transcript", text=seg.text, speaker=who)
        )
        by = f" by {who}" if who else ""
        return f'at {format_clock(seg.start)}{by} ("{_shorten(seg.text.strip())}")'

    def sound_phrase(self, event: BaseEvent) -> str:
        self.citations.append(self.loop.cite(event))
        label = getattr(event, "label", str(event.kind))  # type: ignore[attr-defined]
        guess = " (estimated)" if getattr(event, "heuristic", False) else ""
        return f"{label}{guess} at {format_span(event.start, event.end)}"

    def finish(self, text: str, understood: bool = True) -> Answer:
        return Answer(
            answer=text,
            reasoning=self.reasoning,
            tool_calls=self.loop.records,
            citations=dedupe_citations(self.citations),
            reasoner=RulesReasoner.name,
            understood=understood,
        )

    def not_understood(self, why: str) -> Answer:
        self.note("No question shape I know matched; not guessing.")
        body = "\n".join(f"- {c}" for c in CAPABILITIES)
        return self.finish(f"{why} I can answer questions about:\n{body}", understood=False)


def _args_text(arguments: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={round(v, 2) if isinstance(v, float) else v!r}" for k, v in arguments.items()
    )


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


__all__ = ["CAPABILITIES", "RulesReasoner"]
