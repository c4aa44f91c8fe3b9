"""The Assistant: the one object the CLI, the UI, the API and the eval harness all use."""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from .answering import REFUSAL, Answer, compose, extract, passage_view
from .embedding import MiniLM
from .ingest import IngestReport, Progress, ingest
from .retrieval import Hit, Retriever
from .settings import Settings
from .store import Store
from .text import analyse


class Assistant:
    """Answers questions from a collection of news articles, citing the exact passages.

    >>> assistant = Assistant(Settings(index_dir="index"))
    >>> assistant.ingest(["articles/"])            # doctest: +SKIP
    >>> assistant.ask("What did Campbell warn?")   # doctest: +SKIP
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    @cached_property
    def embedder(self) -> MiniLM:
        return MiniLM(threads=self.settings.embed_threads, batch_size=self.settings.embed_batch_size)

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.index_dir)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.store, self.embedder, self.settings.candidates,
                         self.settings.passage_tokens)

    def has_index(self) -> bool:
        return bool(self.store.load_manifest().articles)

    def ingest(self, paths: Iterable[str | Path], prune: bool = False,
               progress: Progress | None = None) -> IngestReport:
        """Add new and changed articles from files and folders; with ``prune``, drop vanished ones."""
        return ingest(paths, self.store, self.embedder, self.settings.passage_tokens,
                      prune=prune, progress=progress)

    def retrieve(self, question: str, k: int | None = None) -> list[Hit]:
        """The ``k`` passages that best match the question, best first."""
        return self.retriever.search(analyse(question.strip()), k or self.settings.top_k)

    def ask(self, question: str, k: int | None = None) -> Answer:
        """Answer from the articles only, with verified citations; refuse when they don't say."""
        question = question.strip()
        started = time.perf_counter()
        analysed = analyse(question)
        hits = self.retriever.search(analysed, k or self.settings.top_k)
        retrieved = time.perf_counter()
        chosen = extract(analysed, hits, self.embedder, self.settings.min_coverage,
                         self.settings.max_quotes)
        text, citations = compose(chosen) if chosen else (REFUSAL, [])
        done = time.perf_counter()
        return Answer(
            question=question,
            answer=text,
            refused=not chosen,
            citations=citations,
            passages=[passage_view(hit) for hit in hits],
            timings={
                "retrieve_ms": round((retrieved - started) * 1000, 1),
                "answer_ms": round((done - retrieved) * 1000, 1),
                "total_ms": round((done - started) * 1000, 1),
            },
        )
