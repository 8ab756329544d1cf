"""A realistic 3-person planning meeting (about 11 minutes) as transcript events.

Alice (S1) runs it, Bob (S2) leads engineering, Carol (S3) marketing and operations. The
words are chosen so questions asked in other words need more than keywords: the meeting
says "budget" and "spending" (never "costs"), "launch" (never "release"), "hiring" and
"job posts" (never "recruiting"), "office move" and "new building" (never "relocation"),
"testing" (never "QA").

``TRUTH`` lists what the minutes must find, with the line each item is said on.
"""

from __future__ import annotations

from perception.events import Event, SpeakerTurn, TranscriptSegment, Word

# (speaker, text); times are laid out at a speaking rate with short pauses between turns.
LINES: list[tuple[str, str]] = [
    # 0 opening
    ("S1", "Okay, good morning everyone. Let's get started."),
    ("S2", "Morning."),
    ("S3", "Good morning, Alice."),
    (
        "S1",
        "We have four things on the agenda today: the budget, the launch date, hiring, and the office move.",
    ),
    ("S1", "Let's try to keep it to fifteen minutes."),
    # 5 budget
    (
        "S1",
        "So first, the budget. We are about twenty percent over on cloud spending this quarter.",
    ),
    ("S2", "Most of that is the staging cluster. It runs all night and nobody uses it after six."),
    ("S3", "Can we just shut it down at night?"),
    ("S2", "Yes, we can schedule it to scale down to zero in the evening and on weekends."),
    ("S1", "How much would that save us per month?"),
    ("S2", "Roughly four thousand dollars a month, maybe a bit more."),
    (
        "S1",
        "Good. Then we decided: the staging cluster scales down outside working hours, starting next week.",
    ),
    ("S2", "I'll set up the schedule for the staging cluster by Wednesday."),
    ("S3", "And the marketing tools? We pay for three analytics subscriptions."),
    (
        "S1",
        "Carol, can you check which of the analytics subscriptions we actually use "
        "and cancel the rest by the end of the month?",
    ),
    ("S3", "Sure, I can do that."),
    # 16 launch
    ("S1", "Next item, the launch date. We told customers the new version ships on May twentieth."),
    (
        "S2",
        "I don't think May twentieth is realistic. Testing found eleven open bugs in the payment flow last week.",
    ),
    (
        "S3",
        "But the whole campaign is built around May. The press announcement and the webinar are already booked.",
    ),
    ("S2", "I understand, but shipping a broken payment flow would be worse than a late date."),
    ("S3", "I disagree. We could ship without the new payment flow and add it later."),
    (
        "S2",
        "That would mean a second round of testing on the old flow, which takes another week anyway.",
    ),
    ("S1", "How long does testing need to finish the payment fixes?"),
    ("S2", "Three weeks if we get one more tester from the mobile team."),
    ("S3", "Three weeks puts us in the middle of June."),
    (
        "S1",
        "Okay. Let's compromise. We move the launch to June twelfth, and Carol keeps the webinar in May as a preview.",
    ),
    ("S3", "Fine, I can live with that. A preview webinar actually works for the campaign."),
    ("S2", "Agreed. June twelfth is doable."),
    (
        "S1",
        "So the decision is: the launch moves to June twelfth because of the payment bugs, "
        "and the May webinar becomes a preview.",
    ),
    ("S3", "I'll update the press announcement and tell the agency about the new date by Friday."),
    ("S2", "And I will ask the mobile team lead for a tester tomorrow."),
    # 31 hiring
    ("S1", "Third, hiring. We have approval for two backend engineers."),
    ("S2", "We really need them before the autumn. The on-call rotation is down to three people."),
    ("S3", "Do we want to use an agency this time or post the jobs ourselves?"),
    (
        "S1",
        "Agencies charge twenty percent of the first year salary. I'd rather post the jobs ourselves first.",
    ),
    ("S2", "Makes sense. Referrals worked well last time too."),
    (
        "S1",
        "Let's go with our own job posts and referrals, and we revisit the agency in August if nobody fits.",
    ),
    ("S2", "I volunteer to write the job descriptions. I can have drafts ready by next Monday."),
    ("S3", "I'll post them on the careers page and on LinkedIn once Bob sends the drafts."),
    ("S1", "Great. Bob and I will do the first interviews together."),
    (
        "S3",
        "Who is going to run the technical interview? Last time that took a lot of time from the team.",
    ),
    ("S2", "Dave offered to help with those, I think."),
    ("S1", "Okay, Dave will run the technical interviews. I'll confirm with him this afternoon."),
    # 43 office move
    ("S1", "Last item, the office move. The lease on this floor ends in September."),
    ("S3", "The new building on Harbor Street is ready from the first of September."),
    (
        "S2",
        "Is the server room in the new building finished? We still have the build machines here.",
    ),
    ("S3", "The landlord said the electrical work is done, but the cooling is not installed yet."),
    (
        "S1",
        "Then we can't move the build machines until the cooling is in. Do we know when it will be installed?",
    ),
    ("S3", "Not yet. I'm waiting for the landlord to give me a date."),
    (
        "S2",
        "What happens to the build machines if the cooling is late? That's still an open question for me.",
    ),
    ("S1", "Let's leave that open until Carol hears from the landlord. We'll come back to it."),
    ("S3", "I'll call the landlord about the cooling date this week."),
    ("S1", "And who is handling the movers? We need quotes."),
    ("S3", "I'm not sure yet. Maybe facilities can take it."),
    ("S1", "Okay, we still need an owner for the movers. I'll ask facilities."),
    ("S2", "One more thing on the move: parking. The new building only has twenty spaces."),
    (
        "S3",
        "We could offer public transport passes instead. That might even be cheaper than parking.",
    ),
    ("S1", "Good idea. Let's look into that, but no decision today."),
    # 58 wrap-up
    ("S1", "Okay, let me recap the action items."),
    (
        "S1",
        "Bob sets up the staging schedule by Wednesday and writes the job descriptions by next Monday.",
    ),
    (
        "S1",
        "Carol cancels the unused subscriptions, updates the press announcement by Friday, and calls the landlord.",
    ),
    ("S1", "I confirm with Dave and ask facilities about the movers."),
    ("S2", "Sounds right."),
    ("S3", "Yes, that's everything."),
    ("S1", "Our next meeting is next Tuesday at ten, same room."),
    ("S2", "Thanks, see you Tuesday."),
    ("S3", "Thanks everyone."),
]

WORDS_PER_SECOND = 2.6
PAUSE = 0.6
START = 2.0


def layout() -> list[tuple[float, float, str, str]]:
    """``(start, end, speaker, text)`` per line, at a speaking rate with pauses."""
    timed = []
    t = START
    previous = None
    for speaker, text in LINES:
        if previous is not None:
            t += PAUSE if speaker != previous else 0.3
        duration = max(1.0, len(text.split()) / WORDS_PER_SECOND)
        timed.append((round(t, 2), round(t + duration, 2), speaker, text))
        t += duration
        previous = speaker
    return timed


def _words(start: float, end: float, speaker: str, text: str) -> list[Word]:
    tokens = text.split()
    step = (end - start) / len(tokens)
    return [
        Word(start=round(start + i * step, 3), end=round(start + (i + 1) * step, 3),
             text=token, speaker=speaker, confidence=0.9)
        for i, token in enumerate(tokens)
    ]  # fmt: skip


def planning_meeting_events(offset: float = 0.0) -> list[Event]:
    """The meeting as segments (with words) and speaker turns, ``offset`` s later."""
    events: list[Event] = []
    for start, end, speaker, text in layout():
        start, end = start + offset, end + offset
        events.append(
            TranscriptSegment(
                start=start, end=end, speaker=speaker, text=text,
                words=_words(start, end, speaker, text), language="en",
                backend="lite", model="whisper-tiny", window_id=int(start // 30),
            )
        )  # fmt: skip
        events.append(SpeakerTurn(start=start, end=end, speaker=speaker, backend="lite"))
    return events


def line_time(index: int) -> float:
    """Start time of line ``index``."""
    return layout()[index][0]


# What the minutes must contain: line index -> expectation.
TRUTH = {
    "topic_starts": [5, 16, 31, 43],  # budget, launch, hiring, office move (+- 2 lines)
    "decisions": [11, 28, 36],  # staging cluster, launch moved (said at 25 and 28), own job posts
    "not_decisions": [57],  # "no decision today"
    "actions": {
        # line: (owner, deadline phrase or None)
        12: ("S2", "by Wednesday"),
        14: ("S3", "by the end of the month"),  # asked of Carol, accepted by S3
        29: ("S3", "by Friday"),
        30: ("S2", "tomorrow"),
        37: ("S2", "by next Monday"),
        38: ("S3", None),
        42: ("Dave", None),
        51: ("S3", "this week"),
        54: ("S1", None),
    },
    "open_questions": [47, 49, 52],  # cooling date, build machines if late, movers
    "answered_questions": [7, 9, 22, 33],
    "disagreement": (17, (25, 28)),  # May date disputed at 17, settled between lines 25 and 28
    "next_meeting": 64,
}
