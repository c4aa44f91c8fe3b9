"""Question → ranked passages: dense candidates from Chroma, re-ranked with a lexical signal.

A plain cosine ranking misses lexical news questions (names, numbers), so each candidate's
score adds how much of the question's key terms its article title and text cover.
"""

from __future__ import annotations

from dataclasses import dataclass

from .articles import Article
from .chunking import Passage
from .embedding import MiniLM
from .store import Store
from .text import Question, coverage, terms

LEXICAL_WEIGHT = 0.35
NAME_WEIGHT = 0.15


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with the article it belongs to."""

    passage: Passage
    article: Article
    score: float  # the ranking score
    dense: float  # cosine similarity of question and passage


class Retriever:
    def __init__(self, store: Store, embedder: MiniLM, candidates: int) -> None:
        self.store = store
        self.embedder = embedder
        self.candidates = candidates

    def search(self, question: Question, k: int) -> list[Hit]:
        manifest = self.store.require()
        visible = manifest.article_ids
        vector = self.embedder.embed_one(question.text)
        hits = []
        for passage, dense in self.store.query(vector, self.candidates):
            if passage.article_id not in visible:
                continue  # an unfinished ingest's passages: not committed yet
            article = self.store.article(passage.article_id)
            context = terms(f"{article.title}\n{passage.text}")
            names = (len(question.names & context) / len(question.names)) if question.names else 0
            score = dense + LEXICAL_WEIGHT * coverage(question, context) + NAME_WEIGHT * names
            hits.append(Hit(passage, article, score, dense))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:k]
