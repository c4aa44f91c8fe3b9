"""Question → ranked passages: hybrid of dense (Chroma) and lexical (BM25) candidates.

Both lists give candidates; each candidate is then scored on every signal at once: its cosine
similarity to the question, its BM25 score (scaled by the best of this question), how much of the
question's key terms and names its headline and text cover, and, for "what did X say", whether X
speaks in it, and in their own words (the quotes, not the lead's paraphrase of them), and
whether it holds an entity of the asked kind (a date for "when", a number for "how many"). The
weights are fitted on training questions (``evals/fit.py`` writes ``assistant/data/ranker.json``),
not rank fusion: a naive reciprocal-rank fusion only matched BM25 alone here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .articles import Article
from .chunking import Passage, split_passages
from .embedding import MiniLM
from .features import PassageCandidate, passage_table
from .language import QuestionLanguage, analyse_question
from .scorer import LinearModel
from .store import Store
from .terms import terms
from .text import Question


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


class Retriever:
    def __init__(self, store: Store, embedder: MiniLM, candidates: int, passage_tokens: int,
                 ranker: LinearModel) -> None:
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.passage_tokens = passage_tokens
        self.ranker = ranker

    def split(self, article: Article) -> list[Passage]:
        return split_passages(article, self.embedder.count_tokens, self.passage_tokens)

    def search(self, question: Question, k: int, filters: Filters | None = None,
               language: QuestionLanguage | None = None) -> list[Hit]:
        """The ``k`` best passages: candidates from both searches, ranked by the fitted ranker,
        one printing per story."""
        found = self.candidates_for(question, filters, language)
        probabilities = self.ranker.predict(passage_table(found, list(self.ranker.features)))
        hits = [Hit(c.passage, c.article, float(p), c.dense, c.lexical)
                for c, p in zip(found, probabilities, strict=True)]
        hits.sort(key=lambda h: h.score, reverse=True)
        return collapse_copies(hits, self.store.duplicates())[:k]

    def idf(self, words: set[str]) -> dict[str, float]:
        """How rare each term is in the whole collection (from the BM25 index)."""
        return self.store.lexical(self.store.require(), self.split).idf(set(words))

    def candidates_for(self, question: Question, filters: Filters | None = None,
                       language: QuestionLanguage | None = None) -> list[PassageCandidate]:
        """Every passage the dense or the BM25 search proposes, with its features' inputs."""
        language = language or analyse_question(question.text)
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
        out = []
        for pid, (passage, dense) in found.items():
            article = self.store.article(passage.article_id)
            out.append(PassageCandidate(question, language, passage, article, dense,
                                        _scaled(lexical, pid, bm25, best),
                                        terms(f"{article.title}\n{passage.text}")))
        return out

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
