"""Who said what, read off spaCy's parse: the speakers of each sentence of an article.

The same contract as ``speech.analyse`` (one ``Sentence`` per ``chunking.sentence_spans`` span),
but what is a name comes from the entity recogniser (PERSON, ORG, GPE, NORP) and who speaks from
the dependency parse: the subject of a reporting verb (or the agent of a passive), "according to
X", the inverted "“...,” said X", an apposition ("The union's secretary, Tony Sheldon, says"), the
person a spokesman speaks for. "X told Y" makes X the speaker (only the subject is read). "he" and
"she" are the last named person who spoke, "they" the last speaker; a role without a name ("a
spokesman says") is speech with no named speaker.
"""

from __future__ import annotations

import re

from .articles import Sentence
from .chunking import sentence_spans
from .language import REPORTING_VERBS, pipeline

# Entity labels that can name a speaker.
SPEAKER_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP"})
_SUBJECTS = frozenset({"nsubj", "nsubjpass"})
_QUOTES = "“\"‘”’"


def _entity_of(token, ents: dict[int, object]):
    """The speaker-labelled entity a token belongs to, if any."""
    ent = ents.get(token.i)
    return ent if ent is not None and ent.label_ in SPEAKER_LABELS else None


def _named(token, ents):
    """The name a subject phrase gives its speaker: the entity at its head, through an
    apposition ("the secretary, Tony Sheldon") or a spokesman's "for X"; None for a bare role."""
    if (ent := _entity_of(token, ents)) is not None:
        return ent
    for child in token.children:
        if child.dep_ == "appos" and (ent := _entity_of(child, ents)) is not None:
            return ent
    for child in token.children:  # "a spokesman for Philip Ruddock"
        if child.dep_ == "prep" and child.lower_ == "for":
            for obj in child.children:
                if obj.dep_ == "pobj" and (ent := _entity_of(obj, ents)) is not None \
                        and ent.label_ == "PERSON":
                    return ent
    # "the head of the US Central Command, General Tommy Franks, says": the parse may hang the
    # apposition on the organisation; the person named in apposition inside the subject speaks
    for inner in token.subtree:
        if inner.dep_ == "appos" and (ent := _entity_of(inner, ents)) is not None \
                and ent.label_ == "PERSON":
            return ent
    # "Foreign Affairs Minister Alexander Downer": the name's last word heads a compound
    for child in token.children:
        if child.dep_ == "compound" and (ent := _entity_of(child, ents)) is not None \
                and ent.label_ == "PERSON":
            return ent
    return None


def _sentence_speakers(tokens, ents, last_person, last_speaker):
    """(speakers as (text, label) pairs, speech?) of one sentence's tokens."""
    found: list[tuple[str, str]] = []
    speech = any(t.text in _QUOTES for t in tokens)
    for token in tokens:
        if token.lower_ == "according":  # "according to X"
            speech = True
            for to in token.children:
                for obj in to.children:
                    if obj.dep_ == "pobj" and (ent := _named(obj, ents)) is not None:
                        found.append((ent.text, ent.label_))
            continue
        if token.lemma_.lower() not in REPORTING_VERBS or token.pos_ not in ("VERB", "AUX"):
            continue
        subjects = [c for c in token.children if c.dep_ in _SUBJECTS]
        subjects += [o for c in token.children if c.dep_ == "agent" for o in c.children
                     if o.dep_ == "pobj"]
        if not subjects and token.dep_ in ("conj", "xcomp", "advcl") and token.head is not token:
            subjects = [c for c in token.head.children if c.dep_ in _SUBJECTS]
        for subject in subjects:
            speech = True
            if subject.lower_ in ("he", "she"):
                if last_person:
                    found.append((last_person, "PERSON"))
            elif subject.lower_ == "they":
                if last_speaker:
                    found.append(last_speaker)
            elif (ent := _named(subject, ents)) is not None:
                found.append((ent.text, ent.label_))
    return list(dict.fromkeys(found)), speech


def _full_name(name: str, label: str, people: list[str]) -> str:
    """The fullest name the article gives a person: "Campbell" -> "Kurt Campbell"."""
    name = re.sub(r"['’]s$", "", name.strip())
    if label != "PERSON":
        return name
    words = name.split()
    for person in people:
        if len(person.split()) > len(words) and person.split()[-len(words):] == words:
            return person
    return name


def analyse(text: str) -> list[Sentence]:
    """Every sentence of ``text`` with its speakers (full names where the article gives them)."""
    nlp = pipeline()
    paragraphs = [(m.start(), m.group()) for m in re.finditer(r"[^\n]+", text)]
    docs = list(nlp.pipe((p for _, p in paragraphs), batch_size=64))
    people: list[str] = []
    for doc in docs:
        for ent in doc.ents:
            if ent.label_ == "PERSON" and len(ent) >= 2 and ent.text not in people:
                people.append(re.sub(r"['’]s$", "", ent.text))
    spans = sentence_spans(text)
    sentences: list[Sentence] = []
    last_person: str | None = None
    last_speaker: tuple[str, str] | None = None
    previous: tuple[str, ...] = ()
    for (at, paragraph), doc in zip(paragraphs, docs, strict=True):
        ents = {t.i: ent for ent in doc.ents for t in ent}
        paragraph_sentences: list[Sentence] = []
        opening_speaker = last_speaker
        for span in (s for s in spans if at <= s.start and s.end <= at + len(paragraph)):
            tokens = [t for t in doc if span.start <= at + t.idx < span.end]
            found, speech = _sentence_speakers(tokens, ents, last_person, last_speaker)
            speakers = list(dict.fromkeys(_full_name(n, label, people) for n, label in found))
            stripped = text[span.start:span.end].strip()
            if not speakers and previous and stripped[:1] in _QUOTES[:3]:
                speakers, speech = list(previous), True  # a quotation that continues
            if speakers:
                label = next((lab for n, lab in found if _full_name(n, lab, people) == speakers[0]),
                             "PERSON")
                last_speaker = (speakers[0], label)
                if label == "PERSON":
                    last_person = speakers[0]
            previous = tuple(speakers)
            paragraph_sentences.append(Sentence(start=span.start, end=span.end,
                                                speakers=tuple(speakers), speech=speech))
        if paragraph[:1] in _QUOTES[:3] and paragraph_sentences:
            # a paragraph that opens a quotation has one speaker: the one it names, or the last
            named = next((s.speakers for s in paragraph_sentences if s.speakers),
                         (opening_speaker[0],) if opening_speaker else ())
            paragraph_sentences = [s if s.speakers or not named else
                                   s.model_copy(update={"speakers": named, "speech": True})
                                   for s in paragraph_sentences]
            if named:
                last_speaker = (named[0], last_speaker[1] if last_speaker else "PERSON")
        sentences.extend(paragraph_sentences)
    return sentences

