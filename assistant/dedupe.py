"""Syndicated and near-duplicate copies: the same story in several outlets, a corrected reprint.

Each article gets a MinHash of its word 5-gram shingles; locality-sensitive hashing (16 bands of
4) proposes pairs, and a pair is a copy when one article's shingles are at least 80% contained in
the other's (a reprint that trims or edits a few sentences still is). Copies form groups; the
canonical article of a group is the earliest published, then the first by file path. Retrieval
shows only the canonical article, and its citations name the copies.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections import defaultdict
from datetime import date

import numpy as np

from .store import Manifest, Store

log = logging.getLogger(__name__)

GROUPS = "duplicates.json"  # what queries read: {"format", "of": digest of the ids, "groups"}
STATE = "duplicates.npz"  # what the next update starts from: ids, MinHashes, pairs found
FORMAT = 2
PERMUTATIONS = 64
BANDS = 16
CONTAINMENT = 0.8
_PRIME = 4294967311  # the first prime above 2**32: (a * x + b) stays inside 64 bits
_rng = np.random.default_rng(20241125)  # fixed: the same article always gets the same MinHash
_A = _rng.integers(1, 1 << 32, PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, 1 << 32, PERMUTATIONS, dtype=np.uint64)


def _stable(text: str) -> int:
    """A 32-bit hash that is the same in every process (Python's str hash is salted)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little")


def shingles(text: str, n: int = 5) -> set[int]:
    """Hashes of the article's overlapping runs of ``n`` words."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {_stable(" ".join(words[i:i + n])) for i in range(max(len(words) - n + 1, 1))} \
        if words else set()


def minhash(items: set[int]) -> list[int]:
    if not items:
        return [0] * PERMUTATIONS
    x = np.fromiter(items, dtype=np.uint64)
    values = (x[:, None] * _A[None, :] + _B[None, :]) % np.uint64(_PRIME)
    return values.min(axis=0).tolist()


def containment(a: set[int], b: set[int]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def update(store: Store, manifest: Manifest) -> dict[str, list[str]]:
    """Find copies among the committed articles; save the groups.

    What was found before is kept (``duplicates.npz``: every article's MinHash and the pairs found
    to be copies), so an ingest computes MinHashes and checks candidate pairs only for the
    articles that are new; articles that left drop out with their pairs. The groups, which
    queries read, are written after it (``duplicates.json``, naming the set it was made from)."""
    wanted = sorted(manifest.article_ids)
    digest = _digest(wanted)
    raw = store.files.read(GROUPS)
    saved = json.loads(raw.decode("utf-8")) if raw else {}
    state = _load_state(store)
    if state is not None and state[0] == wanted and saved.get("of") == digest:
        return saved.get("groups", {})  # nothing changed
    known: dict[str, list[int]] = {}
    if state is None:
        ids, hashes, edges = [], np.zeros((0, PERMUTATIONS), dtype=np.uint64), set()
        if raw:  # written before the state was kept: its MinHashes serve, every pair is checked
            known = saved.get("minhash", {})
            log.warning("note: the duplicate groups on disk were written by an older version: "
                        "checking every article once")
    else:
        ids, hashes, edges = state
    present = set(wanted)
    rows = [i for i, article_id in enumerate(ids) if article_id in present]
    ids, hashes = [ids[i] for i in rows], hashes[rows]
    edges = {pair for pair in edges if pair[0] in present and pair[1] in present}
    new = sorted(present - set(ids))
    if new:
        fresh = np.array([known.get(a) or minhash(shingles(store.article(a).text)) for a in new],
                         dtype=np.uint64).reshape(len(new), PERMUTATIONS)
        ids, hashes = ids + new, np.concatenate([hashes, fresh])
        order = np.argsort(ids, kind="stable")
        ids, hashes = [ids[i] for i in order], hashes[order]
        edges |= _copies(store, ids, hashes, set(new))
    result = _groups(store, manifest, ids, edges)
    _save_state(store, ids, hashes, edges)  # first: the groups name the state they come from
    store.files.write(GROUPS, json.dumps({"format": FORMAT, "of": digest, "groups": result}).encode())
    return result


def _copies(store: Store, ids: list[str], hashes: np.ndarray, new: set[str]
            ) -> set[tuple[str, str]]:
    """Pairs with at least one article in ``new`` that share a band of their MinHashes and are
    copies (containment at least CONTAINMENT)."""
    rows = PERMUTATIONS // BANDS
    is_new = np.array([a in new for a in ids], dtype=bool)
    candidates: set[tuple[str, str]] = set()
    for band in range(BANDS):
        values = np.ascontiguousarray(hashes[:, band * rows:(band + 1) * rows])
        _, bucket = np.unique(values.view(np.dtype((np.void, values.itemsize * rows))).ravel(),
                              return_inverse=True)
        bucket = bucket.ravel()
        touched = np.isin(bucket, bucket[is_new])
        members: dict[int, list[int]] = defaultdict(list)
        for i in np.flatnonzero(touched):
            members[int(bucket[i])].append(int(i))
        for group in members.values():
            for x, i in enumerate(group):
                for j in group[x + 1:]:
                    if is_new[i] or is_new[j]:
                        candidates.add((ids[i], ids[j]))  # ids are sorted: (smaller, larger)
    cache: dict[str, set[int]] = {}
    found = set()
    for a, b in sorted(candidates):
        sa = cache.setdefault(a, shingles(store.article(a).text))
        sb = cache.setdefault(b, shingles(store.article(b).text))
        if containment(sa, sb) >= CONTAINMENT:
            found.add((a, b))
    return found


def _groups(store: Store, manifest: Manifest, ids: list[str], edges: set[tuple[str, str]]
            ) -> dict[str, list[str]]:
    """canonical → its copies: the earliest published, then the first by file path."""
    parent = {a: a for pair in edges for a in pair}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in sorted(edges):
        parent[find(a)] = find(b)
    clusters: dict[str, list[str]] = defaultdict(list)
    for article_id in sorted(parent):
        clusters[find(article_id)].append(article_id)
    paths = {e["id"]: e["path"] for e in manifest.articles.values()}
    result = {}
    for members in clusters.values():
        members.sort(key=lambda a: (store.article(a).published or date.max, paths.get(a, "")))
        result[members[0]] = members[1:]
    return result


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


def _load_state(store: Store) -> tuple[list[str], np.ndarray, set[tuple[str, str]]] | None:
    raw = store.files.read(STATE)
    if raw is None:
        return None
    try:
        with np.load(io.BytesIO(raw)) as data:
            if int(data["format"]) != FORMAT:
                return None
            ids = [str(a) for a in data["ids"]]
            hashes = data["minhash"].astype(np.uint64).reshape(len(ids), PERMUTATIONS)
            edges = {(str(a), str(b)) for a, b in data["edges"].reshape(-1, 2)}
    except (OSError, ValueError, KeyError):
        return None
    return ids, hashes, edges


def _save_state(store: Store, ids: list[str], hashes: np.ndarray,
                edges: set[tuple[str, str]]) -> None:
    buffer = io.BytesIO()
    pairs = np.array(sorted(edges), dtype=str).reshape(-1, 2)
    np.savez(buffer, format=np.int64(FORMAT), ids=np.array(ids, dtype=str), minhash=hashes,
             edges=pairs)
    store.files.write(STATE, buffer.getvalue())
