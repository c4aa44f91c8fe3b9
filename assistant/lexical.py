"""BM25 over the stored passages (title + text, our stemmed terms), persisted beside Chroma.

The index is named by a stamp of the manifest (which articles are in, built how), so it always
matches the committed passages: ingest rebuilds it after committing, and a query that finds no
index for the current stamp (an ingest killed before the rebuild) rebuilds it.

BM25 here has no incremental add, so every new state is a rebuild; what makes that proportional to
what changed is that each state keeps its passages' terms (as ids into its vocabulary,
``terms.npz`` and ``terms.json``). The next state starts from them: passages of articles that
left are dropped, only the new articles are read, split and tokenised, and BM25 is built from the
term ids (a few numpy passes). A state without kept terms (written before they were kept, or
with other terms or passages) is rebuilt from every article once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .terms import TERMS_VERSION, index_terms

log = logging.getLogger(__name__)

TERMS_FORMAT = 1
_EMPTY = "∅"  # the term of a passage with none (bm25s wants every document to have one)


def stamp(article_ids: set[str], signature: dict) -> str:
    text = json.dumps([sorted(article_ids), signature, TERMS_VERSION], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def article_of(pid: str) -> str:
    return pid.rsplit(":", 1)[0]


class Terms:
    """Every passage's terms: ``tokens[offsets[i]:offsets[i + 1]]`` are passage ``ids[i]``'s,
    as positions in ``vocab``."""

    def __init__(self, ids: list[str], vocab: list[str], tokens: np.ndarray,
                 offsets: np.ndarray) -> None:
        self.ids, self.vocab, self.tokens, self.offsets = ids, vocab, tokens, offsets

    @classmethod
    def of(cls, entries: list[tuple[str, str]], vocab: list[str] | None = None) -> Terms:
        """Tokenise ``entries`` (passage id, text), extending ``vocab`` (a copy) as needed."""
        vocab = list(vocab or [])
        index = {word: i for i, word in enumerate(vocab)}
        flat: list[int] = []
        offsets = [0]
        for _, text in entries:
            for word in index_terms(text) or [_EMPTY]:
                i = index.get(word)
                if i is None:
                    i = index[word] = len(vocab)
                    vocab.append(word)
                flat.append(i)
            offsets.append(len(flat))
        return cls([pid for pid, _ in entries], vocab, np.asarray(flat, dtype=np.int32),
                   np.asarray(offsets, dtype=np.int64))

    def keep(self, article_ids: set[str]) -> Terms:
        """Only the passages of these articles."""
        rows = np.array([article_of(pid) in article_ids for pid in self.ids], dtype=bool)
        if rows.all():
            return self
        lengths = np.diff(self.offsets)[rows]
        mask = np.repeat(rows, np.diff(self.offsets))
        return Terms([pid for pid, r in zip(self.ids, rows, strict=True) if r], self.vocab,
                     self.tokens[mask], np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))

    def plus(self, entries: list[tuple[str, str]]) -> Terms:
        """These passages and those of ``entries`` (tokenised now)."""
        new = Terms.of(entries, self.vocab)
        return Terms(self.ids + new.ids, new.vocab, np.concatenate([self.tokens, new.tokens]),
                     np.concatenate([self.offsets, new.offsets[1:] + self.offsets[-1]]))

    def compact(self) -> Terms:
        """The same, with words no passage uses any more taken out of the vocabulary."""
        used = np.zeros(len(self.vocab), dtype=bool)
        used[self.tokens] = True
        if used.all():
            return self
        renumber = np.cumsum(used) - 1
        return Terms(self.ids, [w for w, u in zip(self.vocab, used, strict=True) if u],
                     renumber[self.tokens].astype(np.int32), self.offsets)

    def save(self, folder: Path, signature: dict) -> None:
        np.savez(folder / "terms.npz", tokens=self.tokens, offsets=self.offsets)
        (folder / "terms.json").write_text(json.dumps(
            {"format": TERMS_FORMAT, "terms_version": TERMS_VERSION, "signature": signature,
             "vocab": self.vocab}))

    @classmethod
    def load(cls, folder: Path, signature: dict) -> Terms | None:
        """The terms kept in ``folder`` if they were made as this code makes them, else None."""
        try:
            meta = json.loads((folder / "terms.json").read_text())
            if (meta.get("format"), meta.get("terms_version"), meta.get("signature")) != (
                    TERMS_FORMAT, TERMS_VERSION, signature):
                return None
            ids = json.loads((folder / "ids.json").read_text())
            with np.load(folder / "terms.npz") as arrays:
                tokens, offsets = arrays["tokens"], arrays["offsets"]
        except (OSError, ValueError, KeyError):
            return None
        if len(offsets) != len(ids) + 1:
            return None
        return cls(ids, meta["vocab"], tokens, offsets)


class LexicalIndex:
    """BM25 scores for every passage of one committed state of the index: bm25s's "lucene"
    variant, as its eager score matrix (CSC: for each term, the passages holding it and their
    scores) beside the vocabulary, stored in bm25s's file layout. Built from term ids and read
    back with numpy alone, so a query does not import bm25s and scipy (0.08 s of a cold ask)."""

    def __init__(self, ids: list[str], vocab: dict[str, int], data: np.ndarray,
                 indices: np.ndarray, indptr: np.ndarray, terms: Terms | None = None) -> None:
        self.ids, self.vocab, self.terms = ids, vocab, terms
        self.data, self.indices, self.indptr = data, indices, indptr
        self._positions: dict[str, int] | None = None

    def position(self, pid: str) -> int:
        if self._positions is None:
            self._positions = {pid: i for i, pid in enumerate(self.ids)}
        return self._positions[pid]

    @classmethod
    def build(cls, entries: list[tuple[str, str]]) -> LexicalIndex:
        """``entries``: (passage id, text to index)."""
        return cls.from_terms(Terms.of(entries))

    @classmethod
    def from_terms(cls, terms: Terms) -> LexicalIndex:
        terms = terms.compact()
        return cls(terms.ids, *_scores(terms), terms=terms)

    def updated(self, articles: set[str], entries: list[tuple[str, str]]) -> LexicalIndex:
        """A new index: this one's passages of ``articles`` and the passages ``entries``."""
        if self.terms is None:
            raise ValueError("this index kept no terms")
        return LexicalIndex.from_terms(self.terms.keep(articles).plus(entries))

    def save(self, folder: Path, signature: dict | None = None) -> None:
        """Write to a temporary folder, then rename it into place."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".build-"))
        try:
            for name, array in (("data", self.data), ("indices", self.indices),
                                ("indptr", self.indptr)):
                np.save(tmp / f"{name}.csc.index.npy", array)
            (tmp / "vocab.index.json").write_text(json.dumps(self.vocab, ensure_ascii=False))
            (tmp / "params.index.json").write_text(json.dumps({**_PARAMS, "num_docs": len(self.ids)}))
            (tmp / "ids.json").write_text(json.dumps(self.ids))
            if self.terms is not None and signature is not None:
                self.terms.save(tmp, signature)
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for other in folder.parent.iterdir():  # older states
            if other != folder and not other.name.startswith(".build-"):
                shutil.rmtree(other, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        if not (folder / "ids.json").is_file():
            return None
        arrays = [np.load(folder / f"{name}.csc.index.npy") for name in ("data", "indices", "indptr")]
        return cls(json.loads((folder / "ids.json").read_text()),
                   json.loads((folder / "vocab.index.json").read_text()), *arrays)

    @staticmethod
    def previous_terms(parent: Path, signature: dict) -> Terms | None:
        """The kept terms of the state on disk under ``parent`` (the last one built), if usable."""
        if not parent.is_dir():
            return None
        for folder in sorted(parent.iterdir()):
            if not folder.name.startswith(".") and (terms := Terms.load(folder, signature)):
                return terms
        return None

    def idf(self, words: set[str]) -> dict[str, float]:
        """How rare each (stemmed) term is among all passages: log(1 + N / (1 + df))."""
        indptr = self.indptr
        n = len(self.ids)
        out = {}
        for word in words:
            i = self.vocab.get(word)
            df = int(indptr[i + 1] - indptr[i]) if i is not None and i + 1 < len(indptr) else 0
            out[word] = float(np.log(1 + n / (1 + df)))
        return out

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every passage (``self.ids`` order) for the question's terms."""
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for word in index_terms(question):  # a repeated term counts again, as in bm25s
            i = self.vocab.get(word)
            if i is not None and i + 1 < len(self.indptr):
                start, end = self.indptr[i], self.indptr[i + 1]
                scores[self.indices[start:end]] += self.data[start:end]
        return scores


# bm25s's defaults, with which its "lucene" scores are computed below
_PARAMS = {"k1": 1.5, "b": 0.75, "delta": 0.5, "method": "lucene", "idf_method": "lucene",
           "dtype": "float32", "int_dtype": "int32", "version": "0.3.16", "backend": "numpy"}


def _scores(terms: Terms) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """The vocabulary and the CSC score matrix (data, indices, indptr) that bm25s's ``index``
    makes, from term ids in a few numpy passes (bm25s loops over the passages in Python: seconds
    at tens of thousands)."""
    vocab = {w: i for i, w in enumerate(terms.vocab)}
    n_docs, n_vocab = len(terms.ids), len(terms.vocab)
    k1, b = _PARAMS["k1"], _PARAMS["b"]
    lengths = np.diff(terms.offsets)
    docs = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    # one entry per (term, passage), sorted by term then passage: the CSC layout
    pairs, tf = np.unique(terms.tokens.astype(np.int64) * n_docs + docs, return_counts=True)
    term, doc = pairs // max(n_docs, 1), pairs % max(n_docs, 1)
    df = np.bincount(term, minlength=n_vocab)
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    tf = tf.astype(np.float32)
    tfc = tf / (k1 * ((1 - b) + b * lengths[doc] / (lengths.mean() if n_docs else 1)) + tf)
    indptr = np.concatenate([[0], np.cumsum(df)])
    vocab.setdefault("", n_vocab)  # as bm25s's index(): the empty token, outside the matrix
    return (vocab, (idf[term] * tfc).astype(np.float32), doc.astype(np.int32),
            indptr.astype(np.int32))
