"""Question → ranked passages: hybrid of dense (Chroma) and lexical (BM25) candidates.

Both lists give candidates; each candidate is then scored on every signal at once: its cosine
similarity to the question, its BM25 score (scaled by the best of this question), how much of the
question's key terms and names its headline and text cover, and, for "what did X say", whether X
speaks in it, and in their own words (the quotes, not the lead's paraphrase of them), and
whether it holds an answer of the asked type (a date for "when", a number for "how many"). Tuned
weights on the eval datasets (evals/README.md), not rank fusion: a naive reciprocal-rank fusion
only matched BM25 alone here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .articles import Article
from .chunking import Passage, split_passages
from .embedding import MiniLM
from .store import Store
from .terms import terms
from .text import Question, answer_evidence, coverage, is_direct, is_person

BM25_WEIGHT = 0.35
LEXICAL_WEIGHT = 0.35
NAME_WEIGHT = 0.15
SPEAKER_WEIGHT = 0.15
QUOTE_WEIGHT = 0.2  # ... and more where X speaks in their own words, not the lead's paraphrase
TYPE_WEIGHT = 0.3  # a sentence holds an answer of the asked type: a date for "on what date"


@dataclass(frozen=True)
class Filters:
    """Which articles a question may use: published within [since, until], from these sources."""

    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.sources)

    def admits(self, source: str | None, published: str | None) -> bool:
        if self.sources and (source or "").casefold() not in {s.casefold() for s in self.sources}:
            return False
        if self.since or self.until:
            if not published:
                return False  # an undated article is not known to be in the window
            day = date.fromisoformat(published)
            if (self.since and day < self.since) or (self.until and day > self.until):
                return False
        return True

    def narrowed(self, since: date | None, until: date | None) -> Filters:
        """These filters, within a window the question names as well."""
        return Filters(max(filter(None, (self.since, since)), default=None),
                       min(filter(None, (self.until, until)), default=None), self.sources)


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with the article it belongs to."""

    passage: Passage
    article: Article
    score: float  # the ranking score
    dense: float  # cosine similarity of question and passage
    lexical: float = 0.0  # BM25 score over the best BM25 score for this question


def _answer_signals(question: Question, article: Article, passage: Passage
                    ) -> tuple[bool, bool, float]:
    """Whether X of "what did X say" speaks in the passage, whether in their own words, and
    how plainly a sentence of it holds an answer of the asked type (``answer_evidence``)."""
    speaks = quotes = False
    typed = 0.0
    for s in article.sentences:
        if passage.start <= s.start and s.end <= passage.end:
            text = article.text[s.start:s.end]
            if any(is_person(question.speaker, name) for name in s.speakers):
                speaks = True
                quotes = quotes or is_direct(text)
            if question.wants:
                typed = max(typed, answer_evidence(question, text))
    return speaks, quotes, typed


class Retriever:
    def __init__(self, store: Store, embedder: MiniLM, candidates: int, passage_tokens: int) -> None:
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.passage_tokens = passage_tokens

    def split(self, article: Article) -> list[Passage]:
        return split_passages(article, self.embedder.count_tokens, self.passage_tokens)

    def search(self, question: Question, k: int, filters: Filters | None = None) -> list[Hit]:
        manifest = self.store.require()
        visible = manifest.article_ids  # an unfinished ingest's passages are not committed yet
        where = None
        if filters and filters.active:
            visible = {e["id"] for e in manifest.articles.values()
                       if filters.admits(e.get("source"), e.get("published"))}
            if not visible:
                return []
            where = {"article_id": {"$in": sorted(visible)}}
        vector = self.embedder.embed_one(question.text)
        found: dict[str, tuple[Passage, float]] = {
            p.id: (p, dense) for p, dense in self.store.query(vector, self.candidates, where)
            if p.article_id in visible
        }
        lexical = self.store.lexical(manifest, self.split)
        bm25 = lexical.scores(question.text)
        if where:
            admitted = np.array([pid.rsplit(":", 1)[0] in visible for pid in lexical.ids], dtype=bool)
            bm25 = np.where(admitted, bm25, 0.0) if len(bm25) else bm25
        best = float(bm25.max()) if len(bm25) else 0.0
        if best > 0:  # BM25's own candidates join the dense ones
            top = [lexical.ids[i] for i in np.argsort(-bm25)[: self.candidates] if bm25[i] > 0]
            missing = [pid for pid in top if pid not in found]
            for passage, dense in self._dense_scores(missing, vector):
                found[passage.id] = (passage, dense)
        hits = []
        for pid, (passage, dense) in found.items():
            article = self.store.article(passage.article_id)
            context = terms(f"{article.title}\n{passage.text}")
            names = (len(question.names & context) / len(question.names)) if question.names else 0
            lex = _scaled(lexical, pid, bm25, best)
            speaks, quotes, typed = _answer_signals(question, article, passage)
            score = (dense + BM25_WEIGHT * lex + LEXICAL_WEIGHT * coverage(question, context)
                     + NAME_WEIGHT * names + SPEAKER_WEIGHT * speaks + QUOTE_WEIGHT * quotes
                     + TYPE_WEIGHT * typed)
            hits.append(Hit(passage, article, score, dense, lex))
        hits.sort(key=lambda h: h.score, reverse=True)
        return collapse_copies(hits, self.store.duplicates())[:k]


    def _dense_scores(self, ids: list[str], vector: np.ndarray) -> list[tuple[Passage, float]]:
        """Cosine similarity of passages BM25 found and the dense search did not."""
        from chromadb.errors import ChromaError

        if not ids:
            return []
        try:
            return [(p, float(stored @ vector)) for p, _, stored in self.store.passages(ids)]
        except ChromaError:  # Chroma after a killed ingest may not find them: embed instead
            by_article: dict[str, list[str]] = {}
            for pid in ids:
                by_article.setdefault(pid.rsplit(":", 1)[0], []).append(pid)
            passages = []
            for article_id, pids in by_article.items():
                article = self.store.article(article_id)
                passages += [(article, p) for p in self.split(article) if p.id in pids]
            vectors = self.embedder.embed([f"{a.title}\n{p.text}" for a, p in passages])
            return [(p, float(v @ vector)) for (_, p), v in zip(passages, vectors, strict=True)]


def collapse_copies(hits: list[Hit], groups: dict[str, list[str]]) -> list[Hit]:
    """One printing per story: of a group of copies keep only the member that matched best —
    the canonical one unless a copy matched clearly better (it may hold a sentence the
    canonical lacks). The citation then names the other printings."""
    group_of = {m: c for c, copies in groups.items() for m in (c, *copies)}
    best: dict[str, dict[str, float]] = {}
    for hit in hits:
        if (group := group_of.get(hit.article.id)) is not None:
            scores = best.setdefault(group, {})
            scores[hit.article.id] = max(scores.get(hit.article.id, 0.0), hit.score)
    keep = {}
    for group, scores in best.items():
        top = max(scores.values())
        keep[group] = group if scores.get(group, 0.0) >= 0.98 * top else max(scores, key=scores.get)
    return [h for h in hits if (g := group_of.get(h.article.id)) is None or keep[g] == h.article.id]


def _scaled(lexical, pid: str, bm25: np.ndarray, best: float) -> float:
    if best <= 0:
        return 0.0
    try:
        return float(bm25[lexical.position(pid)]) / best
    except KeyError:
        return 0.0
