"""The index on disk: passages and vectors in Chroma,
the cleaned articles as JSON, and a manifest that says which articles are in.

The manifest is the commit point. It is replaced atomically after each file, and only articles it
names are visible to retrieval, so an ingest killed halfway leaves the previous index usable;
the next ingest redoes the unfinished file (passage ids are deterministic, so upserts converge)
and removes passages that no manifest entry owns.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np

from .articles import Article
from .chunking import Passage
from .errors import AssistantError, NoIndexError
from .files import ChromaFiles, Files, LocalFiles
from .lexical import LexicalIndex, Terms, article_of
from .lexical import stamp as lexical_stamp

log = logging.getLogger(__name__)

COLLECTION = "passages"
# Articles and sentence vectors kept in memory (most recently used): enough for every candidate
# of many questions, while a big ingest does not keep the whole collection (~35 MB per 1,000).
CACHED_ARTICLES = 2048
# passages read from Chroma per request (its SQLite binds one variable per id)
_PAGE = 5000
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass
class Manifest:
    """Which article each source key holds, and how the index was built."""

    signature: dict = field(default_factory=dict)
    articles: dict[str, dict] = field(default_factory=dict)  # key -> {"id", "path", "passages"}

    @property
    def article_ids(self) -> set[str]:
        return {entry["id"] for entry in self.articles.values()}


def write_atomically(path: Path, text: str | bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (os.fdopen(fd, "wb") if isinstance(text, bytes)
              else os.fdopen(fd, "w", encoding="utf-8")) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Store:
    """Chroma embedded (``PersistentClient`` under ``index_dir/chroma``) plus the article files;
    or, with ``chroma_url``, a Chroma server holding both (see ``files.py``)."""

    def __init__(self, index_dir: Path, chroma_url: str | None = None,
                 namespace: str = "news") -> None:
        self.index_dir = Path(index_dir)
        self.chroma_url = chroma_url
        self.namespace = namespace
        self._articles: OrderedDict[str, Article] = OrderedDict()
        self._sentence_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lexical: tuple[str, LexicalIndex, dict] | None = None  # (stamp, it, signature)
        self._duplicates: tuple[int | None, dict[str, list[str]]] | None = None
        self._manifest: tuple[int, Manifest] | None = None  # (its record's stamp, it): server only
        self._committed: tuple[tuple[int, int, int], Manifest] | None = None
        self._stamp: tuple[Manifest, str] | None = None
        self._memo: dict = {}  # what queries derive from the committed manifest, made once

    # ------------------------------------------------------------------ state on disk

    @property
    def manifest_path(self) -> Path:
        return self.index_dir / MANIFEST

    @cached_property
    def files(self) -> Files:
        """Manifest, articles, sentence vectors, duplicates: local files or Chroma records."""
        if self.chroma_url:
            return ChromaFiles(self.client, f"{self.namespace}-files")
        return LocalFiles(self.index_dir)

    def exists(self) -> bool:
        return self.files.read(MANIFEST) is not None

    def load_manifest(self) -> Manifest:
        if self.chroma_url:
            # On a server a question reads the manifest several times: fetch it again only when
            # its record was rewritten (a small request for the stamp, not the whole manifest).
            stamp = self.files.stamp(MANIFEST)
            if stamp is None:
                return Manifest()
            if self._manifest is None or self._manifest[0] != stamp:
                self._manifest = (stamp, self._read_manifest())
            cached = self._manifest[1]
            return Manifest(signature=dict(cached.signature),
                            articles={k: dict(v) for k, v in cached.articles.items()})
        return self._read_manifest()

    def _read_manifest(self) -> Manifest:
        raw = self.files.read(MANIFEST)
        if raw is None:
            return Manifest()
        data = json.loads(raw.decode("utf-8"))
        return Manifest(signature=data.get("signature", {}), articles=data.get("articles", {}))

    def save_manifest(self, manifest: Manifest) -> None:
        data = {"format": FORMAT_VERSION, "signature": manifest.signature,
                "articles": manifest.articles}
        self.files.write(MANIFEST, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))

    def committed(self) -> Manifest:
        """The committed manifest, parsed again only when the file changes (it is replaced
        atomically, so a new inode means a new commit). Every query reads it several times, and
        with tens of thousands of articles parsing it would cost more than the search. Read only:
        ingest works on its own copy from ``load_manifest``."""
        if self.chroma_url:  # on a server: refetched only when its record's stamp changes
            return self.load_manifest()
        try:
            stat = self.manifest_path.stat()
        except FileNotFoundError:
            return Manifest()
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if self._committed is None or self._committed[0] != key:
            self._committed = (key, self.load_manifest())
        return self._committed[1]

    def _derived(self, name: str, make: Callable[[Manifest], object]):
        manifest = self.committed()
        if self._memo.get("of") is not manifest:
            self._memo = {"of": manifest}
        if name not in self._memo:
            self._memo[name] = make(manifest)
        return self._memo[name]

    def entries(self, article_id: str) -> list[dict]:
        """The committed manifest's entries (files) that hold this article."""
        def by_id(manifest: Manifest) -> dict[str, list[dict]]:
            out: dict[str, list[dict]] = {}
            for entry in manifest.articles.values():
                out.setdefault(entry["id"], []).append(entry)
            return out
        return self._derived("by_id", by_id).get(article_id, [])

    def newest_published(self) -> date | None:
        """The newest publication date among the committed articles."""
        return self._derived("newest", lambda manifest: max(
            (date.fromisoformat(e["published"]) for e in manifest.articles.values()
             if e.get("published")), default=None))

    def require(self) -> Manifest:
        manifest = self.committed()
        if not manifest.articles:
            raise NoIndexError(
                f"No index at {self.index_dir}/. Run `assistant ingest articles/` first "
                f"(or pass --index DIR)."
            )
        return manifest

    def reset(self) -> None:
        """Remove the whole index (used when it was built with other settings)."""
        if self.chroma_url:  # the server's records; the local folder holds only caches
            self.files.clear()
            with contextlib.suppress(Exception):  # absent already
                self.client.delete_collection(self._collection.name)
        for name in ("chroma", "articles", "lexical", "duplicates.json", "duplicates.npz", MANIFEST):
            target = self.index_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        self._committed = self._stamp = None
        self._memo = {}
        self.__dict__.pop("client", None)
        self.__dict__.pop("_collection", None)
        self._articles.clear()
        self._sentence_vectors.clear()
        self._lexical = None
        self._manifest = None

    # ------------------------------------------------------------------ Chroma

    @cached_property
    def client(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        if self.chroma_url:
            return http_client(self.chroma_url)
        return chromadb.PersistentClient(
            path=str(self.index_dir / "chroma"),
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )

    def open(self) -> None:
        """Connect to Chroma and open the passages' collection now, not at the first query; and
        ask it one thing, as its first request (50-100 ms: it loads the collection's segments)
        is otherwise paid by the first query."""
        self._collection.count()

    @cached_property
    def _collection(self):
        name = f"{self.namespace}-{COLLECTION}" if self.chroma_url else COLLECTION
        return self.client.get_or_create_collection(name, metadata={"hnsw:space": "cosine"})

    def add_passages_many(self, items: list[tuple[Article, list[Passage], np.ndarray, bool]]
                          ) -> None:
        """For each (article, passages, vectors, replace): store the passages, first deleting
        what is stored for the article if ``replace`` (else the caller knows nothing is). One
        Chroma write for them all: each write has a fixed cost of tens of milliseconds.

        Written to Chroma directly, as queries read it: llama-index's vector store would cost
        seconds of imports in every process that ingests (the UI's first start, an upload)."""
        replaced = sorted({article.id for article, _, _, replace in items if replace})
        for i in range(0, len(replaced), 100):
            self._collection.delete(where={"article_id": {"$in": replaced[i:i + 100]}})
        rows = [(article, p, v) for article, passages, vectors, _ in items
                for p, v in zip(passages, np.asarray(vectors, dtype=np.float32), strict=True)]
        for i in range(0, len(rows), 1000):  # Chroma caps the size of one write
            chunk = rows[i:i + 1000]
            self._collection.upsert(
                ids=[p.id for _, p, _ in chunk],
                embeddings=np.stack([v for _, _, v in chunk]),
                documents=[p.text for _, p, _ in chunk],
                metadatas=[_metadata(article, p) for article, p, _ in chunk],
            )

    def remove_orphans(self, manifest: Manifest) -> int:
        """Delete passages and article files that no manifest entry owns: replaced, pruned or
        removed articles, and those a crash left behind.

        Every article's file is written before its passages and deleted after them, so the
        article files name every article that may have passages: the orphans are found from
        the names of the files, and only their passages are looked up and deleted."""
        owned = manifest.article_ids
        names = [name for name in self.files.names("articles/")
                 if name.removeprefix("articles/").split(".")[0] not in owned]
        orphans = sorted({name.removeprefix("articles/").split(".")[0] for name in names})
        deleted = 0
        for i in range(0, len(orphans), 100):
            got = self._collection.get(where={"article_id": {"$in": orphans[i:i + 100]}}, include=[])
            if got["ids"]:
                self._collection.delete(ids=got["ids"])
                deleted += len(got["ids"])
        self.files.delete(names)
        return deleted

    def has_article(self, article_id: str) -> bool:
        """Whether the article's file is stored (committed, or left by a crash)."""
        return self.files.stamp(f"articles/{article_id}.json") is not None

    def passages(self, ids: list[str] | None = None) -> list[tuple[Passage, dict, np.ndarray | None]]:
        """Stored passages (all, or those ``ids``) with their metadata and, for ``ids``, vectors."""
        include = ["documents", "metadatas"] + (["embeddings"] if ids is not None else [])
        out = []
        for got in self._pages(ids, include):
            vectors = got.get("embeddings") if ids is not None else None
            for i, (text, meta) in enumerate(zip(got["documents"], got["metadatas"], strict=True)):
                passage = Passage(meta["article_id"], int(meta["n"]), int(meta["start"]),
                                  int(meta["end"]), text)
                out.append((passage, meta, np.asarray(vectors[i]) if vectors is not None else None))
        return out

    def _pages(self, ids: list[str] | None, include: list[str]) -> Iterator[dict]:
        """Chroma's answers for those ``ids`` (or all passages), ``_PAGE`` at a time: one request
        for tens of thousands exceeds SQLite's limit on bound variables inside Chroma ("too many
        SQL variables", seen at 34,000 passages)."""
        if ids is not None:
            for start in range(0, len(ids), _PAGE):
                yield self._collection.get(ids=ids[start:start + _PAGE], include=include)
            return
        for start in itertools.count(0, _PAGE):
            got = self._collection.get(include=include, limit=_PAGE, offset=start)
            yield got
            if len(got["ids"]) < _PAGE:
                return

    def lexical(self, manifest: Manifest, split: Callable[[Article], list[Passage]]
                ) -> LexicalIndex:
        """The BM25 index of the committed passages: in memory, on disk, or rebuilt.

        A rebuild starts from the terms the previous state kept (in memory, or the last state on
        disk) and reads only the articles that were not in it: the committed articles (written
        atomically), split again with ``split``, the chunker that made the stored passages (the
        same ids, and nothing from a half-written Chroma state). Without a previous state it
        reads every article.
        """
        if self._stamp and self._stamp[0] is manifest:  # the committed one, stamped already
            key = self._stamp[1]
        else:
            key = lexical_stamp(manifest.article_ids, manifest.signature)
            if self._committed and self._committed[1] is manifest:
                self._stamp = (manifest, key)
        if self._lexical and self._lexical[0] == key:
            return self._lexical[1]
        folder = self.index_dir / "lexical" / key
        index = LexicalIndex.load(folder)
        if index is None:
            wanted = manifest.article_ids
            previous = self._lexical[1].terms if self._lexical and self._lexical[2] == \
                manifest.signature else None
            if previous is None:
                previous = LexicalIndex.previous_terms(folder.parent, manifest.signature)
                if previous is None and folder.parent.is_dir() and any(
                        not f.name.startswith(".") for f in folder.parent.iterdir()):
                    log.warning("note: the BM25 index on disk keeps no terms this version can "
                                "use (written by an older one): rebuilt from every article once")
            kept = previous.keep(wanted) if previous is not None else None
            have = {article_of(pid) for pid in kept.ids} if kept is not None else set()
            new = sorted(wanted - have)
            self.prefetch(new)
            entries = []
            for article_id in new:
                article = self.article(article_id)
                entries += [(p.id, f"{article.title}\n{p.text}") for p in split(article)]
            index = LexicalIndex.from_terms(kept.plus(entries) if kept is not None
                                            else Terms.of(entries))
            index.save(folder, manifest.signature)
        self._lexical = (key, index, dict(manifest.signature))
        return index

    def duplicates(self) -> dict[str, list[str]]:
        """canonical article id → ids of its copies (found at ingest, see ``dedupe``)."""
        stamp = self.files.stamp("duplicates.json")
        if self._duplicates is None or self._duplicates[0] != stamp:
            raw = self.files.read("duplicates.json") if stamp else None
            data = json.loads(raw.decode("utf-8")) if raw else {}
            self._duplicates = (stamp, data.get("groups", {}))
        return self._duplicates[1]

    def count_passages(self) -> int:
        return self._collection.count()

    def query(self, vector: np.ndarray, k: int, where: dict | None = None
              ) -> list[tuple[Passage, float]]:
        """The ``k`` nearest passages with their cosine similarity.

        Chroma is asked directly: going through llama-index's vector store here would import
        llama-index (2-4 s) before the first answer of every new process."""
        got = self._collection.query(query_embeddings=[vector.tolist()], n_results=k,
                                     where=where or None,
                                     include=["documents", "metadatas", "distances"])
        hits = []
        for text, meta, distance in zip(got["documents"][0], got["metadatas"][0],
                                        got["distances"][0], strict=True):
            passage = Passage(meta["article_id"], int(meta["n"]), int(meta["start"]),
                              int(meta["end"]), text or "")
            hits.append((passage, 1.0 - distance))  # Chroma's cosine distance is 1 - cosine
        return hits

    # ------------------------------------------------------------------ articles

    def save_article(self, article: Article) -> None:
        self.files.write(f"articles/{article.id}.json", article.model_dump_json(indent=1).encode())
        _remember(self._articles, article.id, article)

    def save_sentence_vectors(self, article_id: str, vectors: np.ndarray) -> None:
        """The embeddings of an article's sentences (each with the ones it leans on), made at
        ingest so a question only compares against them. float16: half the disk, same ranking."""
        buffer = io.BytesIO()
        np.save(buffer, vectors.astype(np.float16))
        self.files.write(f"articles/{article_id}.sentences.npy", buffer.getvalue())
        _remember(self._sentence_vectors, article_id, vectors.astype(np.float32))

    def sentence_vectors(self, article_id: str) -> np.ndarray | None:
        """One row per ``article.sentences``; None for an article stored without them."""
        if article_id not in self._sentence_vectors:
            raw = self.files.read(f"articles/{article_id}.sentences.npy")
            if raw is None:
                return None
            _remember(self._sentence_vectors, article_id, np.load(io.BytesIO(raw)).astype(np.float32))
        self._sentence_vectors.move_to_end(article_id)
        return self._sentence_vectors[article_id]

    def article(self, article_id: str) -> Article:
        if article_id not in self._articles:
            raw = self.files.read(f"articles/{article_id}.json")
            if raw is None:
                raise FileNotFoundError(f"article {article_id} is not in the index")
            _remember(self._articles, article_id, Article.model_validate_json(raw))
        self._articles.move_to_end(article_id)
        return self._articles[article_id]

    def prefetch(self, article_ids) -> None:
        """Read the articles not yet in memory in a few requests (a Chroma server: not one each)."""
        missing = [i for i in sorted(article_ids) if i not in self._articles]
        for raw in self.files.read_many([f"articles/{i}.json" for i in missing]).values():
            article = Article.model_validate_json(raw)
            _remember(self._articles, article.id, article)


def _metadata(article: Article, p: Passage) -> dict:
    published = article.published.isoformat() if article.published else ""
    return {
        "article_id": article.id,
        "n": p.n,
        "start": p.start,
        "end": p.end,
        "title": article.title,
        "source": article.source or "",
        "published": published,
        "published_int": int(article.published.strftime("%Y%m%d")) if article.published else 0,
        "path": article.path,
    }


def _remember(cache: OrderedDict, key: str, value) -> None:
    """Keep ``value`` as the most recently used entry, dropping the oldest beyond the limit."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > CACHED_ARTICLES:
        cache.popitem(last=False)


def http_client(url: str):
    """A ``chromadb.HttpClient`` for ``http://host:port`` (https too), telemetry off."""
    from urllib.parse import urlsplit

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from .errors import SettingsError

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"chroma_url must look like http://host:port, not {url!r}.")
    try:
        return chromadb.HttpClient(
            host=parts.hostname, port=parts.port or (443 if parts.scheme == "https" else 8000),
            ssl=parts.scheme == "https",
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False))
    except Exception as exc:  # chromadb checks the server at once; say what to do
        raise StoreUnavailableError(
            f"Cannot reach the Chroma server at {url} ({exc}). Start it (`chroma run --path DIR "
            f"--port {parts.port or 8000}`) or unset ASSISTANT_CHROMA_URL for the embedded "
            f"store.") from exc


class StoreUnavailableError(AssistantError):
    """The Chroma server is down or unreachable."""
