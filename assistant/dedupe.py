"""Syndicated and near-duplicate copies: the same story in several outlets, a corrected reprint.

Each article gets a MinHash of its word 5-gram shingles; locality-sensitive hashing (16 bands of
4) proposes pairs, and a pair is a copy when one article's shingles are at least 80% contained in
the other's (a reprint that trims or edits a few sentences still is). Copies form groups; the
canonical article of a group is the earliest published, then the first by file path. Retrieval
shows only the canonical article, and its citations name the copies.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from datetime import date

import numpy as np

from .store import Manifest, Store

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
    """Find copies among the committed articles; save groups (and MinHashes for next time)."""
    raw = store.files.read("duplicates.json")
    saved = json.loads(raw.decode("utf-8")) if raw else {}
    hashes: dict[str, list[int]] = {}
    for article_id in sorted(manifest.article_ids):
        known = saved.get("minhash", {}).get(article_id)
        hashes[article_id] = known or minhash(shingles(store.article(article_id).text))
    rows = PERMUTATIONS // BANDS
    buckets: dict[tuple, list[str]] = defaultdict(list)
    for article_id, values in hashes.items():
        for band in range(BANDS):
            buckets[(band, *values[band * rows:(band + 1) * rows])].append(article_id)
    parent = {a: a for a in hashes}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    checked: set[tuple[str, str]] = set()
    cache: dict[str, set[int]] = {}
    for members in buckets.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                pair = (min(a, b), max(a, b))
                if pair in checked:
                    continue
                checked.add(pair)
                sa = cache.setdefault(a, shingles(store.article(a).text))
                sb = cache.setdefault(b, shingles(store.article(b).text))
                if containment(sa, sb) >= CONTAINMENT:
                    parent[find(a)] = find(b)
    clusters: dict[str, list[str]] = defaultdict(list)
    for article_id in hashes:
        clusters[find(article_id)].append(article_id)
    paths = {e["id"]: e["path"] for e in manifest.articles.values()}
    result = {}
    for members in clusters.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda a: (store.article(a).published or date.max, paths.get(a, "")))
        result[members[0]] = members[1:]
    store.files.write("duplicates.json", json.dumps({"groups": result, "minhash": hashes}).encode())
    return result
