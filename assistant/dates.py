"""Dates: the --since/--until values, and time in questions ("last week", "in April 2024").

Relative expressions are resolved against a reference day: a given "today", or else the newest
article's date (a news collection is read as of its latest story, not as of the clock).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import AssistantError

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))


def parse_day(value: str, end: bool = False) -> date:
    """``2024``, ``2024-04``, ``2024-04-09`` or ``April 2024``: the first (or, with ``end``,
    the last) day it covers."""
    text = value.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        return date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        return _month(int(m[1]), int(m[2]), end)
    if m := re.fullmatch(r"(\d{4})", text):
        return date(int(m[1]), 12, 31) if end else date(int(m[1]), 1, 1)
    if m := re.fullmatch(rf"({_MONTH})\.?\s+(\d{{4}})", text, re.IGNORECASE):
        return _month(int(m[2]), MONTHS[m[1].lower()], end)
    raise AssistantError(f"Cannot read the date {value!r}: use YYYY, YYYY-MM, YYYY-MM-DD or "
                         f"'April 2024'.")


def _month(year: int, month: int, end: bool) -> date:
    if not 1 <= month <= 12:
        raise AssistantError(f"No month {month} in {year}.")
    return date(year, month, calendar.monthrange(year, month)[1] if end else 1)


@dataclass(frozen=True)
class TimeScope:
    """What a question says about time."""

    since: date | None = None
    until: date | None = None
    latest: bool = False  # "the latest on ...", "most recent", "now": prefer the newest article
    phrase: str | None = None  # the words that said it
    event: str | None = None  # "before the sanctions": "the sanctions", to be dated by the articles
    relation: str | None = None  # ... and "before", "after", "since" or "until"
    note: str | None = None  # how an event was dated, or that it could not be

    @property
    def sensitive(self) -> bool:
        return bool(self.since or self.until or self.latest)

    def without(self, question: str) -> str:
        """The question without the words that named the time ("in April 2024")."""
        if not self.phrase:
            return question
        return " ".join(question.replace(self.phrase, " ").split())


_LATEST = re.compile(r"\b(?:latest|most recent|newest|currently|current|now|still|so far|to date)\b",
                     re.IGNORECASE)


def time_scope(question: str, today: date | None) -> TimeScope:
    """The time window a question names, resolved against ``today``.

    ``today`` None means the collection has no dated article: no window can select articles
    then, and "in 1975" stays in the question as words about the event.
    """
    if today is not None and (window := _window(question, today)):
        return window
    if today is not None and (m := _EVENT.search(question)):
        return TimeScope(event=m[2], relation=m[1].lower(), phrase=m.group())
    if m := _LATEST.search(question):
        return TimeScope(latest=True, phrase=m.group())
    return TimeScope()


def readings(question: str) -> set[str]:
    """The texts ``time_scope(question, today).without(question)`` can be: which words name a
    time depends on whether there is a ``today`` (a dated collection), not on which day it is."""
    return {time_scope(question, today).without(question) for today in (None, date.today())}


# "before the sanctions", "after the vote", "since the invasion of Ukraine": a time told by an
# event, which the articles that report it date (``event_window``)
_EVENT = re.compile(r"\b(before|after|since|until)\s+(the\s+[A-Za-z][\w'-]*"
                    r"(?:\s+(?!(?:about|on|in|at|for|to|with|and|or|did|do|does|was|were|is|are|"
                    r"has|had|have|what|who|how|why|when|where)\b)[A-Za-z][\w'-]*){0,3})",
                    re.IGNORECASE)


def event_window(scope: TimeScope, reported: date | None, where: str = "") -> TimeScope:
    """The window of "before/after/since/until <event>", the event dated ``reported`` (the
    first article that reports it), or no window when no dated article does."""
    if reported is None:
        return TimeScope(note=f"No dated article mentions {scope.event!r}, so {scope.phrase!r} "
                              f"did not narrow the articles.")
    note = (f"Read {scope.phrase!r} as published {scope.relation} {reported.isoformat()}, "
            f"when the articles first report {scope.event}{where}.")
    if scope.relation == "before":
        return TimeScope(until=reported - timedelta(days=1), phrase=scope.phrase, note=note)
    if scope.relation == "until":
        return TimeScope(until=reported, phrase=scope.phrase, note=note)
    if scope.relation == "after":
        return TimeScope(since=reported + timedelta(days=1), phrase=scope.phrase, note=note)
    return TimeScope(since=reported, phrase=scope.phrase, note=note)


def _window(q: str, today: date) -> TimeScope | None:
    """The window of "in April 2024", "in 2023", "before March 2024", "last week"."""
    if m := re.search(rf"\b(?:in|during|of)\s+({_MONTH})\.?\s+(\d{{4}})\b", q, re.IGNORECASE):
        year, month = int(m[2]), MONTHS[m[1].lower()]
        return TimeScope(_month(year, month, False), _month(year, month, True), phrase=m.group())
    if m := re.search(r"\b(?:in|during)\s+((?:19|20)\d\d)\b", q):
        year = int(m[1])
        return TimeScope(date(year, 1, 1), date(year, 12, 31), phrase=m.group())
    if m := re.search(rf"\b(before|after|since)\s+({_MONTH})\.?\s+(\d{{4}})\b", q, re.IGNORECASE):
        year, month = int(m[3]), MONTHS[m[2].lower()]
        if m[1].lower() == "before":
            return TimeScope(until=_month(year, month, False) - timedelta(days=1), phrase=m.group())
        start = _month(year, month, m[1].lower() == "after")
        return TimeScope(since=start + timedelta(days=1 if m[1].lower() == "after" else 0),
                         phrase=m.group())
    relative = re.search(r"\b(?:last|past|previous)\s+(week|month|year)\b|\bthis\s+(week|month|year)\b"
                         r"|\b(yesterday|today)\b", q, re.IGNORECASE)
    if relative:
        unit = (relative[1] or relative[2] or relative[3]).lower()
        days = {"week": 7, "month": 31, "year": 366, "yesterday": 1, "today": 0}[unit]
        return TimeScope(today - timedelta(days=days), today, phrase=relative.group())
    return None
