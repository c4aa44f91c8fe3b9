"""Files → index, incrementally: unchanged articles are skipped, changed ones replaced."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import attribution, dedupe, language
from .articles import Article, Sentence, article_id, iter_files, load_file
from .chunking import split_passages
from .embedding import MiniLM
from .errors import ArticleError
from .settings import MAX_ARTICLE_CHARS, MAX_FILE_BYTES
from .store import Manifest, Store
from .text import sentence_contexts

Progress = Callable[[int, int, str], None]  # (files done, files total, current file)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)  # article titles
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)  # "key: kept the first N of M characters ..."
    passages: int = 0  # passages embedded in this run
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        rate = f" ({self.passages / self.seconds:.1f} passages/s)" if self.passages else ""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged (skipped), {len(self.removed)} removed, "
            f"{len(self.errors)} failed; {self.passages} passages embedded in "
            f"{self.seconds:.1f}s{rate}"
            + "".join(f"\ncut (too long): {note}" for note in self.cut)
        )


def signature(embedder: MiniLM, passage_tokens: int) -> dict:
    """What the stored passages depend on: a change means re-indexing everything."""
    return {"embedding": embedder.name, "passage_tokens": passage_tokens, "chunker": 2,
            "speech": attribution.VERSION, "language": language.VERSION, "manifest": 2}


def ingest(
    paths: Iterable[str | Path],
    store: Store,
    embedder: MiniLM,
    passage_tokens: int,
    prune: bool = False,
    progress: Progress | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_article_chars: int = MAX_ARTICLE_CHARS,
) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport()
    manifest = store.load_manifest()
    wanted = signature(embedder, passage_tokens)
    if manifest.articles and manifest.signature != wanted:
        if {**manifest.signature, **_analysis_versions()} == wanted:
            _reanalyse(manifest, store)  # only the who-said-what rules changed
        else:
            store.reset()  # built with another model or passage size: rebuild from scratch
            manifest = Manifest()
    dirty = manifest.signature != wanted  # the manifest on disk is not this one yet
    manifest.signature = wanted
    commit = _Commits(store)

    files = list(iter_files(paths))
    total = len(files)
    for done, item in enumerate(files):
        if isinstance(item, ArticleError):
            report.errors.append(item)
            continue
        if progress:
            progress(done, total, str(item))
        try:
            articles, errors = load_file(item.resolve(), max_file_bytes)
        except (OSError, RuntimeError) as exc:  # e.g. a symlink loop while resolving
            articles, errors = [], [ArticleError(str(item), f"cannot read: {exc}")]
        report.errors.extend(errors)
        for article in articles:
            article = _bounded(article, max_article_chars, report)
            try:
                dirty |= _ingest_article(article, manifest, store, embedder, passage_tokens, report)
            except (ValueError, UnicodeError, RecursionError) as exc:
                report.errors.append(ArticleError(str(item), f"article not indexed: {exc}"))
        if dirty and commit.due():  # the commit point, after a whole file
            commit(manifest)
            dirty = False
    if dirty:
        commit(manifest)
    if progress:
        progress(total, total, "")

    if prune:
        for key, entry in list(manifest.articles.items()):
            if not Path(entry["path"]).exists():
                del manifest.articles[key]
                report.removed.append(entry.get("title", key))
        store.save_manifest(manifest)
    _finish(manifest, store, embedder, passage_tokens)
    report.seconds = time.perf_counter() - started
    return report


def _bounded(article: Article, limit: int, report: IngestReport) -> Article:
    """The article, or its first ``limit`` characters (cut at a paragraph end if there is one
    in the last quarter, else at a space), noted in the report."""
    if len(article.text) <= limit:
        return article
    cut = article.text.rfind("\n", limit * 3 // 4, limit)
    if cut < 0:
        cut = article.text.rfind(" ", 0, limit)
    cut = cut if cut > 0 else limit
    text = article.text[:cut].rstrip()
    report.cut.append(f"{article.key}: kept the first {len(text):,} of {len(article.text):,} "
                      f"characters (ASSISTANT_MAX_ARTICLE_CHARS)")
    return article.model_copy(update={"text": text, "id": article_id(article.title, text)})


def remove(keys: Iterable[str], store: Store, embedder: MiniLM, passage_tokens: int
           ) -> IngestReport:
    """Take articles (by manifest key) out of the index; their files are left alone."""
    started = time.perf_counter()
    report = IngestReport()
    manifest = store.load_manifest()
    for key in keys:
        entry = manifest.articles.pop(key, None)
        if entry is None:
            report.errors.append(ArticleError(key, "not in the index"))
        else:
            report.removed.append(entry.get("title", key))
    store.save_manifest(manifest)  # the commit point: from here on the articles are gone
    _finish(manifest, store, embedder, passage_tokens)
    report.seconds = time.perf_counter() - started
    return report


class _Commits:
    """When to write the manifest (the commit point) during an ingest: after every file while
    that is cheap, and never more than ~10% of the time once the manifest is large. Writing it
    after each of tens of thousands of files made ingest quadratic; an ingest killed between two
    commits redoes the files since the last one (passage ids are deterministic: upserts converge)."""

    SHARE = 0.1

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cost = 0.0
        self.last = time.perf_counter()

    def due(self) -> bool:
        return time.perf_counter() - self.last >= self.cost / self.SHARE

    def __call__(self, manifest: Manifest) -> None:
        started = time.perf_counter()
        self.store.save_manifest(manifest)
        self.last = time.perf_counter()
        self.cost = self.last - started


def _analysis_versions() -> dict:
    return {"speech": attribution.VERSION, "language": language.VERSION}


def _store_analysis(article: Article, store: Store) -> Article:
    """Analyse the article's sentences (speakers, entities) and store the article with them."""
    article = article.model_copy(update={"sentences": analyse_sentences(article.text)})
    store.save_article(article)
    return article


def _embed(article: Article, passages: list, embedder: MiniLM) -> tuple[np.ndarray, np.ndarray]:
    """The passages' vectors, and every sentence's from the same model run: each passage is read
    with its title ("Campbell" may only be in the headline) and a sentence's vector pools its
    word pieces as read there (so "he said" knows whose words they are). A sentence the model
    did not see whole is embedded alone, with the sentences it leans on."""
    offset = len(article.title) + 1
    inside = [[i for i, s in enumerate(article.sentences) if p.start <= s.start and s.end <= p.end]
              for p in passages]
    vectors, pooled = embedder.embed_spans(
        [f"{article.title}\n{p.text}" for p in passages],
        [[(article.sentences[i].start - p.start + offset, article.sentences[i].end - p.start + offset)
          for i in found] for p, found in zip(passages, inside, strict=True)])
    sentences = np.zeros((len(article.sentences), vectors.shape[1]), dtype=np.float32)
    for found, rows in zip(inside, pooled, strict=True):
        sentences[found] = rows
    missing = [i for i in range(len(sentences)) if not sentences[i].any()]
    if missing:
        contexts = sentence_contexts(article)
        sentences[missing] = embedder.embed([contexts[i] for i in missing])
    return vectors, sentences


def analyse_sentences(text: str) -> tuple[Sentence, ...]:
    """Each sentence of an article with who speaks in it and the entities the model found (one
    pipeline run gives both)."""
    return tuple(attribution.analyse(text))


def _reanalyse(manifest: Manifest, store: Store) -> None:
    """Find the speakers of every stored article again; passages and vectors stay as they are.
    The manifest keeps its old signature until all are done, so a crash means starting over."""
    for stored in sorted(manifest.article_ids):
        _store_analysis(store.article(stored), store)
    manifest.signature = {**manifest.signature, **_analysis_versions()}
    store.save_manifest(manifest)


def _finish(manifest: Manifest, store: Store, embedder: MiniLM, passage_tokens: int) -> None:
    """Bring everything derived from the committed manifest up to date."""
    # Replaced, pruned, removed and crash-orphaned passages go only now that the manifest no
    # longer points at them.
    store.remove_orphans(manifest)
    if manifest.articles:
        dedupe.update(store, manifest)  # which articles are copies of which
        # BM25 over the committed passages, saved beside Chroma
        store.lexical(manifest, lambda a: split_passages(a, embedder.count_tokens, passage_tokens))


def _ingest_article(article: Article, manifest: Manifest, store: Store, embedder: MiniLM,
                    passage_tokens: int, report: IngestReport) -> bool:
    """Index one article unless it is unchanged; says whether the manifest changed."""
    old = manifest.articles.get(article.key)
    if old and old["id"] == article.id:
        report.unchanged.append(article.title)
        return False
    if article.id not in manifest.article_ids:  # the same text may already be in under a key
        article = _store_analysis(article, store)
        passages = split_passages(article, embedder.count_tokens, passage_tokens)
        vectors, sentence_vectors = _embed(article, passages, embedder)
        store.save_sentence_vectors(article.id, sentence_vectors)
        store.add_passages(article, passages, vectors)
        report.passages += len(passages)
    manifest.articles[article.key] = {
        "id": article.id, "path": article.path, "title": article.title, "source": article.source,
        "published": article.published.isoformat() if article.published else None,
    }
    (report.updated if old else report.added).append(article.title)
    return True
