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

@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "attr"})
_MODIFIER_DEPS = frozenset({"det", "advmod", "amod", "compound", "nummod"})
_SHORT_ANSWER = 6  # words: an answer this short is the thing itself ("Tevake", "church officials")


def _morph(token, key: str) -> list[str]:
    return token.morph.get(key)


def _third_person(token) -> bool:
    return "Prs" in _morph(token, "PronType") and "3" in _morph(token, "Person")


def _pointer(token) -> bool:
    """"that figure", "there", "then", or a bare "that" standing as the subject."""
    return "Dem" in _morph(token, "PronType") or (
        token.pos_ in ("DET", "SCONJ") and token.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj"))


@dataclass(frozen=True)
class _Referent:
    text: str
    person: bool | None  # True: a person by name; False: a thing; None: cannot tell (a group)
    asked: bool = False  # the answer to the last question: "it" and "they" point only to that


def _referents(turn: Turn) -> list[_Referent]:
    """What a pronoun in the next question can point to, most likely first: the thing the last
    question was about (its answer when it asked for its subject: "Which boat ...?" "Tevake"),
    then the people its answer and question name."""
    from .language import NUMERIC_LABELS, parse

    question, answer = parse(turn.question), parse(turn.answer.strip().rstrip("."))
    wh = next((t for t in question if t.tag_ in ("WP", "WDT", "WRB", "WP$")), None)
    chain, asked = [], wh
    if wh is not None and wh.tag_ == "WDT" and wh.dep_ != "det":  # misparsed "Which Lord Mayor"
        asked = next((c.root for c in question.noun_chunks if c.start == wh.i + 1), wh)
    while asked is not None and asked.dep_ in _MODIFIER_DEPS and asked.head is not asked:
        chain.append(asked)
        asked = asked.head  # "How many Queensland firefighters" -> firefighters
    found: list[_Referent] = []
    if asked is not None and asked.dep_ in _SUBJECT_DEPS:  # the answer is what it was about
        labels = {e.label_ for e in answer.ents}
        if labels and labels <= NUMERIC_LABELS:  # "Up to 300": the 300 Woomera detainees
            words = [t.text for t in asked.subtree if t.i <= asked.i and t not in chain]
            found.append(_Referent(" ".join(words), False, asked=True))
        elif 0 < len(answer.text.split()) <= _SHORT_ANSWER:
            # "Defence Minister Robert Hill" is a person, "ASIC" is not, "Tevake" may be
            found.append(_Referent(answer.text, "PERSON" in labels if labels else None, asked=True))
    else:  # "Who did Lammy meet?": Lammy is what it was about
        subject = next((t for t in question if t.dep_ in ("nsubj", "nsubjpass")
                        and t.head.dep_ == "ROOT" and t.pos_ == "PROPN"), None)
        if subject is not None:
            span = question[subject.left_edge.i:subject.i + 1]
            found.append(_Referent(span.text, any(e.label_ == "PERSON" for e in span.ents) or None))
    for doc in (answer, question):
        found += [_Referent(e.text, True) for e in doc.ents if e.label_ == "PERSON"]
    unique: list[_Referent] = []
    for ref in found:
        if not any(ref.text in seen.text or seen.text in ref.text for seen in unique):
            unique.append(ref)
    return unique


def condense_fallback(question: str, history: Sequence[Turn]) -> str:
    """The question made standalone from the last turn, or unchanged when it needs no context.

    Pronouns are found by spaCy's tags and entities: "he"/"she" take what the last turn was about
    when that can be a person, else a person it named; "him"/"her" the next one; "it"/"they"
    only the thing the last question asked for; a possessive is resolved only when nothing else
    was. A pronoun with nothing to take, or a "that"/"there", gets the last question added as
    context. A question that names a person before its "he" keeps it for that person."""
    from .language import parse

    question = question.strip()
    if not history:
        return question
    doc = parse(question)
    pronouns = [t for t in doc if _third_person(t)]
    pointers = [t for t in doc if _pointer(t)]
    if not pronouns and not pointers:
        return question
    named = [e.start for e in doc.ents if e.label_ == "PERSON"]
    # "... the role Lockett might play if he came back": he is Lockett
    pronouns = [t for t in pronouns if not (_personal(t) and any(at < t.i for at in named))]
    referents = _referents(history[-1])
    used: list[_Referent] = []
    replaced: dict[int, str] = {}
    unresolved = 0
    for token in sorted(pronouns, key=_possessive):  # possessives last
        if _possessive(token) and replaced:  # "What is Julia Ham going to spend her money on?"
            continue
        fits = [r for r in referents if _fits(token, r)]
        if "Acc" in _morph(token, "Case"):  # "What did he urge him to do?": someone else
            fits = [r for r in fits if r not in used]
        if not fits:
            unresolved += 1
            continue
        used.append(fits[0])
        replaced[token.i] = f"{fits[0].text}’s" if _possessive(token) else fits[0].text
    text = "".join(replaced.get(t.i, t.text) + t.whitespace_ for t in doc).strip()
    if pointers or unresolved or not replaced:
        text = f"{text} ({history[-1].question.strip()})"
    return text


def _fits(pronoun, referent: _Referent) -> bool:
    """"he"/"she" a person; "it" and "they" the thing the last question asked for ("How did China
    respond to it?" is not about the last question's subject)."""
    if _personal(pronoun):
        return referent.person is not False
    return referent.asked and referent.person is not True


def _personal(token) -> bool:
    return bool(set(_morph(token, "Gender")) & {"Masc", "Fem"})


def _possessive(token) -> bool:
    return "Yes" in _morph(token, "Poss")


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
