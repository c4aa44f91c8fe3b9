"""Where the index keeps what is not a passage vector: the manifest (the commit point), the
cleaned articles (``articles/<id>.json``), their per-sentence vectors (``<id>.sentences.npy``)
and the duplicate groups. Two backends behind one small protocol, chosen by settings:

- ``LocalFiles``: files under ``index_dir`` (embedded Chroma, one machine), written atomically.
- ``ChromaFiles``: records of a second collection on the Chroma server (``chroma_url``), so every
  replica of ``assistant serve`` reads the same committed state. Each file is one record
  (id = its name, document = its text, or base64 for bytes); one upsert replaces one record
  atomically, so the manifest stays the single commit point.

The BM25 index is not kept here: each process rebuilds it from the committed articles and caches
it under its local ``index_dir/lexical/<stamp>`` (the stamp names the committed set).
"""

from __future__ import annotations

import base64
import contextlib
import time
from pathlib import Path
from typing import Protocol


class Files(Protocol):
    def read(self, name: str) -> bytes | None: ...
    def read_many(self, names: list[str]) -> dict[str, bytes]: ...
    def write(self, name: str, data: bytes) -> None: ...
    def delete(self, names: list[str]) -> None: ...
    def names(self, prefix: str) -> list[str]: ...
    def stamp(self, name: str) -> int | None: ...
    def clear(self) -> None: ...


class LocalFiles:
    """Files under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def read(self, name: str) -> bytes | None:
        path = self.root / name
        return path.read_bytes() if path.is_file() else None

    def read_many(self, names: list[str]) -> dict[str, bytes]:
        return {name: data for name in names if (data := self.read(name)) is not None}

    def write(self, name: str, data: bytes) -> None:
        from .store import write_atomically

        write_atomically(self.root / name, data)

    def delete(self, names: list[str]) -> None:
        for name in names:
            (self.root / name).unlink(missing_ok=True)

    def names(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        return sorted(f"{prefix}{path.name}" for path in folder.iterdir() if path.is_file()
                      and not path.name.startswith("."))

    def stamp(self, name: str) -> int | None:
        path = self.root / name
        return path.stat().st_mtime_ns if path.is_file() else None

    def clear(self) -> None:
        pass  # the Store removes its folders itself


class ChromaFiles:
    """Files as records of one Chroma collection (on a Chroma server)."""

    # Chroma wants a vector with every record; these records are never searched.
    _NO_VECTOR = [0.0]

    def __init__(self, client, collection: str) -> None:
        self.client, self.name = client, collection
        self._collection = None

    @property
    def collection(self):
        if self._collection is None:
            self._collection = self.client.get_or_create_collection(
                self.name, metadata={"hnsw:space": "l2", "kind": "files"})
        return self._collection

    @staticmethod
    def _decode(document: str, meta: dict | None) -> bytes:
        if (meta or {}).get("encoding") == "base64":
            return base64.b64decode(document)
        return document.encode("utf-8")

    def read(self, name: str) -> bytes | None:
        return self.read_many([name]).get(name)

    def read_many(self, names: list[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for i in range(0, len(names), 200):  # keep each request small
            got = self.collection.get(ids=names[i:i + 200], include=["documents", "metadatas"])
            for rid, document, meta in zip(got["ids"], got["documents"], got["metadatas"],
                                           strict=True):
                out[rid] = self._decode(document, meta)
        return out

    def write(self, name: str, data: bytes) -> None:
        try:
            document, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            document, encoding = base64.b64encode(data).decode("ascii"), "base64"
        self.collection.upsert(ids=[name], documents=[document], embeddings=[self._NO_VECTOR],
                               metadatas=[{"encoding": encoding, "written": time.time_ns(),
                                           "folder": name.rsplit("/", 1)[0] if "/" in name else ""}])

    def delete(self, names: list[str]) -> None:
        if names:
            self.collection.delete(ids=names)

    def names(self, prefix: str) -> list[str]:
        folder = prefix.rstrip("/")
        got = self.collection.get(where={"folder": folder}, include=[])
        return sorted(got["ids"])

    def stamp(self, name: str) -> int | None:
        got = self.collection.get(ids=[name], include=["metadatas"])
        return int(got["metadatas"][0]["written"]) if got["ids"] else None

    def clear(self) -> None:
        with contextlib.suppress(Exception):  # absent already
            self.client.delete_collection(self.name)
        self._collection = None
