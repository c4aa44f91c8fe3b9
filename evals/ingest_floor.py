"""Ingest against its floor, both timed in one process: the model work inside an ingest of the
Lee corpus (the embedding model's runs, spaCy's) beside the bare models over all of its passages
(one call) and all of its articles' paragraphs (one ``pipe``), run right after.

    python evals/ingest_floor.py [--corpus evals/.cache/bench/corpus/lee]

Unlike ``bench.py`` (a sampled floor, for every size), this one splits the ingest's time into
model work and everything else. The models are loaded before the ingest is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=HERE / ".cache" / "bench" / "corpus" / "lee")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import bench

    from assistant import Assistant, Settings, attribution, language

    if not args.corpus.is_dir():
        bench.corpus(1, args.corpus.parent)
    spent = {"embedding": 0.0, "spacy": 0.0}

    def timed(function, label):
        def run(*a, **k):
            t = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                spent[label] += time.perf_counter() - t
        return run

    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(Settings(index_dir=Path(tmp) / "index", llm="none"))
        embedder = assistant.embedder
        session = embedder.session  # loaded now, not inside the timed ingest
        language.pipeline()
        embedder.__dict__["session"] = type("Timed", (), {"run": staticmethod(
            timed(session.run, "embedding"))})()
        # spaCy's runs inside ingest: the speakers are read off the parse of every paragraph
        attribution.parse_many = timed(attribution.parse_many, "spacy")
        t = time.perf_counter()
        report = assistant.ingest([args.corpus])
        ingest_s = time.perf_counter() - t
        inside = dict(spent)

        store = assistant.store
        texts = [f"{meta['title']}\n{p.text}" for p, meta, _ in store.passages()]
        t = time.perf_counter()
        embedder.embed(texts)
        embed_s = time.perf_counter() - t
        articles = [store.article(a) for a in sorted(store.load_manifest().article_ids)]
        paragraphs = [p for a in articles for p in a.text.split("\n") if p]
        t = time.perf_counter()
        list(language.pipeline().pipe(paragraphs, batch_size=64))  # the whole pipeline, as ingest
        spacy_s = time.perf_counter() - t
        shutil.rmtree(Path(tmp) / "index", ignore_errors=True)
    print(json.dumps({
        "articles": len(articles), "passages": len(texts), "errors": len(report.errors),
        "ingest_s": round(ingest_s, 1), "ingest_embedding_s": round(inside["embedding"], 1),
        "ingest_spacy_s": round(inside["spacy"], 1),
        "ingest_other_s": round(ingest_s - inside["embedding"] - inside["spacy"], 1),
        "bare_embedding_s": round(embed_s, 1), "bare_spacy_s": round(spacy_s, 1),
        "ingest_over_floor": round(ingest_s / (embed_s + spacy_s), 2),
        "load_average": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
