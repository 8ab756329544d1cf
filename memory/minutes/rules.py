"""Decisions, action items, questions, disagreements and the next meeting, found by rules.

Each rule reads one sentence (segments are cut at sentence ends) and the turns around it:
who asked, who answered, whether a request was accepted. Everything found cites the
segments it rests on. The patterns are the ways people say these things in meetings;
they are meant to be read and extended.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from memory.embeddings import content_words
from memory.minutes.records import Citation, MinutesItem
from perception.events import TranscriptSegment

_SENTENCE = re.compile(r"[^.!?]+[.!?]*")

_DECISION = re.compile(
    r"\b(?:we(?:'ve| have)? decided|decision is|(?:we|i think we)(?:'re| are)? agreed|we agree\b"
    r"|let'?s go with|we'?ll go with|we(?:'re| are) going (?:with|ahead)|it'?s settled|we settled on"
    r"|final decision|we move the|we will move|we'?ll move the|we'?re moving the|we will go ahead"
    r"|let'?s compromise|the plan is)\b",
    re.IGNORECASE,
)
_NOT_DECISION = re.compile(
    r"\bno decision\b|\bnot decided\b|\bhaven'?t decided\b|\bundecided\b", re.IGNORECASE
)
_COMMIT = re.compile(
    r"\b(?:i'?ll|i will|i can (?:take|do|handle|have|send|write|set)|i volunteer|i'?m going to|i am going to"
    r"|i'?ll take care)\b(?!\s+(?:be|have been|see|let you know if)\b)",
    re.IGNORECASE,
)
_NAMED_WILL = re.compile(
    r"\b([A-Z][a-z]+)(?: and [A-Z][a-z]+)? (?:will|is going to|takes care of|can take)\b"
)
# A spoken cue ("Action item:") and the words it labels may land in two segments this far apart.
_CUE_GAP = 3.0
_LABELLED = re.compile(r"\b(?:action item|to-?do|follow[- ]up)\s*[:,-]", re.IGNORECASE)
_REQUEST = re.compile(
    r"^(?:([A-Z][a-z]+),\s+)?(?:can|could|would) you\b|\b([A-Z][a-z]+), (?:please|can you|could you)\b"
)
_ACCEPT = re.compile(
    r"^\s*(?:sure|yes|yeah|ok(?:ay)?|will do|no problem|of course|absolutely|i can do that|consider it done|on it)\b",
    re.IGNORECASE,
)
_NOT_NAMES = frozenset(
    [
        "It",
        "That",
        "This",
        "We",
        "They",
        "He",
        "She",
        "There",
        "Which",
        "Who",
        "What",
        "Everyone",
        "Nobody",
        "Someone",
        "Somebody",
        "Everybody",
        "Anyone",
        "And",
        "But",
        "So",
        "Then",
        "Okay",
        "Ok",
        "Yes",
        "No",
        "Maybe",
        "Also",
        "Well",
        "Now",
        "Today",
        "Tomorrow",
        "Testing",
    ]
)
# A deadline as people say it; the reasoner's deadline questions use the same phrases.
DEADLINE = re.compile(
    r"\b(?:(?:by|before|until|no later than|due)\s+(?:the\s+)?(?:\w+\s+of\s+)?"
    r"(?:end of (?:the\s+)?\w+|next \w+|this \w+|tomorrow|tonight|today"
    r"|(?:mon|tues|wednes|thurs|fri|satur|sun)day|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*(?:\s+\w+)?"
    r"|\d{1,2}(?:st|nd|rd|th)?(?:\s+of\s+\w+)?|eod|eow)"
    r"|tomorrow(?: morning| afternoon)?|tonight|this (?:afternoon|morning|evening|week|month)|next (?:week|month)"
    r"|end of (?:the\s+)?(?:day|week|month|quarter)"
    # A bare day in a commitment is its deadline ("I'll send it Friday", or "by" misheard).
    r"|(?:on\s+|next\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b",
    re.IGNORECASE,
)
_OPEN = re.compile(
    r"\b(?:not sure|don'?t know|no idea|not yet|we'?ll see|open question|come back to (?:it|that)"
    r"|leave (?:that|it) open"
    r"|tbd|to be decided|need to find out|still need|nobody knows|unclear|no owner)\b",
    re.IGNORECASE,
)
_DISAGREE = re.compile(
    r"\b(?:i disagree|i don'?t agree|i do not agree|i don'?t think (?:that|this|it|we|so|\w+ \w+ is)|not realistic"
    r"|i'?d push back|that won'?t work|that doesn'?t work|i object|i'?m against|that'?s not (?:true|right|fair))\b",
    re.IGNORECASE,
)
_AGREE = re.compile(
    r"\b(?:let'?s compromise|agreed|i can live with that|fair enough|makes sense|fine\b|that works|ok(?:ay)?, let'?s"
    r"|you'?re right|sounds good)\b",
    re.IGNORECASE,
)
_NEXT_MEETING = re.compile(
    r"\b(?:next meeting|meet again|next sync|reconvene|same time next week|follow[- ]up meeting"
    r"|next call|next check-in)\b",
    re.IGNORECASE,
)
_WHEN = re.compile(
    r"\b(?:(?:next|this|on)\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)day(?:\s+(?:at|morning|afternoon)\s*\w*)?"
    r"|\bnext week\b|\btomorrow\b|\bin (?:two|three|\d+) weeks\b|\bat \d{1,2}(?::\d\d)?\b"
    r"|\bat (?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b",
    re.IGNORECASE,
)
DISAGREEMENT_WINDOW = 120.0  # seconds in which a disagreement may be settled


@dataclass(frozen=True)
class Sentence:
    index: int  # of its segment
    text: str
    segment: TranscriptSegment


def sentences(segments: Sequence[TranscriptSegment]) -> list[Sentence]:
    out = []
    for index, segment in enumerate(segments):
        for piece in _SENTENCE.findall(segment.text):
            if piece.strip():
                out.append(Sentence(index, piece.strip(), segment))
    return out


def cite(segment: TranscriptSegment) -> Citation:
    return Citation(
        start=segment.start, end=segment.end, speaker=segment.speaker, text=segment.text.strip()
    )


def _item(kind: str, sentence: Sentence, **fields: object) -> MinutesItem:
    segment = sentence.segment
    citations = fields.pop("citations", None) or [cite(segment)]
    return MinutesItem(
        kind=kind,  # type: ignore[arg-type]
        text=sentence.text,
        start=segment.start,
        end=segment.end,
        speaker=segment.speaker,
        citations=citations,  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


def _deadline(text: str) -> str | None:
    found = DEADLINE.search(text)
    return found.group(0) if found else None


# A month, or a week or month counted from now: when something decided will happen.
_DATE = re.compile(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december)\b"
    r"|\b(?:next|this|last|coming)\s+(?:week|month|quarter|year)\b",
    re.IGNORECASE,
)


def _with_its_date(found: Sequence[Sentence], at: int) -> str:
    """The decision sentence ``found[at]``, with the next sentence of its segment when that
    one only says when ("We decided to move the server first. In the last week of August,":
    the recogniser's full stop split one sentence)."""
    sentence = found[at]
    following = found[at + 1] if at + 1 < len(found) else None
    if (
        following is not None
        and following.segment is sentence.segment
        and (
            _DATE.search(following.text)
            or DEADLINE.search(following.text)
            or _WHEN.search(following.text)
        )
        and not _DECISION.search(following.text)
    ):
        return f"{sentence.text} {following.text.rstrip(',;')}"
    return sentence.text


def decisions(found: Sequence[Sentence]) -> list[MinutesItem]:
    """Decisions; several said in a row about one thing ("let's compromise ... so the
    decision is ...") become one item worded by the most explicit, citing each."""
    items: list[MinutesItem] = []
    last_index = -10
    for at, sentence in enumerate(found):
        if not _DECISION.search(sentence.text) or _NOT_DECISION.search(sentence.text):
            continue
        item = dataclasses.replace(_item("decision", sentence), text=_with_its_date(found, at))
        close = (
            sentence.index - last_index <= 3 and item.start - items[-1].end < 45.0
            if items
            else False
        )
        last_index = sentence.index
        if close:
            previous = items[-1]
            explicit = re.search(r"decided|decision", sentence.text, re.IGNORECASE)
            items[-1] = MinutesItem(
                kind="decision",
                text=item.text if explicit else previous.text,
                start=previous.start,
                end=item.end,
                speaker=sentence.segment.speaker if explicit else previous.speaker,
                citations=[*previous.citations, *item.citations],
            )
            continue
        items.append(item)
    return items


def actions(found: Sequence[Sentence], segments: Sequence[TranscriptSegment]) -> list[MinutesItem]:
    """Action items: commitments ("I'll ..."), assignments ("Dave will ..."), accepted
    requests ("Carol, can you ...?" "Sure.") with their owner and deadline phrase."""
    items: list[MinutesItem] = []
    for sentence in found:
        text, segment = sentence.text, sentence.segment
        owner: str | None = None
        citations = [cite(segment)]
        if _COMMIT.search(text):
            owner = segment.speaker
        elif (named := _NAMED_WILL.search(text)) and named.group(1) not in _NOT_NAMES:
            owner = named.group(1)
        elif label := _LABELLED.search(text):  # "Action item: the slides go out on Monday."
            owner = None
            following = segments[sentence.index + 1] if sentence.index + 1 < len(segments) else None
            if (
                not content_words(text[label.end() :])
                and following is not None
                and following.speaker == segment.speaker
                and following.start - segment.end <= _CUE_GAP
            ):  # the cue alone, its item in the speaker's next segment (split at a pause)
                text = f"{text} {following.text.strip()}"
                citations.append(cite(following))
                if (named := _NAMED_WILL.search(text)) and named.group(1) not in _NOT_NAMES:
                    owner = named.group(1)
        elif request := _REQUEST.search(text):
            owner = request.group(1) or request.group(2)
            # Owned by whoever accepts it in the next turn, when someone does.
            following = segments[sentence.index + 1] if sentence.index + 1 < len(segments) else None
            if (
                following is not None
                and following.speaker != segment.speaker
                and _ACCEPT.search(following.text)
            ):
                owner = following.speaker
                citations.append(cite(following))
            elif owner is None:
                continue
        else:
            continue
        if len(content_words(text)) < 2:
            continue
        item = _item("action", sentence, owner=owner, deadline=_deadline(text), citations=citations)
        item = dataclasses.replace(item, text=text, end=max(c.end for c in citations))
        previous = items[-1] if items else None
        if previous is not None and previous.start == item.start and previous.owner == owner:
            # One commitment said in two sentences ("I volunteer ... I can have it by Monday").
            item = MinutesItem(
                kind="action", text=f"{previous.text} {text}", start=previous.start, end=item.end,
                speaker=previous.speaker, owner=owner, deadline=previous.deadline or item.deadline,
                citations=previous.citations,
            )  # fmt: skip
            items[-1] = item
            continue
        items.append(item)
    return items


def questions(
    found: Sequence[Sentence], segments: Sequence[TranscriptSegment]
) -> list[MinutesItem]:
    """Questions asked, each marked answered or open: open when the next turns say so
    ("not sure yet", "let's leave that open") or nobody else spoke after it."""
    items: list[MinutesItem] = []
    for sentence in found:
        if (
            not sentence.text.endswith("?")
            or len(sentence.text.split()) < 3
            or not content_words(sentence.text)
        ):
            continue
        if _REQUEST.search(sentence.text):  # a request: an action item, not a question
            continue
        segment = sentence.segment
        later = [
            s
            for s in segments[sentence.index + 1 : sentence.index + 4]
            if s.speaker != segment.speaker
        ]
        rest_of_turn = segment.text[segment.text.find(sentence.text) + len(sentence.text) :]
        flagged_open = bool(_OPEN.search(rest_of_turn))
        reply = later[0] if later else None
        open_ = flagged_open or reply is None or bool(_OPEN.search(reply.text))
        citations = [cite(segment)] + ([cite(reply)] if reply is not None else [])
        items.append(
            _item(
                "question",
                sentence,
                resolved=not open_,
                resolution=None if open_ or reply is None else reply.text.strip(),
                citations=citations,
            )
        )
    # Stated gaps ("we still need an owner for the movers") are open questions too.
    for sentence in found:
        if re.search(
            r"\bstill need (?:an? )?(?:owner|decision|answer)\b|\bopen question\b",
            sentence.text,
            re.IGNORECASE,
        ):
            if any(q.start == sentence.segment.start for q in items):
                continue
            items.append(_item("question", sentence, resolved=False))
    items.sort(key=lambda q: q.start)
    return items


def disagreements(found: Sequence[Sentence]) -> list[MinutesItem]:
    """Disagreements (objections within a short stretch are one), each with the agreement
    that settled it, if one came within ``DISAGREEMENT_WINDOW`` seconds."""
    items: list[MinutesItem] = []
    for sentence in found:
        if not _DISAGREE.search(sentence.text):
            continue
        if items and sentence.segment.start - items[-1].end < 60.0:
            previous = items[-1]
            items[-1] = MinutesItem(
                kind="disagreement", text=previous.text, start=previous.start, end=sentence.segment.end,
                speaker=previous.speaker, citations=[*previous.citations, cite(sentence.segment)],
            )  # fmt: skip
            continue
        items.append(_item("disagreement", sentence))
    settled: list[MinutesItem] = []
    for item in items:
        resolution = next(
            (
                s
                for s in found
                if item.end <= s.segment.start <= item.end + DISAGREEMENT_WINDOW
                and (_AGREE.search(s.text) or _DECISION.search(s.text))
                and not _DISAGREE.search(s.text)
            ),
            None,
        )
        speakers = sorted({c.speaker for c in item.citations if c.speaker})
        text = (
            item.text if len(speakers) < 2 else f"{' and '.join(speakers)} disagreed: {item.text}"
        )
        settled.append(
            MinutesItem(
                kind="disagreement", text=text, start=item.start, end=item.end, speaker=item.speaker,
                resolved=resolution is not None,
                resolution=resolution.text if resolution else None,
                citations=[*item.citations, *([cite(resolution.segment)] if resolution else [])],
            )
        )  # fmt: skip
    return settled


def next_meeting(found: Sequence[Sentence]) -> MinutesItem | None:
    """The last mention of when the group meets next, with the time phrase said."""
    for sentence in reversed(found):
        if _NEXT_MEETING.search(sentence.text):
            when = _WHEN.findall(sentence.text)
            return _item("next_meeting", sentence, deadline=" ".join(when) if when else None)
    return None
