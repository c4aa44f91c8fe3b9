"""Question + retrieved passages → Answer with verified, quoted citations, or a plain refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from .articles import Article
from .chunking import Span
from .contracts import Citation, make_citation
from .embedding import MiniLM
from .features import Candidate, article_view, asked_entity
from .guard import addresses_the_assistant
from .language import QuestionLanguage
from .retrieval import Hit
from .scorer import Scorer
from .store import Store
from .terms import terms
from .text import (
    Question,
    asks_who_spoke,
    is_direct,
    is_person,
    leans_on_previous,
    same_person,
    sentence_contexts,
)


@dataclass(frozen=True)
class ScoredSentence:
    """A sentence of a retrieved passage and how likely it answers the question."""

    hit: Hit
    span: Span
    text: str
    score: float  # the fitted probability that it answers the question
    evidence: float = 0.0  # it names an entity of the asked kind the question does not
    confidence: float | None = None  # the fitted probability that, chosen, it is a right answer

    @property
    def certainty(self) -> float:
        """What the refusal threshold is compared with: the confidence, else the score."""
        return self.score if self.confidence is None else self.confidence


def candidates(question: Question, language: QuestionLanguage, hits: list[Hit],
               embedder: MiniLM, store: Store, idf: dict[str, float]) -> list[Candidate]:
    """Every sentence of the hits' passages, with what the features read about it."""
    views = {}
    rows = []
    for rank, hit in enumerate(hits):
        article = hit.article
        if article.id not in views:
            views[article.id] = article_view(question, article)
        passage_terms = terms(f"{article.title}\n{hit.passage.text}")
        for i, sentence in enumerate(article.sentences):
            if hit.passage.start <= sentence.start and sentence.end <= hit.passage.end \
                    and not addresses_the_assistant(article.text[sentence.start:sentence.end]):
                rows.append((rank, hit, i, sentence, passage_terms))  # article text is data
    if not rows:
        return []
    asked = embedder.embed_one(question.text)
    core = embedder.embed_one(" ".join(language.core)) if language.core else None
    contexts, sentence_vectors, similarity, core_similarity = {}, {}, {}, {}
    for article_id, article in {hit.article.id: hit.article for hit in hits}.items():
        contexts[article_id] = sentence_contexts(article)
        vectors = store.sentence_vectors(article_id)
        if vectors is None or len(vectors) != len(article.sentences):  # stored before vectors were
            vectors = embedder.embed(contexts[article_id])
        sentence_vectors[article_id] = vectors
        similarity[article_id] = vectors @ asked
        core_similarity[article_id] = vectors @ core if core is not None else np.zeros(len(vectors))
    top = hits[0].score
    out = []
    for rank, hit, i, sentence, passage_terms in rows:
        context = contexts[hit.article.id][i]
        context_terms = terms(context)
        out.append(Candidate(
            question=question, language=language, hit=hit, rank=rank, top_score=top, index=i,
            sentence=sentence, text=hit.article.text[sentence.start:sentence.end], context=context,
            similarity=float(similarity[hit.article.id][i]),
            core_similarity=float(core_similarity[hit.article.id][i]), view=views[hit.article.id],
            context_terms=context_terms, passage_terms=passage_terms | context_terms, idf=idf,
            asked_vector=asked, vector=sentence_vectors[hit.article.id][i]))
    return out


def score_sentences(question: Question, language: QuestionLanguage, hits: list[Hit],
                    embedder: MiniLM, store: Store, scorer: Scorer,
                    idf: dict[str, float]) -> list[ScoredSentence]:
    """Every sentence of the hits' passages with its fitted probability, in the fitted chooser's
    order (the sentence it would pick first)."""
    found = candidates(question, language, hits, embedder, store, idf)
    scored = scorer.score(found)
    pool = [(key, ScoredSentence(c.hit, Span(c.sentence.start, c.sentence.end), c.text, float(p),
                                 asked_entity(c), float(confidence)))
            for c, p, key, confidence in zip(found, scored.probability, scored.key,
                                             scored.confidence, strict=True)]
    pool.sort(key=lambda pair: pair[0], reverse=True)  # the chooser's order
    return [sentence for _, sentence in pool]


def choose(candidates: list[ScoredSentence], max_quotes: int, threshold: float = 0.0,
           second: float = 0.0, complements: bool = True) -> list[ScoredSentence]:
    """The best candidate if it scores at least ``threshold`` (else none: a refusal), and up to
    ``max_quotes`` in all that score at least ``second``, no two saying the same thing.

    With ``complements`` a further quote is cited only when the ones before it hold no answer
    of the asked kind and it does (the first says the yacht was towed, the next names the
    yacht). Without it (the LLM's context) any candidate above ``second`` is kept.
    """
    if not candidates or candidates[0].certainty < threshold:
        return []
    chosen: list[ScoredSentence] = []
    for candidate in candidates:
        joined = next(((i, span) for i, c in enumerate(chosen)
                       if (span := _one_quotation(c, candidate))), None)
        if joined:  # "…," he said. "…": one quotation, cited whole, however it scored alone
            i, span = joined
            text = candidate.hit.article.text[span.start:span.end]
            chosen[i] = replace(chosen[i], span=span, text=text,
                                evidence=max(chosen[i].evidence, candidate.evidence))
            continue
        if len(chosen) == max_quotes or (chosen and candidate.score < second):
            continue
        if any(_near_duplicate(candidate.text, c.text) for c in chosen):
            continue
        if complements and chosen and (max(c.evidence for c in chosen) or not candidate.evidence):
            continue
        chosen.append(candidate)
    return chosen


def _one_quotation(a: ScoredSentence, b: ScoredSentence) -> Span | None:
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


def one_person(question: Question, pool: list[ScoredSentence], likely: float = 0.0
               ) -> tuple[list[ScoredSentence], str | None]:
    """"What did Campbell say?" when more than one Campbell speaks in the statements likely to
    answer it (scoring at least ``likely``): only the best-scoring one's, and a note naming the
    others. A question that says more ("... about the pledge", "Kurt Campbell") leaves a
    Campbell who does not fit it unlikely. Within an article "Mr Campbell" is its fullest
    Campbell ("Kurt Campbell")."""
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
    for candidate in (c for c in pool if c.certainty >= likely):
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


def compose(chosen: list[ScoredSentence]) -> tuple[str, list[Citation]]:
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
