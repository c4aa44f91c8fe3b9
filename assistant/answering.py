"""Question + retrieved passages → Answer with verified, quoted citations, or a plain refusal."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from pydantic import BaseModel, ConfigDict

from .articles import Article
from .chunking import Span, sentence_spans
from .embedding import MiniLM
from .retrieval import Hit
from .text import (
    Question,
    answer_evidence,
    asks_who_spoke,
    coverage,
    document_speaks,
    fills_slot,
    has_speech,
    is_direct,
    is_person,
    is_warning,
    leans_on_previous,
    same_person,
    satisfies,
    speaker_terms,
    terms,
    topic,
)

# The one refusal sentinel: code, prompts and tests all use this constant.
REFUSAL = "The articles don't contain the answer to this question."

MIN_SENTENCE_SIMILARITY = 0.15  # below this a sentence is about something else entirely
WARNING_BONUS = 0.15  # "what did X warn?" prefers conditions, threats and consequences
KEEP_WITHIN = 0.85  # further quotes must score at least this share of the best one
SPEAKER_BONUS = 0.2  # "what did X say": X's own words first
DIRECT_BONUS = 0.6  # ... and quoted words before a reporter's paraphrase
TYPE_WEIGHT = 0.35  # a new answer of the asked type: the date for "when", the name for "who"
SUBJECT_WEIGHT = 0.8  # the sentence speaks of what the asked-for thing is said of ("the epicentre")
SLOT_WEIGHT = 0.6  # "aboard which ship": "aboard" then a new name ("aboard the USS Peleliu")
ABOUT_WEIGHT = 0.3  # "say about the Taliban when ...": the statement itself names the Taliban
ANCHOR_WEIGHT = 0.15  # per question word (up to two) that no other sentence of the article has


class Copy(BaseModel):
    """Another printing of a cited article: a syndicated copy or a reprint."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    title: str
    source: str | None
    published: str | None
    path: str


class Citation(BaseModel):
    """One quoted span: ``quote == stored article text[start:end]``."""

    model_config = ConfigDict(frozen=True)

    n: int
    article_id: str
    title: str
    source: str | None
    published: str | None
    path: str
    quote: str
    start: int
    end: int
    author: str | None = None
    url: str | None = None
    copies: list[Copy] = []  # the same story elsewhere (other outlets, reprints)
    speakers: list[str] = []  # who speaks in the quoted words, as ingest found (see speech.py)


class RetrievedPassage(BaseModel):
    model_config = ConfigDict(frozen=True)

    article_id: str
    path: str
    text: str
    score: float
    title: str
    source: str | None
    published: str | None
    start: int
    end: int


class SentenceCheck(BaseModel):
    """One generated sentence after verification."""

    model_config = ConfigDict(frozen=True)

    text: str  # without [n] markers
    citations: list[int]
    supported: bool
    problem: str | None = None  # why it is unsupported (or what was corrected)
    support: float | None = None  # share of its content words its best source holds


class Answer(BaseModel):
    """What ``Assistant.ask`` returns; its JSON form is the CLI's ``--json`` output."""

    model_config = ConfigDict(frozen=True)

    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    passages: list[RetrievedPassage]
    timings: dict[str, float]
    mode: str = "extractive"  # or "generated"
    condensed_question: str | None = None  # what a follow-up was rewritten into
    sentences: list[SentenceCheck] = []  # generated mode: each sentence, its [n], supported?
    notice: str | None = None  # e.g. the LLM was down and this is the extractive answer


def verify_citation(citation: Citation, article: Article) -> bool:
    """The one citation check: the quote is exactly the stored article text at its offsets."""
    return (
        citation.article_id == article.id
        and 0 <= citation.start < citation.end <= len(article.text)
        and article.text[citation.start:citation.end] == citation.quote
    )


def make_citation(n: int, article: Article, span: Span) -> Citation:
    return Citation(
        n=n,
        article_id=article.id,
        title=article.title,
        source=article.source,
        published=article.published.isoformat() if article.published else None,
        path=article.path,
        quote=article.text[span.start:span.end],
        start=span.start,
        end=span.end,
        author=article.author,
        url=article.url,
        speakers=list(dict.fromkeys(name for s in article.sentences
                                    if s.start < span.end and span.start < s.end
                                    for name in s.speakers)),
    )


def passage_view(hit: Hit) -> RetrievedPassage:
    article = hit.article
    return RetrievedPassage(
        article_id=article.id,
        path=article.path,
        text=hit.passage.text,
        score=round(hit.score, 4),
        title=article.title,
        source=article.source,
        published=article.published.isoformat() if article.published else None,
        start=hit.passage.start,
        end=hit.passage.end,
    )


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    span: Span
    text: str
    score: float
    evidence: float = 0.0  # answer_evidence: how plainly it holds an answer of the asked type


def _sentence_context(article: Article, spans: list[Span], index: int, reach: int = 2) -> str:
    """The sentence, plus the ones before it that it leans on ("He said ...", a quotation
    continued), up to ``reach`` back: they name who "he" is."""
    start = index
    while start > 0 and index - start < reach:
        sentence = article.text[spans[start].start:spans[start].end]
        previous = article.text[spans[start - 1].start:spans[start - 1].end]
        if not leans_on_previous(sentence, previous):
            break
        start -= 1
    return " ".join(article.text[s.start:s.end] for s in spans[start:index + 1])


def extract(question: Question, hits: list[Hit], embedder: MiniLM, min_coverage: float,
            max_quotes: int, trace: list[tuple[str, str]] | None = None,
            keep_within: float = KEEP_WITHIN, complements: bool = True) -> list[_Candidate]:
    """The sentences that answer the question, best first; empty when none does.

    ``trace``, when given, receives (sentence, why it was left out or its score) for debugging.
    """
    return choose(score_sentences(question, hits, embedder, min_coverage, trace), max_quotes,
                  keep_within, complements)


def score_sentences(question: Question, hits: list[Hit], embedder: MiniLM, min_coverage: float,
                    trace: list[tuple[str, str]] | None = None) -> list[_Candidate]:
    """Every sentence of the hits' passages that qualifies as an answer, best first.

    A sentence's score depends only on its own passage and article, so the candidates of a
    subset of the hits are these, filtered.
    """
    def skip(text: str, why: str) -> None:
        if trace is not None:
            trace.append((text, why))

    articles = {h.article.id: h.article for h in hits}  # several hits may share an article
    sentence_cache = {a.id: sentence_spans(a.text) for a in articles.values()}
    rows: list[tuple[Hit, Span, int, str, str]] = []  # ..., the sentence's index in its article
    for hit in hits:
        article = hit.article
        spans = sentence_cache[article.id]
        for i, span in enumerate(spans):
            if hit.passage.start <= span.start and span.end <= hit.passage.end:
                text = article.text[span.start:span.end]
                rows.append((hit, span, i, text, _sentence_context(article, spans, i)))
    if not rows:
        return []
    # A sentence that opens with a pronoun or a quotation is embedded with the one before it,
    # which names who "he" is.
    vectors = embedder.embed([context for *_, context in rows])
    similarities = vectors @ embedder.embed_one(question.text)

    article_terms = {a.id: terms(f"{a.title}\n{a.text}") for a in articles.values()}
    speakers = {(a.id, s.start): (s.speakers, s.speech)
                for a in articles.values() for s in a.sentences}
    article_speakers = {a.id: speaker_terms(n for s in a.sentences for n in s.speakers)
                        for a in articles.values()}
    sentence_terms = {a.id: [terms(a.text[s.start:s.end]) for s in sentence_cache[a.id]]
                      for a in articles.values()}
    rarity = {a: _weighted_coverage(question, s) for a, s in sentence_terms.items()}
    anchors = {a: _anchors(question, s) for a, s in sentence_terms.items()}
    candidates = []
    for (hit, span, index, text, context), similarity in zip(rows, similarities, strict=True):
        context_terms = terms(context)
        passage_terms = terms(f"{hit.article.title}\n{hit.passage.text}") | context_terms
        if missing := _missing_names(question, article_terms[hit.article.id]):
            skip(text, f"article lacks {sorted(missing)}")
            continue  # the article never mentions someone or something the question names
        if not _covers(question.key_terms, passage_terms, min_coverage):
            skip(text, f"passage covers {coverage(question, passage_terms):.2f}")
            continue
        named, speech = speakers.get((hit.article.id, span.start), ((), has_speech(text)))
        spoken = speaker_terms(named)
        asked_speaks = any(is_person(question.speaker, name) for name in named)
        # "the name of the nurse": whoever says "the nurse walked away" is not her name
        known = question if question.asks_speech else replace(question,
                                                              names=question.names | spoken)
        # "Who said ...?": a statement whose speaker ingest found answers it, named there or not
        who_spoke = asks_who_spoke(question) and any(
            not speaker_terms([name]) <= question.names for name in named)  # not one it names
        if not who_spoke and not satisfies(known, text, context_terms):
            skip(text, f"not a {question.wants} ({question.counted})")
            continue
        if not question.key_terms & context_terms:
            skip(text, f"sentence covers {coverage(question, context_terms):.2f}")
            continue  # the sentence itself must be about what is asked
        # "How much did X say ...", "what share, according to X": the amount is the answer,
        # who gives it only ranks (reporters write "X points out", "the unions claim")
        statement = question.asks_speech and question.wants not in ("number", "time", "duration")
        if statement and not _speech_fits(question, text, speech, context_terms,
                                                     passage_terms, spoken, asked_speaks,
                                                     article_speakers[hit.article.id]):
            skip(text, f"speech={speech} by {sorted(spoken)}")
            continue
        about = _topic_coverage(question, context_terms)
        if statement and not _covers(topic(question),
                                                context_terms | (passage_terms & question.names),
                                                min_coverage):
            skip(text, f"topic covered {about:.2f}")
            continue  # "what did X say about Y": the statement must be about Y
        if similarity < MIN_SENTENCE_SIMILARITY:
            skip(text, f"similarity {similarity:.2f}")
            continue
        # "Who said ...?": the speaker ingest found is an answer of the asked type
        evidence = 1.0 if who_spoke else answer_evidence(question, text)
        parts = {
            "sim": float(similarity),
            "rare": 0.3 * rarity[hit.article.id](context_terms),
            "cov": 0.2 * coverage(question, passage_terms),
            "dense": 0.2 * hit.dense,
            "warn": WARNING_BONUS if question.asks_warning and is_warning(text) else 0.0,
            "spk": SPEAKER_BONUS if asked_speaks else 0.0,
            "direct": DIRECT_BONUS if asked_speaks and is_direct(text) else 0.0,
            "type": TYPE_WEIGHT * evidence,
            "subj": SUBJECT_WEIGHT if question.subject & context_terms else 0.0,
            "slot": SLOT_WEIGHT if fills_slot(question, text) else 0.0,
            "about": ABOUT_WEIGHT * len(question.about & sentence_terms[hit.article.id][index])
            / len(question.about) if question.about else 0.0,
            "anchor": ANCHOR_WEIGHT * min(2, len(anchors[hit.article.id] & context_terms)),
            # ... and what it is about in its own words: a quotation continued inherits its
            # speaker from the sentence before, not its subject
            "own": 0.3 * rarity[hit.article.id](sentence_terms[hit.article.id][index])
            if question.asks_speech else 0.0,
        }
        score = sum(parts.values())
        candidates.append(_Candidate(hit, span, text, score, evidence))
        if trace is not None:
            skip(text, f"score {score:.3f} (" + " ".join(f"{k} {v:.2f}" for k, v in parts.items() if v)
                 + ")")
    candidates.sort(key=lambda c: c.score, reverse=True)
    return candidates


def choose(candidates: list[_Candidate], max_quotes: int, keep_within: float = KEEP_WITHIN,
           complements: bool = True) -> list[_Candidate]:
    """The best ``max_quotes`` candidates scoring within ``keep_within`` of the best, no two
    saying the same thing.

    With ``complements`` a further quote is cited only when the ones before it hold no answer
    of the asked type and it does (the first says the yacht was towed, the next names the
    yacht); once a yacht is named, another yacht named elsewhere is a different story.
    Without it (the LLM's context) any close candidate is kept.
    """
    if not candidates:
        return []
    best = candidates[0].score
    chosen: list[_Candidate] = []
    for candidate in candidates:
        if len(chosen) == max_quotes or candidate.score < best * keep_within:
            break
        if any(_near_duplicate(candidate.text, c.text) for c in chosen):
            continue
        joined = next(((i, span) for i, c in enumerate(chosen)
                       if (span := _one_quotation(c, candidate))), None)
        if joined:  # "…," he said. "…": one quotation, cited whole
            i, span = joined
            text = candidate.hit.article.text[span.start:span.end]
            chosen[i] = replace(chosen[i], span=span, text=text,
                                evidence=max(chosen[i].evidence, candidate.evidence))
            continue
        if complements and chosen and (max(c.evidence for c in chosen) or not candidate.evidence):
            continue
        chosen.append(candidate)
    return chosen


def _one_quotation(a: _Candidate, b: _Candidate) -> Span | None:
    """The span of both when ``a`` and ``b`` are neighbouring sentences of one quotation: same
    passage and paragraph, both direct speech by the same speakers."""
    article = a.hit.article
    if article.id != b.hit.article.id or a.hit.passage.id != b.hit.passage.id:
        return None
    first, second = sorted((a.span, b.span), key=lambda s: s.start)
    sentences = {s.start: s for s in article.sentences}
    one, two = sentences.get(first.start), sentences.get(second.start)
    between = article.text[first.end:second.start]
    if (one is None or two is None or not one.speakers or one.speakers != two.speakers
            or between.strip() or "\n" in between or first.end > second.start
            or not (is_direct(a.text) and is_direct(b.text))):
        return None
    return Span(first.start, second.end)


def one_person(question: Question, pool: list[_Candidate]) -> tuple[list[_Candidate], str | None]:
    """"What did Campbell say?" when more than one Campbell speaks in the chosen statements:
    only the best-scoring one's, and a note naming the others. A question that says more
    ("... about China", "Kurt Campbell") has already left out a Campbell who does not fit it.
    Within an article "Mr Campbell" is its fullest Campbell ("Kurt Campbell")."""
    if not question.speaker or not pool:
        return pool, None
    person: dict[str, str | None] = {}  # article id → its fullest name of the asked person
    for candidate in pool:
        article = candidate.hit.article
        if article.id not in person:
            names = [n for s in article.sentences for n in s.speakers
                     if is_person(question.speaker, n)]
            person[article.id] = max(names, key=lambda n: len(n.split()), default=None)
    people: list[tuple[str, Article]] = []  # distinct people, best statement first
    for candidate in pool:
        name = person[candidate.hit.article.id]
        if name and not any(same_person(name, other) for other, _ in people):
            people.append((name, candidate.hit.article))
    if len(people) < 2:
        return pool, None
    first = people[0][0]
    kept = [c for c in pool if (name := person[c.hit.article.id]) is None or same_person(name, first)]
    listed = ", ".join(f"{name} ({article.source or article.title})" for name, article in people)
    return kept, (f"The name asked about fits {len(people)} speakers in these articles: {listed}. "
                  f"This answer quotes {first}; ask with the full name for another.")


def _speech_fits(question: Question, text: str, speech: bool, context_terms: set[str],
                 passage_terms: set[str], spoken: set[str], asked_speaks: bool,
                 article_speakers: set[str]) -> bool:
    """"What did X say" wants a statement by X: never one by someone else, never a byline.

    A statement whose speaker is unknown ("He argued", "the statement said") may still be X's
    when X speaks elsewhere in the article and is named in its passage; not one that a survey,
    report or study makes ("The survey by the British Antarctic Survey says ...").
    """
    if not speech:
        return False
    if question.speaker:
        if spoken:
            return asked_speaks
        return (question.speaker <= passage_terms and bool(question.speaker & article_speakers)
                and not document_speaks(text))
    if asks_who_spoke(question) and spoken:
        return True  # the speaker is the answer; the names describe the story, in its article
    return not question.names or bool(question.names & context_terms)


def _missing_names(question: Question, article_terms: set[str]) -> set[str]:
    """The question's names the article never mentions. A question naming four or more may
    miss one: a long question describes the story with names the reporter need not have used
    ("the Interlaken trial", an acronym, another spelling)."""
    missing = question.names - article_terms
    return missing if len(missing) > (len(question.names) >= 4) else set()


def _covers(needed: frozenset[str], context_terms: set[str], min_coverage: float) -> bool:
    """Whether a passage or sentence covers enough of ``needed``: half of its terms, or three of
    a long question's (a long question also describes the article around the answer)."""
    if not needed:
        return True
    found = len(needed & context_terms)
    return found / len(needed) >= min_coverage or found >= min(3, len(needed))


def _topic_coverage(question: Question, context_terms: set[str]) -> float:
    about = topic(question)
    return len(about & context_terms) / len(about) if about else 1.0


def _anchors(question: Question, sentences: list[set[str]]) -> set[str]:
    """The question's words (not the speaker's name) that only one sentence of the article
    uses: a question names its story with words from the lead ("the 4.1 magnitude earthquake
    in the wheatbelt") and what it asks with words from the answer ("the epicentre")."""
    return {t for t in topic(question) if sum(t in s for s in sentences) == 1}


def _weighted_coverage(question: Question, sentences: list[set[str]]):
    """Coverage of the question's terms, each weighted by how rare it is among the article's
    sentences: "change of security procedures" says more than the "Lucas Heights" of every line.
    """
    n = max(len(sentences), 1)
    # "What did Kurt Campbell say": his name, rare or not, says nothing about which statement
    asked = question.key_terms - question.speaker if question.asks_speech else question.key_terms
    weight = {t: math.log(1 + n / (1 + sum(t in s for s in sentences))) for t in asked}
    total = sum(weight.values())

    def covered(context_terms: set[str]) -> float:
        return sum(w for t, w in weight.items() if t in context_terms) / total if total else 1.0

    return covered


def _near_duplicate(a: str, b: str) -> bool:
    ta, tb = terms(a), terms(b)
    return bool(ta and tb) and len(ta & tb) / min(len(ta), len(tb)) > 0.8


def speaker_note(question: Question, citations: list[Citation]) -> str | None:
    """"Who said ...?" answered with "“...,” he said.": who he is, as ingest found it, to put
    before the quote ("Said by Geoff Derrick: ..."); None when the quote names them itself."""
    if not asks_who_spoke(question) or not citations:
        return None
    names = [n for n in citations[0].speakers if not _names(n, citations[0].quote)]
    return f"Said by {' and '.join(names)}:" if names else None


def _names(speaker: str, text: str) -> bool:
    """Whether ``text`` names the speaker: their surname as a word ("Mr Cameron", "Cameron")."""
    return bool(re.search(rf"\b{re.escape(speaker.split()[-1])}\b", text))


def compose(chosen: list[_Candidate]) -> tuple[str, list[Citation]]:
    """The extractive answer: each chosen sentence verbatim, marked with its passage's [n]."""
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    for candidate in chosen:
        n = numbers.setdefault(candidate.hit.passage.id, len(numbers) + 1)
        article = candidate.hit.article
        span = attributed(article, candidate.span)
        citations.append(make_citation(n, article, span))
        parts.append(f"{article.text[span.start:span.end]} [{n}]")
    return " ".join(parts), citations


def attributed(article: Article, span: Span, reach: int = 2) -> Span:
    """The sentence, from the one that names its speaker when it says only "he said" (or
    continues a quotation without saying who speaks): up to ``reach`` sentences back within its
    paragraph, so the reader can check who said it. Any other sentence is its own span."""
    sentences = article.sentences  # one per sentence span, with the speakers ingest found
    index = next((i for i, s in enumerate(sentences) if s.start == span.start), None)
    if index is None or not sentences[index].speakers:
        return span
    names = sentences[index].speakers
    text = article.text

    def words(i: int) -> str:
        return text[sentences[i].start:sentences[i].end]

    start = index
    while not any(_names(n, words(start)) for n in names):
        previous = start - 1
        if (previous < 0 or index - previous > reach
                or "\n" in text[sentences[previous].end:sentences[start].start]  # new paragraph
                or not leans_on_previous(words(start), words(previous))):
            return span
        start = previous
    return Span(sentences[start].start, span.end)
