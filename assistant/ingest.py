"""Files → index, incrementally: unchanged articles are skipped, changed ones replaced."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import attribution, dedupe, language
from .articles import Article, Sentence, article_id, iter_files, load_file
from .chunking import split_passages
from .embedding import DIMENSIONS, MiniLM
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
    batch = _Batch(manifest, store, embedder, passage_tokens, report)

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
            batch.add(_bounded(article, max_article_chars, report), str(item))
        if batch.full():
            dirty |= batch.flush()
        if dirty and not batch.items and commit.due():  # the commit point, after a whole file
            commit(manifest)
            dirty = False
    dirty |= batch.flush()
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


class _Batch:
    """Articles read but not yet indexed, indexed together: the language model, the embedding
    model and Chroma each run once per batch, not once per article (an article's two passages
    made batches of two for the embedding model, and each Chroma write has a fixed cost).
    Manifest entries are set only when their article is indexed, and the manifest is committed
    only between batches, so a crash still leaves only whole, committed articles visible."""

    ARTICLES = 32  # per batch at most (one Lee story: ~2 passages)
    FIRST = 4  # the first batch: the first articles are searchable (committed) soon
    CHARACTERS = 200_000

    def __init__(self, manifest: Manifest, store: Store, embedder: MiniLM, passage_tokens: int,
                 report: IngestReport) -> None:
        self.manifest, self.store, self.embedder = manifest, store, embedder
        self.passage_tokens, self.report = passage_tokens, report
        self.held = Counter(e["id"] for e in manifest.articles.values())  # id -> entries holding it
        self.items: list[tuple[Article, str]] = []  # (article, where it came from), in file order
        self.new: dict[str, Article] = {}  # id -> the article to analyse and embed
        self.characters = 0
        self.limit = self.FIRST  # doubles after each batch, up to ARTICLES

    def add(self, article: Article, source: str) -> None:
        old = self.manifest.articles.get(article.key)
        if old and old["id"] == article.id:
            self.report.unchanged.append(article.title)
            return
        self.items.append((article, source))
        if not self.held[article.id] and article.id not in self.new:  # not in under another key
            self.new[article.id] = article
            self.characters += len(article.text)

    def full(self) -> bool:
        return len(self.new) >= self.limit or self.characters >= self.CHARACTERS

    def flush(self) -> bool:
        """Index the batch; says whether the manifest changed."""
        if not self.items:
            return False
        sources = {a.id: src for a, src in reversed(self.items)}  # the first file with the text
        try:
            failed = self._index(list(self.new.values()), sources)
        except (ValueError, UnicodeError, RecursionError):
            failed = {}  # one article spoils the batch: index them one by one to find it
            for article in self.new.values():
                failed |= self._index([article], sources)
        changed = False
        for article, source in self.items:
            if article.id in failed:
                self.report.errors.append(ArticleError(source, f"article not indexed: "
                                                               f"{failed[article.id]}"))
                continue
            old = self.manifest.articles.get(article.key)
            if old:
                self.held[old["id"]] -= 1
            self.held[article.id] += 1
            self.manifest.articles[article.key] = {
                "id": article.id, "path": article.path, "title": article.title,
                "source": article.source,
                "published": article.published.isoformat() if article.published else None,
            }
            (self.report.updated if old else self.report.added).append(article.title)
            changed = True
        self.items, self.new, self.characters = [], {}, 0
        self.limit = min(self.limit * 2, self.ARTICLES)
        return changed

    def _index(self, articles: list[Article], sources: dict[str, str]) -> dict[str, str]:
        """Analyse, store and embed ``articles``; returns id -> why, for those that failed."""
        failed: dict[str, str] = {}
        try:  # who speaks and the entities of each sentence: the batch's paragraphs in one parse
            analysed = attribution.analyse_many([a.text for a in articles])
        except (ValueError, UnicodeError, RecursionError) as exc:
            if len(articles) > 1:
                raise  # flush indexes the batch one article at a time
            return {articles[0].id: str(exc)}
        done = []
        for article, sentences in zip(articles, map(tuple, analysed), strict=True):
            try:
                article = article.model_copy(update={"sentences": sentences})
                passages = split_passages(article, self.embedder.count_tokens, self.passage_tokens)
            except (ValueError, UnicodeError, RecursionError) as exc:
                failed[article.id] = str(exc)
                continue
            leftover = self.store.has_article(article.id)  # from a crash, or replaced in this run
            self.store.save_article(article)  # before its passages: see Store.remove_orphans
            done.append((article, passages, leftover))
        vectors = _embed_many([(a, p) for a, p, _ in done], self.embedder)
        for (article, _, _), (_, sentence_vectors) in zip(done, vectors, strict=True):
            self.store.save_sentence_vectors(article.id, sentence_vectors)
        self.store.add_passages_many([(a, p, v, leftover) for (a, p, leftover), (v, _)
                                      in zip(done, vectors, strict=True)])
        self.report.passages += sum(len(p) for _, p, _ in done)
        return failed


def _embed_many(items: list[tuple[Article, list]], embedder: MiniLM
                ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``_embed`` for several articles in one run of the model (batches sorted by length across
    articles: less padding than an article's own two or three passages)."""
    texts, spans = [], []
    for article, passages in items:
        texts += [f"{article.title}\n{p.text}" for p in passages]
        spans += _passage_spans(article, passages)
    vectors, pooled = embedder.embed_spans(texts, spans)
    out = []
    row = 0
    missing_texts, missing_at = [], []
    for n, (article, passages) in enumerate(items):
        sentences = np.zeros((len(article.sentences), DIMENSIONS), dtype=np.float32)
        for found, rows in zip(_inside(article, passages), pooled[row:row + len(passages)],
                               strict=True):
            sentences[found] = rows
        missing = [i for i in range(len(sentences)) if not sentences[i].any()]
        if missing:
            contexts = sentence_contexts(article)
            missing_texts += [contexts[i] for i in missing]
            missing_at += [(n, i) for i in missing]
        out.append((vectors[row:row + len(passages)], sentences))
        row += len(passages)
    if missing_texts:  # sentences the model did not see whole: embedded alone, all at once
        for (n, i), vector in zip(missing_at, embedder.embed(missing_texts), strict=True):
            out[n][1][i] = vector
    return out


def _inside(article: Article, passages: list) -> list[list[int]]:
    return [[i for i, s in enumerate(article.sentences) if p.start <= s.start and s.end <= p.end]
            for p in passages]


def _passage_spans(article: Article, passages: list) -> list[list[tuple[int, int]]]:
    """Each passage's sentences as character spans of ``title\npassage``."""
    offset = len(article.title) + 1
    return [[(article.sentences[i].start - p.start + offset, article.sentences[i].end - p.start + offset)
             for i in found] for p, found in zip(passages, _inside(article, passages), strict=True)]
