"""Conversations: sessions, streamed events, and follow-ups made standalone.

``condense_fallback`` is the rule-based rewrite used when no LLM is on: pronouns are replaced by
the names the previous turn used (subject pronouns by the previous question's first name, object
pronouns by a name from its answer), and whatever is still unresolved gets the previous question
as context.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contracts import Answer
    from .core import Assistant

_NAME = re.compile(r"\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*")
_OPENERS = frozenset("""
what who whom whose when where why how which did does do is are was were has have had can could
will would should the a an his her their its in on at as and but or if then so this that these
those there it he she they after before last still
""".split())
_SUBJECT = re.compile(r"\b(he|she)\b", re.IGNORECASE)
_OBJECT = re.compile(r"\b(him|her)\b(?!\s+(?:own|\w+s)\b)", re.IGNORECASE)
_POSSESSIVE = re.compile(r"\b(his|her)\b", re.IGNORECASE)
_OTHER = re.compile(r"\b(they|them|their|it|its|that|this|those|these|there)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


def _names(text: str) -> list[str]:
    found = []
    for match in _NAME.finditer(text):
        words = match.group().split()
        while words and words[0].lower() in _OPENERS:
            words = words[1:]
        name = " ".join(words).rstrip("’'s").strip()
        if name and name not in found:
            found.append(name)
    # full names before single words ("Wang Yi" before "Chinese")
    return sorted(found, key=lambda n: len(n.split()) < 2)


def condense_fallback(question: str, history: Sequence[Turn]) -> str:
    """The question made standalone from the last turn, or unchanged when it needs no context."""
    question = question.strip()
    if not history:
        return question
    last = history[-1]
    asked, answered = _names(last.question), _names(last.answer)
    if not (_SUBJECT.search(question) or _OBJECT.search(question) or _POSSESSIVE.search(question)
            or _OTHER.search(question)):
        return question
    used: list[str] = []
    # "Who met Lammy?" / "Which company ...?" asked for someone: the answer names them.
    # "Who did Lammy meet?" asked about Lammy's doings: Lammy stays the subject.
    entity_subject = bool(re.match(r"\s*(?:who|which\s+[\w’'-]+(?:\s+[\w’'-]+)?)\b(?!\s+(?:did|does|do|"
                                   r"will|would|can|could|should)\b)", last.question, re.IGNORECASE))
    ordered = answered + asked if entity_subject else asked + answered
    subject = ordered[0] if ordered else None
    short = last.answer.strip().rstrip(".")
    if entity_subject and 0 < len(short.split()) <= 5:
        subject = short  # "Two Chinese firms."
    if entity_subject and subject and not (_SUBJECT.search(question) or _OBJECT.search(question)):
        # "Where was its pipeline?" after "Which company ...?": it is that company
        question = re.sub(r"\b(?:its|their)\b", f"{subject}’s", question, count=1, flags=re.I)
        question = re.sub(r"\b(?:it|they|them)\b", subject, question, count=1, flags=re.I)
        if subject in question:
            return question
    if subject and _SUBJECT.search(question):
        question = _SUBJECT.sub(subject, question, count=1)
        used.append(subject)
    if _OBJECT.search(question):
        other = next((n for n in answered + asked if n not in used), None)
        if other:
            question = _OBJECT.sub(other, question, count=1)
            used.append(other)
    if subject and not used and _POSSESSIVE.search(question):
        question = _POSSESSIVE.sub(f"{subject}’s", question, count=1)
        used.append(subject)
    if _OTHER.search(question) or not used:
        question = f"{question} ({last.question.strip()})"
    return question


@dataclass
class Event:
    """One step of a streamed answer: ``sources`` (at once), ``token`` (generated text), then
    ``answer`` (the verified Answer)."""

    kind: str
    text: str = ""
    passages: list[Any] = field(default_factory=list)
    condensed_question: str | None = None
    answer: Answer | None = None


_CITE = re.compile(r"\[(\d+)\]")


class ChatSession:
    """One conversation. Sessions share nothing but the index: one per UI tab or REPL."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.history: list[Turn] = []
        self._numbers: dict[tuple[str, int], int] = {}  # passage → its number in this chat

    def ask(self, question: str, **options) -> Answer:
        answer = None
        for event in self.stream(question, **options):
            answer = event.answer or answer
        return answer

    def stream(self, question: str, **options) -> Iterator[Event]:
        for event in self.assistant.stream(question, history=list(self.history), **options):
            if event.answer is not None:
                event.answer = self._renumber(event.answer)
                self.history.append(Turn(question, event.answer.answer))
            yield event

    def _renumber(self, answer: Answer) -> Answer:
        """A passage keeps the number it first got in this conversation."""
        mapping: dict[int, int] = {}
        for c in answer.citations:
            passage = next((p for p in answer.passages
                            if p.article_id == c.article_id and p.start <= c.start < p.end), None)
            key = (c.article_id, passage.start if passage else c.start)
            number = self._numbers.setdefault(key, len(self._numbers) + 1)
            mapping.setdefault(c.n, number)
        if not mapping:
            return answer
        text = _CITE.sub(lambda m: f"[{mapping.get(int(m[1]), int(m[1]))}]", answer.answer)
        citations = [c.model_copy(update={"n": mapping[c.n]}) for c in answer.citations]
        sentences = [s.model_copy(update={"citations": [mapping.get(n, n) for n in s.citations]})
                     for s in answer.sentences]
        return answer.model_copy(update={"answer": text, "citations": citations,
                                         "sentences": sentences})
