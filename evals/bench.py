"""What the assistant costs as the collection grows: 1x, 4x, 16x, 64x the Lee corpus.

    python evals/bench.py --sizes 1,4 [--questions 40] [--out evals/bench]
    python evals/bench.py --sizes 16,64      # adds to the sizes already in evals/bench/bench.json

Size 1x is the 300 Lee stories (gensim's wheel). Every further 300 articles are new, distinct
articles recombined deterministically from paragraphs of different Lee stories (never more than one
paragraph of a story per article, so no article is a copy of another and the duplicate detector
keeps them all). Each size runs in a fresh process on a fresh index and measures:

- ingest: passages/s, beside the bare models' work on the same texts, timed in the same process on
  a sample: the embedding model over the passages (sentence vectors come from the same run) and
  spaCy's pipeline (as ingest runs it) over the articles;
- an unchanged re-ingest (everything skipped);
- warm extractive queries (``--llm none``): p50/p95 over a fixed question set (evals/lee.jsonl);
- peak RSS of the process, and the index's size on disk.

It prints a table and writes bench.json and bench.png (matplotlib) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STORIES_PER_SIZE = 300
QUESTIONS = HERE / "lee.jsonl"
_SENTENCE = re.compile(r"(?<=[.!?\"])\s+(?=[A-Z\"])")


# ------------------------------------------------------------------ corpora


def lee_stories() -> list[str]:
    from gensim.test.utils import datapath

    return Path(datapath("lee_background.cor")).read_text(encoding="latin-1").splitlines()


def paragraphs(story: str, per: int = 2) -> list[str]:
    """A story cut into paragraphs of ``per`` sentences (Lee stories are one line each)."""
    sentences = [s for s in _SENTENCE.split(story.strip()) if s]
    return [" ".join(sentences[i:i + per]) for i in range(0, len(sentences), per)]


def synthetic_batch(stories: list[str], batch: int) -> list[str]:
    """Batch ``batch`` (1, 2, ...) of 300 new articles, the same every run: each takes 3-5
    paragraphs, each from a different story with at least 4 paragraphs, so that no paragraph is
    more than a quarter of its own story and two articles share at most a paragraph or two."""
    pool = [(i, paragraphs(s)) for i, s in enumerate(stories)]
    pool = [(i, ps) for i, ps in pool if len(ps) >= 4]
    rng = random.Random(f"lee-bench-{batch}")
    articles = []
    for _ in range(STORIES_PER_SIZE):
        chosen = rng.sample(pool, rng.randint(3, 5))
        articles.append("\n\n".join(rng.choice(ps) for _, ps in chosen))
    return articles


def corpus(size: int, root: Path) -> list[Path]:
    """The folders that make up ``size``x: lee/ and synthetic batches 1 .. size-1."""
    stories = lee_stories()
    folders = [root / "lee"] + [root / f"batch-{b:03d}" for b in range(1, size)]
    for b, folder in enumerate(folders):
        if (folder / ".complete").exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        texts = stories if b == 0 else synthetic_batch(stories, b)
        for i, text in enumerate(texts):
            (folder / f"{folder.name}_{i:03d}.txt").write_text(text, encoding="utf-8")
        (folder / ".complete").touch()
    return folders


# ------------------------------------------------------------------ one size, in its own process


def _sample(items: list, n: int) -> list:
    step = max(len(items) / n, 1.0)
    return [items[int(i * step)] for i in range(min(n, len(items)))]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(size: int, folders: list[Path], index: Path, questions: int) -> dict:
    from assistant import Assistant, Settings
    from assistant.language import pipeline

    shutil.rmtree(index, ignore_errors=True)
    assistant = Assistant(Settings(index_dir=index, llm="none"))
    started = time.perf_counter()
    report = assistant.ingest(folders)
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    again = assistant.ingest(folders)
    reingest_s = time.perf_counter() - started
    assert not again.added and not again.updated, "the re-ingest should skip everything"

    # the bare models on samples of the same texts, in this process, now
    store = assistant.store
    manifest = store.load_manifest()
    stored = store.passages()
    n_passages, n_articles = len(stored), len(manifest.article_ids)
    articles = [store.article(a) for a in _sample(sorted(manifest.article_ids), 60)]
    embedder = assistant.embedder
    sample = [f"{meta['title']}\n{p.text}" for p, meta, _ in _sample(stored, 300)]
    t = time.perf_counter()
    embedder.embed(sample)
    passage_rate = len(sample) / (time.perf_counter() - t)
    nlp = pipeline()
    paras = [p for a in articles for p in a.text.split("\n") if p]
    t = time.perf_counter()
    list(nlp.pipe(paras, batch_size=64))  # the whole pipeline: entities and the parse
    spacy_rate = len(articles) / (time.perf_counter() - t)
    floor_s = n_passages / passage_rate + n_articles / spacy_rate

    # warm extractive queries on a fixed question set
    asked = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines()[:questions]]
    assistant.ask(asked[0])  # loads the models, the BM25 index, the caches
    latencies = []
    for question in asked:
        t = time.perf_counter()
        assistant.ask(question)
        latencies.append((time.perf_counter() - t) * 1000)
    size_bytes = sum(f.stat().st_size for f in index.rglob("*") if f.is_file())
    groups = store.duplicates()
    return {
        "size": size, "articles": n_articles, "passages": n_passages, "errors": len(report.errors),
        "copies_found": sum(len(v) for v in groups.values()),
        "ingest_s": round(ingest_s, 1), "ingest_passages_per_s": round(n_passages / ingest_s, 1),
        "embed_passages_per_s": round(passage_rate, 1),
        "spacy_articles_per_s": round(spacy_rate, 1),
        "floor_s": round(floor_s, 1), "ingest_over_floor": round(ingest_s / floor_s, 2),
        "reingest_s": round(reingest_s, 2), "reingest_share": round(reingest_s / ingest_s, 3),
        "query_p50_ms": round(statistics.median(latencies), 1),
        "query_p95_ms": round(_percentile(latencies, 0.95), 1), "questions": len(latencies),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "index_mb": round(size_bytes / 1e6, 1),
        "load_average": round(os.getloadavg()[0], 2),
    }


# ------------------------------------------------------------------ the report

COLUMNS = [("size", "size"), ("articles", "articles"), ("passages", "passages"),
           ("ingest_passages_per_s", "ingest p/s"), ("embed_passages_per_s", "model p/s"),
           ("ingest_over_floor", "ingest/floor"),
           ("reingest_s", "re-ingest s"), ("query_p50_ms", "p50 ms"), ("query_p95_ms", "p95 ms"),
           ("peak_rss_mb", "peak RSS MB"), ("index_mb", "index MB"), ("load_average", "load")]


def markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(h for _, h in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(f"{row[k]}x" if k == "size" else str(row[k])
                                       for k, _ in COLUMNS) + " |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["passages"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    panels = [
        (axes[0][0], "ingest, passages/s", [("ingest", "ingest_passages_per_s"),
                                            ("bare embedding model", "embed_passages_per_s")]),
        (axes[0][1], "warm extractive query, ms", [("p50", "query_p50_ms"), ("p95", "query_p95_ms")]),
        (axes[1][0], "peak RSS, MB", [("peak RSS", "peak_rss_mb")]),
        (axes[1][1], "seconds", [("full ingest", "ingest_s"), ("unchanged re-ingest", "reingest_s")]),
    ]
    for ax, title, series in panels:
        for label, key in series:
            ax.plot(x, [r[key] for r in rows], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_title(title)
        ax.set_xlabel("passages in the index")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Cost against collection size (Lee corpus 1x = 300 stories; 2 cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,4,16,64",
                        help="Multiples of the Lee corpus, comma-separated (default 1,4,16,64).")
    parser.add_argument("--questions", type=int, default=40, help="Questions timed per size.")
    parser.add_argument("--work", type=Path, default=HERE / ".cache" / "bench",
                        help="Where the corpora and the indexes are made.")
    parser.add_argument("--out", type=Path, default=HERE / "bench", help="bench.json, bench.png")
    parser.add_argument("--report-only", action="store_true",
                        help="Print the table and redraw the plot from --out/bench.json.")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one size, measured in a process of its own (its own peak RSS)
        folders = corpus(args.child, args.work / "corpus")
        print(json.dumps(measure(args.child, folders, args.work / f"index-{args.child}x",
                                 args.questions)))
        return
    # sizes measured earlier (e.g. 16x and 64x in another run) stay; those measured now replace them
    saved = args.out / "bench.json"
    rows = json.loads(saved.read_text()) if saved.is_file() else []
    sizes = [] if args.report_only else [int(s) for s in args.sizes.split(",")]
    rows = [r for r in rows if r["size"] not in sizes]
    for size in sizes:
        print(f"{size}x: building the corpus, ingesting, querying …", file=sys.stderr, flush=True)
        corpus(size, args.work / "corpus")
        done = subprocess.run([sys.executable, __file__, "--child", str(size), "--work", str(args.work),
                               "--questions", str(args.questions)], check=True, stdout=subprocess.PIPE,
                              text=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    rows.sort(key=lambda r: r["size"])
    args.out.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(rows, indent=1))
    print(markdown(rows))
    try:
        plot(rows, args.out / "bench.png")
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[eval]'): no plot", file=sys.stderr)
    print(f"written: {args.out / 'bench.json'}, {args.out / 'bench.png'}")


if __name__ == "__main__":
    main()
