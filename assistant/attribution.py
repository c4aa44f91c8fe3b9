"""Who said what, read off spaCy's parse: the speakers of each sentence of an article.

One ``Sentence`` per ``chunking.sentence_spans`` span, with its speakers, whether it reports or
quotes speech, and the entities the model found (one pipeline run per paragraph gives both the
entities and the parse). What is a name comes from the entity recogniser (PERSON, ORG, GPE, NORP)
and the tagger (a proper noun the recogniser missed); who speaks from the dependency parse:

- the subject of a reporting verb (``language.REPORTING_VERBS``), the agent of a passive one, the
  noun a relative clause hangs on ("Britain's Queen Elizabeth II, who said ..."), the subject a
  verb shares with the one it depends on ("has refused to say", "..., saying"); "according to X";
  an apposition ("The union's secretary, Tony Sheldon, says"); the person a spokesman speaks for.
  "X told Y" makes X the speaker (only the subject is read). A reporting verb reports speech when
  it reads as one: not passive without an agent ("is said to be", "has been added to"), not a
  phrasal verb ("called in"), not with a plain object and no clause ("claimed second place").
- a quotation and its cue, as textacy's ``direct_quotations`` reads them: a quotation may run over
  several sentences (news style reopens the quote mark on each new sentence of one quotation) and
  every sentence of it is spoken by whoever its cue names, before or after it.
- "he" and "she" are the last person named as a speaker or as the subject of a sentence, "they"
  the last speaker; a role without a name ("a spokesman says") is speech with no named speaker.
  A quotation with no cue at all is the last person's.
"""

from __future__ import annotations

import re

from .articles import Sentence
from .chunking import sentence_spans
from .language import REPORTING_VERBS, Entity, parse_many, pipeline

# Bump when what is found changes: ingest then re-analyses every stored article (no re-embedding).
# (12 was the last version of the hand-written rules, speech.py.)
VERSION = 13

# Entity labels that can name a speaker.
SPEAKER_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP"})
_SUBJECTS = frozenset({"nsubj"})
_CLAUSES = frozenset({"ccomp", "xcomp", "parataxis"})
_OPEN, _CLOSE, _STRAIGHT = "“", "”", '"'
_WH = frozenset({"WP", "WDT"})


def _quotation_marks(text: str) -> list[tuple[int, int, bool]]:
    """The quotations of a text as (start, end, closed): from an opening mark to its closing
    one, or, when a new sentence reopens the mark without closing the last ("“A. “B,” he
    said."), to that new opening mark, unclosed."""
    spans: list[tuple[int, int, bool]] = []
    start: int | None = None
    for m in re.finditer(r"[“”\"]", text):
        mark, at = m.group(), m.start()
        before = text[at - 1] if at else " "
        after = text[at + 1] if at + 1 < len(text) else " "
        opening = mark == _OPEN or (mark == _STRAIGHT and (before.isspace() or before in "([—–-")
                                    and not after.isspace())
        if opening:
            if start is not None:
                spans.append((start, at, False))
            start = at
        elif start is not None:
            spans.append((start, at + 1, True))
            start = None
    if start is not None:  # never closed: it runs to the end of its paragraph
        end = text.find("\n", start)
        spans.append((start, len(text) if end < 0 else end, False))
    return spans


def _quotations(text: str, spans) -> list[list[int]]:
    """Each quotation as the indices of the sentences it covers. An unclosed quotation ends with
    its sentence, unless the next sentence reopens the mark: then the two are one quotation."""
    def covered(start, end):
        return [j for j, s in enumerate(spans) if s.start < end and start < s.end]

    chains: list[list[int]] = []
    continues = False
    for start, end, closed in _quotation_marks(text):
        members = covered(start, end)
        if not closed:
            members = members[:1]
        if not members:
            continue
        if continues and chains and members[0] == chains[-1][-1] + 1:
            chains[-1].extend(j for j in members if j not in chains[-1])
        else:
            chains.append(members)
        continues = not closed
    return chains


def _name_of(tokens) -> str:
    """The words of a name without a leading article or a trailing possessive."""
    words = list(tokens)
    while words and words[0].dep_ == "det" or (words and words[0].lower_ in ("the", "a", "an")):
        words = words[1:]
    while words and words[-1].tag_ == "POS" or (words and words[-1].lower_ in ("'s", "’s")):
        words = words[:-1]
    if not words:
        return ""
    return words[0].doc[words[0].i:words[-1].i + 1].text


class _Names:
    """The names an article gives its people, for reading a speaker's name off a token."""

    def __init__(self, docs) -> None:
        self.people: list[str] = []
        for doc in docs:
            for ent in doc.ents:
                name = _name_of(ent)
                if ent.label_ == "PERSON" and len(name.split()) >= 2 and name not in self.people:
                    self.people.append(name)

    def full(self, name: str) -> str | None:
        """The fullest name the article gives a person: "Campbell" -> "Kurt Campbell"."""
        words = name.split()
        for person in self.people:
            if len(person.split()) > len(words) and person.split()[-len(words):] == words:
                return person
        return None

    def of(self, token, ents) -> tuple[str, str] | None:
        """(name, label) a token gives, if it is (part of) a name: a speaker-labelled entity,
        or a proper noun the recogniser missed; a one-word name the article gives in full is
        that person ("Waugh" -> Steve Waugh, whatever label the recogniser gave the one word)."""
        ent = ents.get(token.i)
        if ent is not None and ent.label_ in SPEAKER_LABELS:
            name, label = _name_of(ent), ent.label_
        elif ent is None and token.pos_ == "PROPN":
            run = [c for c in token.children if c.dep_ == "compound" and c.pos_ == "PROPN"
                   and c.i < token.i and c.i not in ents]
            name, label = _name_of([*run, token]) if run else token.text, ""
        else:
            return None
        if not name:
            return None
        if (full := self.full(name)) is not None:
            return full, "PERSON"
        if label == "PERSON" or name in self.people:
            return name, "PERSON"
        # a proper name the recogniser missed ("Queen Elizabeth II"): a person if it speaks
        return (name, label) if label else (name, "PROPN")


def _named(token, ents, names: _Names):
    """The name a subject phrase gives its speaker: the name at its head, through an
    apposition ("the secretary, Tony Sheldon") or a spokesman's "for X"; None for a bare role."""
    ent = ents.get(token.i)
    head = names.of(token, ents) if ent is not None else None
    for child in token.children:  # "The Attorney-General, Daryl Williams, says"
        if child.dep_ == "appos" and (found := names.of(child, ents)) is not None and (
                head is None or (found[1] == "PERSON" and len(found[0].split()) > len(head[0].split()))):
            return found  # "The Treasurer, Peter Costello": the fuller name, not the title
    if head is not None:
        return head
    if token.pos_ == "PROPN" and ent is None:
        # "Director of Boston's Logan International Airport Tom Kinton says": a capitalised
        # title heads the subject; the person it names speaks
        people = [found for inner in token.subtree if inner.i > token.i
                  and (found := names.of(inner, ents)) is not None and found[1] == "PERSON"]
        if people:
            return people[-1]
    if (found := names.of(token, ents)) is not None:
        return found
    # "the head of the US Central Command, General Tommy Franks, says", "A spokesman for governor
    # Gul Agha, Akbar Jan, says": the parse may hang the apposition on the organisation or the
    # person spoken for; the person named in apposition inside the subject speaks
    for inner in token.subtree:
        if inner.dep_ == "appos" and (found := names.of(inner, ents)) is not None \
                and found[1] == "PERSON":
            return found
    for child in token.children:  # "a spokesman for Philip Ruddock", "a statement from the hospital"
        if child.dep_ == "prep" and child.lower_ in ("for", "from"):
            for obj in child.children:
                if obj.dep_ == "pobj" and (found := names.of(obj, ents)) is not None:
                    return found
    # "Foreign Affairs Minister Alexander Downer": the name's last word heads a compound
    for child in token.children:
        if child.dep_ == "compound" and (found := names.of(child, ents)) is not None \
                and found[1] == "PERSON":
            return found
    return None


def _reports_speech(verb, quoted: bool) -> bool:
    """Whether a reporting verb reports speech here, read off its dependents."""
    deps = {c.dep_ for c in verb.children}
    if "prt" in deps:  # a phrasal verb: "called in", "added up"
        return False
    if ("nsubjpass" in deps or "auxpass" in deps) and "agent" not in deps:
        return False  # "is said to be", "has been added to the list"
    if verb.dep_ == "acl" and verb.tag_ == "VBN":
        return False  # "an Arab, believed to be a Yemeni"
    if "dobj" in deps and not deps & _CLAUSES and not quoted:
        objects = [t for c in verb.children if c.dep_ == "dobj" for t in c.subtree]
        # "claimed second place", "adding 113 for the third wicket": a count, not words
        return not any(t.pos_ == "NUM" or t.ent_type_ in ("ORDINAL", "CARDINAL", "QUANTITY")
                       for t in objects)
    if verb.dep_ in ("acl", "advcl") and "aux" not in deps and any(
            c.dep_ == "xcomp" and c.lemma_ in ("be", "have") for c in verb.children):
        return False  # "One Arab, believed to be a Yemeni, ...": a participle, no one speaks
    return not (verb.tag_ == "VBN" and verb.dep_ in ("amod", "compound"))


def _reported_by(verb):
    """The verbs whose clausal complement holds this one ("said he believed": believed is
    reported by said)."""
    token = verb
    while token.head.i != token.i:
        if token.dep_ in ("ccomp", "xcomp") or token.head.dep_ == "ccomp":
            yield token.head
        token = token.head


def _subjects(verb):
    """The subject tokens of a verb: its own, the agent of a passive, or the subject of the
    verb it depends on ("has refused to say", "..., saying", "and said")."""
    for _ in range(4):
        subjects = [c for c in verb.children if c.dep_ in _SUBJECTS]
        subjects += [o for c in verb.children if c.dep_ == "agent" for o in c.children
                     if o.dep_ == "pobj"]
        if subjects:
            # two subjects are a misread clause ("MacGill, who is in place of Bichel says"):
            # the first is the verb's
            subjects = subjects[:1]
            return [verb.head if s.tag_ in _WH and verb.dep_ == "relcl" else s for s in subjects]
        if verb.dep_ in ("conj", "xcomp", "advcl") and verb.head.i != verb.i:
            verb = verb.head
        else:
            return []
    return []


def _sentence_speakers(tokens, ents, names: _Names, inside, state):
    """(speakers as (name, label) pairs, speech?, cued?) of one sentence's tokens: cued when it
    has a speech verb or an "according to" outside quotation marks, named or not."""
    found: list[tuple[str, str]] = []
    cued = False
    speech = any(t.text in (_OPEN, _CLOSE, _STRAIGHT) for t in tokens)
    unnamed = False
    for token in tokens:
        if inside(token):
            continue  # “Many have claimed ...”: words inside a quotation attribute nothing
        if token.lower_ == "according" and token.i + 1 < len(token.doc) \
                and token.doc[token.i + 1].lower_ == "to":  # "according to X"
            speech = cued = True
            for to in token.children:
                for obj in to.children:
                    if obj.dep_ == "pobj" and (name := _named(obj, ents, names)) is not None:
                        found.append(name)
            continue
        if token.lemma_.lower() not in REPORTING_VERBS or token.pos_ not in ("VERB", "AUX"):
            continue
        if not _reports_speech(token, speech):
            continue
        if any(a.lemma_.lower() in REPORTING_VERBS and a.pos_ in ("VERB", "AUX")
               and _reports_speech(a, speech) for a in _reported_by(token)):
            continue  # "Zaman said he believed ...": what is said, not another attribution
        speech = cued = True
        for subject in _subjects(token):
            if subject.lower_ in ("he", "she"):
                if state["person"]:
                    found.append((state["person"], "PERSON"))
            elif subject.lower_ == "they":
                # "they" is a group: the last speaker if that is one, never one person
                if state["speaker"] and not unnamed and state["speaker"][1] not in ("PERSON", "PROPN"):
                    found.append(state["speaker"])
            elif (name := _named(subject, ents, names)) is not None:
                found.append(name)
            else:
                unnamed = True
    return list(dict.fromkeys(found)), speech, cued


def _subject_person(tokens, ents, names: _Names) -> str | None:
    """The last person a sentence is about: the last named person who is the subject of a
    verb, or the agent of a passive ("was spelt out by spokesman Raanan Gissin")."""
    person = None
    for token in tokens:
        agent = token.dep_ == "pobj" and token.head.dep_ == "agent"
        if (token.dep_ in ("nsubj", "nsubjpass") or agent) \
                and (name := _named(token, ents, names)) is not None and name[1] == "PERSON":
            person = name[0]
    return person


def _paragraphs(text: str) -> list[tuple[int, str]]:
    """The paragraphs the pipeline reads (offset, text): a model's run never crosses a break."""
    longest = pipeline().max_length
    return [(m.start(), m.group()) for m in re.finditer(r"[^\n]+", text) if len(m.group()) < longest]


def analyse_many(texts: list[str]) -> list[list[Sentence]]:
    """``analyse`` for several articles, their paragraphs read in one run of the pipeline (larger
    batches than one article's few paragraphs: about a sixth faster on the Lee stories)."""
    paragraphs = [_paragraphs(text) for text in texts]
    docs = iter(parse_many(p for ps in paragraphs for _, p in ps))
    return [analyse(text, ps, [next(docs) for _ in ps]) for text, ps in zip(texts, paragraphs, strict=True)]


def analyse(text: str, paragraphs: list[tuple[int, str]] | None = None, docs: list | None = None
            ) -> list[Sentence]:
    """Every sentence of ``text`` with its speakers (full names where the article gives them)
    and its entities. ``paragraphs`` and their parsed ``docs`` when ``analyse_many`` has them."""
    if docs is None:
        paragraphs = _paragraphs(text)
        docs = parse_many(p for _, p in paragraphs)
    names = _Names(docs)

    def inside(token) -> bool:
        at = token.doc.user_data["at"] + token.idx
        return any(s < at < e - 1 for s, e in quotes) and token.text not in (_OPEN, _CLOSE, _STRAIGHT)

    spans = sentence_spans(text)
    # the words inside quotation marks (an unclosed quotation ends with its sentence)
    quotes = [(start, end if closed else
               min(end, next((s.end for s in spans if s.start <= start < s.end), end)))
              for start, end, closed in _quotation_marks(text)]
    found: list[list[tuple[str, str]]] = [[] for _ in spans]
    speech = [False] * len(spans)
    cued = [False] * len(spans)
    entities: list[tuple[Entity, ...]] = [() for _ in spans]
    state: dict = {"person": None, "speaker": None}
    person_before: list[str | None] = [None] * len(spans)
    index = 0
    for (at, paragraph), doc in zip(paragraphs, docs, strict=True):
        doc.user_data["at"] = at
        ents = {t.i: ent for ent in doc.ents for t in ent}
        while index < len(spans) and spans[index].end <= at:
            index += 1
        while index < len(spans) and spans[index].start < at + len(paragraph):
            span = spans[index]
            person_before[index] = state["person"]
            tokens = [t for t in doc if span.start <= at + t.idx < span.end]
            entities[index] = tuple(Entity(label=e.label_, start=at + e.start_char, end=at + e.end_char)
                                    for e in doc.ents if span.start <= at + e.start_char
                                    and at + e.end_char <= span.end)
            found[index], speech[index], cued[index] = _sentence_speakers(tokens, ents, names, inside, state)
            if found[index]:
                state["speaker"] = found[index][0]
                if found[index][0][1] in ("PERSON", "PROPN"):
                    state["person"] = found[index][0][0]
            elif (person := _subject_person(tokens, ents, names)) is not None:
                state["person"] = person
            index += 1
    # A quotation is spoken by whoever its cue names, in whichever of its sentences that is: each
    # sentence of it without a speaker of its own gets the cue's; a quotation with no cue is the
    # last person's before it.
    speakers = [list(dict.fromkeys(n for n, _ in f)) for f in found]
    for members in _quotations(text, spans):
        cue = next((speakers[j] for j in members if speakers[j]), None)
        if cue is None and not any(cued[j] for j in members) and person_before[members[0]]:
            cue = [person_before[members[0]]]
        for j in members:
            if cue and not speakers[j]:
                speakers[j], speech[j] = list(cue), True
    return [Sentence(start=s.start, end=s.end, speakers=tuple(sp), speech=sh, entities=e)
            for s, sp, sh, e in zip(spans, speakers, speech, entities, strict=True)]
