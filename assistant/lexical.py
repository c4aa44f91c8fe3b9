"""BM25 over the stored passages (title + text, our stemmed terms), persisted beside Chroma.

The index is named by a stamp of the manifest (which articles are in, built how), so it always
matches the committed passages: ingest rebuilds it after committing, and a query that finds no
index for the current stamp (an ingest killed before the rebuild) rebuilds it from Chroma.
BM25 has no cheap incremental update; rebuilding from the stored passages takes well under a
second per ten thousand passages, while embedding them took minutes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .terms import TERMS_VERSION, index_terms


def stamp(article_ids: set[str], signature: dict) -> str:
    text = json.dumps([sorted(article_ids), signature, TERMS_VERSION], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class LexicalIndex:
    """BM25 scores for every passage of one committed state of the index."""

    def __init__(self, ids: list[str], model) -> None:
        self.ids = ids
        self.model = model
        self._positions = {pid: i for i, pid in enumerate(ids)}

    def position(self, pid: str) -> int:
        return self._positions[pid]

    @classmethod
    def build(cls, entries: list[tuple[str, str]]) -> LexicalIndex:
        """``entries``: (passage id, text to index)."""
        import bm25s

        model = bm25s.BM25()
        corpus = [index_terms(text) or ["∅"] for _, text in entries]
        model.index(corpus, show_progress=False)
        return cls([pid for pid, _ in entries], model)

    def save(self, folder: Path) -> None:
        """Write to a temporary folder, then rename it into place."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".build-"))
        try:
            self.model.save(str(tmp), show_progress=False)
            (tmp / "ids.json").write_text(json.dumps(self.ids))
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for other in folder.parent.iterdir():  # older states
            if other != folder and not other.name.startswith(".build-"):
                shutil.rmtree(other, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        import bm25s

        if not (folder / "ids.json").is_file():
            return None
        model = bm25s.BM25.load(str(folder))
        return cls(json.loads((folder / "ids.json").read_text()), model)

    def idf(self, words: set[str]) -> dict[str, float]:
        """How rare each (stemmed) term is among all passages: log(1 + N / (1 + df))."""
        indptr = np.asarray(self.model.scores["indptr"])
        n = len(self.ids)
        out = {}
        for word in words:
            i = self.model.vocab_dict.get(word)
            df = int(indptr[i + 1] - indptr[i]) if i is not None and i + 1 < len(indptr) else 0
            out[word] = float(np.log(1 + n / (1 + df)))
        return out

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every passage (``self.ids`` order) for the question's terms."""
        query = [t for t in index_terms(question) if t in self.model.vocab_dict]
        if not query or not self.ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.model.get_scores(query), dtype=np.float32)
