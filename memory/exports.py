"""A session as JSON, SRT, WebVTT or Markdown minutes, with speakers' display names."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from itertools import groupby
from typing import TYPE_CHECKING, Any, Literal

from memory.errors import MemoryStoreError, unknown_session
from memory.minutes.build import minutes_for
from memory.minutes.records import Minutes, MinutesItem
from memory.records import AgentTurnRecord, SessionInfo, SpeakerTalkTime
from perception.events import Event, MusicEvent, SoundEvent, TranscriptSegment
from perception.formats import VTT_HEADER, format_clock, srt_cue, vtt_cue

if TYPE_CHECKING:
    from memory.repository import Memory

ExportFormat = Literal["json", "srt", "vtt", "md"]


def _segments(events: Sequence[Event]) -> list[TranscriptSegment]:
    return [e for e in events if isinstance(e, TranscriptSegment) and e.text.strip()]


def _name(speaker: str | None, names: Mapping[str, str]) -> str | None:
    return names.get(speaker, speaker) if speaker else None


def to_srt(events: Sequence[Event], names: Mapping[str, str]) -> str:
    cues = []
    for number, segment in enumerate(_segments(events), start=1):
        who = _name(segment.speaker, names)
        text = f"{who}: {segment.text.strip()}" if who else segment.text.strip()
        cues.append(srt_cue(number, segment.start, segment.end, text))
    return "\n".join(cues)


def to_vtt(events: Sequence[Event], names: Mapping[str, str]) -> str:
    cues = [VTT_HEADER]
    for segment in _segments(events):
        who = _name(segment.speaker, names)
        cues.append(vtt_cue(segment.start, segment.end, segment.text, voice=who))
    return "\n".join(cues)


def to_json(
    info: SessionInfo,
    events: Sequence[Event],
    names: Mapping[str, str],
    turns: Sequence[AgentTurnRecord],
) -> str:
    session = asdict(info)
    session["started_at"] = info.started_at.isoformat()
    document: dict[str, Any] = {
        "session": session,
        "speakers": dict(names),
        "events": [e.model_dump(mode="json") for e in events],
        "agent_turns": [
            {**asdict(t), "created_at": t.created_at.isoformat() if t.created_at else None}
            for t in turns
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def _sound_line(event: SoundEvent | MusicEvent) -> str:
    detail = ""
    if isinstance(event, MusicEvent) and event.description:
        detail = f": {event.description}"
    span = (
        f"{format_clock(event.start)}–{format_clock(event.end)}"
        if event.end - event.start >= 1
        else format_clock(event.start)
    )
    return f"- {span} *{event.label}*{detail}"


def _cited(item: MinutesItem, names: Mapping[str, str]) -> str:
    who = _name(item.speaker, names)
    return f"[{format_clock(item.start)}" + (f", {who}]" if who else "]")


def _minutes_lines(minutes: Minutes, names: Mapping[str, str]) -> list[str]:
    """The minutes section: topics, decisions, action items, questions, disagreements."""
    lines = ["", "## Minutes", ""]
    if minutes.topics:
        lines += ["### Topics", ""]
        for topic in minutes.topics:
            keywords = f" ({', '.join(topic.keywords[:4])})" if topic.keywords else ""
            lines.append(
                f"{topic.index + 1}. {format_clock(topic.start)}–{format_clock(topic.end)} **{topic.title}**{keywords}"
            )
        lines.append("")
    sections: list[tuple[str, list[MinutesItem]]] = [
        ("Decisions", minutes.decisions),
        ("Action items", minutes.actions),
        ("Open questions", minutes.open_questions),
        ("Disagreements", minutes.disagreements),
    ]
    for heading, items in sections:
        lines += [f"### {heading}", ""]
        if not items:
            lines += ["None recorded.", ""]
            continue
        for item in items:
            extra = []
            if item.owner:
                extra.append(f"owner: {_name(item.owner, names)}")
            if item.deadline:
                extra.append(f"due: {item.deadline}")
            if item.kind == "disagreement":
                extra.append(f"settled: {item.resolution}" if item.resolution else "not settled")
            tail = f" ({'; '.join(extra)})" if extra else ""
            lines.append(f"- {_cited(item, names)} {item.text}{tail}")
        lines.append("")
    if minutes.next_meeting is not None:
        upcoming = minutes.next_meeting
        lines += ["### Next meeting", "", f"- {_cited(upcoming, names)} {upcoming.text}", ""]
    return lines[:-1] if lines[-1] == "" else lines


def minutes_markdown(minutes: Minutes, names: Mapping[str, str]) -> str:
    """The minutes alone, as the Markdown export shows them."""
    text = "\n".join(_minutes_lines(minutes, names)).lstrip("\n")
    return text.replace("### ", "## ").replace("## Minutes", "# Minutes", 1) + "\n"


def to_markdown(
    info: SessionInfo,
    events: Sequence[Event],
    names: Mapping[str, str],
    talk: Sequence[SpeakerTalkTime],
    minutes: Minutes | None = None,
) -> str:
    lines = [f"# {info.title}", ""]
    lines.append(f"- Started: {info.started_at.strftime('%Y-%m-%d %H:%M UTC')}")
    lines.append(f"- Duration: {format_clock(info.duration)}")
    if info.source:
        lines.append(f"- Source: {info.source}")
    if info.backend:
        lines.append(f"- Perception: {info.backend}" + (f" ({info.model})" if info.model else ""))
    lines += ["", "## Speakers", ""]
    if talk:
        total = sum(t.talk_seconds for t in talk) or 1.0
        lines += ["| Speaker | Talk time | Share | Turns |", "|---|---|---|---|"]
        for t in talk:
            lines.append(
                f"| {t.display_name} | {format_clock(t.talk_seconds)} | "
                f"{100 * t.talk_seconds / total:.0f}% | {t.turns} |"
            )
    else:
        lines.append("No speakers identified.")
    if minutes is not None:
        lines += _minutes_lines(minutes, names)
    sounds = [e for e in events if isinstance(e, SoundEvent | MusicEvent)]
    timeline = sorted([*_segments(events), *sounds], key=lambda e: (e.start, e.end))
    lines += ["", "## Transcript", ""]
    if not timeline:
        lines.append("Nothing was transcribed.")
    for minute, items in groupby(timeline, key=lambda e: int(e.start // 60)):
        lines += [f"### {format_clock(minute * 60)}", ""]
        for item in items:
            if isinstance(item, TranscriptSegment):
                who = _name(item.speaker, names) or "Unknown"
                lines.append(f"- [{format_clock(item.start)}] **{who}:** {item.text.strip()}")
            else:
                lines.append(f"- [{format_clock(item.start)}] *({item.label})*")
        lines.append("")
    lines += ["## Sound events", ""]
    lines += [_sound_line(s) for s in sounds] or ["None detected."]
    return "\n".join(lines).rstrip() + "\n"


def export_session(memory: Memory, session_id: str, fmt: ExportFormat) -> str:
    """The session as JSON, SRT or WebVTT subtitles, or Markdown minutes (derived when
    the stored ones are missing or stale)."""
    info = memory.find_session(session_id)
    if info is None or info.id != session_id:
        raise unknown_session(session_id)
    events = memory.session_events(session_id)
    names = memory.speaker_names(session_id)
    if fmt == "srt":
        return to_srt(events, names)
    if fmt == "vtt":
        return to_vtt(events, names)
    if fmt == "md":
        talk = memory.speakers_with_talk_time(session_id)
        return to_markdown(info, events, names, talk, minutes_for(memory, session_id))
    if fmt == "json":
        return to_json(info, events, names, memory.agent_turns(session_id))
    raise MemoryStoreError(f"unknown export format {fmt!r}; use json, srt, vtt or md")
