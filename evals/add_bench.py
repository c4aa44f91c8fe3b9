"""What an upload costs in a large index against an empty one: 20 new articles ingested into a
copy of the 4x bench index, and the same 20 into an empty index, in one process.

    python evals/add_bench.py [--base evals/.cache/bench/index-4x] [--articles 20] [--rounds 2]

The base index is the one ``evals/bench.py --sizes 4`` leaves behind (built here if missing, from
the same corpus). The 20 articles are a synthetic batch no bench size uses (recombined paragraphs
of Lee stories, as in bench.py), so none is a copy of a stored one. Rounds alternate
empty / large so that load on the shared machine falls on both alike; each stage of the ingest's
once-per-ingest work (orphan clean-up, duplicates, BM25) is timed too. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402

BATCH = 999  # a synthetic batch no bench size reaches


class Stages:
    """Wall time spent in the named functions, per ingest."""

    def __init__(self, targets: list[tuple[object, str, str]]) -> None:
        self.seconds: dict[str, float] = {}
        for owner, attr, label in targets:
            original = getattr(owner, attr, None)
            if original is None:  # older code (add_bench also times the code before a change)
                continue

            def timed(*args, _original=original, _label=label, **kwargs):
                t = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.seconds[_label] = self.seconds.get(_label, 0.0) + time.perf_counter() - t

            setattr(owner, attr, timed)

    def take(self) -> dict[str, float]:
        out, self.seconds = {k: round(v, 3) for k, v in self.seconds.items()}, {}
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, default=HERE / ".cache" / "bench" / "index-4x")
    parser.add_argument("--work", type=Path, default=HERE / ".cache" / "bench")
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from assistant import Assistant, Settings, dedupe
    from assistant.store import Store

    if not (args.base / "manifest.json").is_file():
        print(f"building {args.base} from the 4x bench corpus …", file=sys.stderr, flush=True)
        Assistant(Settings(index_dir=args.base, llm="none")).ingest(
            bench.corpus(4, args.work / "corpus"))

    folder = args.work / "corpus" / f"add-{args.articles}"
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        texts = bench.synthetic_batch(bench.lee_stories(), BATCH)[:args.articles]
        for i, text in enumerate(texts):
            (folder / f"add_{i:03d}.txt").write_text(text, encoding="utf-8")
        (folder / ".complete").touch()

    stages = Stages([(Store, "remove_orphans", "orphans"), (dedupe, "update", "duplicates"),
                     (Store, "lexical", "bm25"), (Store, "add_passages_many", "chroma_writes"),
                     (Store, "add_passages", "chroma_writes")])
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        tmp = Path(tmp)
        # warm up: models loaded, imports done, before anything is timed
        Assistant(Settings(index_dir=tmp / "warm", llm="none")).ingest([folder / "add_000.txt"])
        runs: dict[str, list[dict]] = {"empty": [], "large": []}
        for r in range(args.rounds):
            for kind in ("empty", "large"):
                index = tmp / f"{kind}-{r}"
                if kind == "large":
                    shutil.copytree(args.base, index)
                assistant = Assistant(Settings(index_dir=index, llm="none"))
                stages.take()
                t = time.perf_counter()
                report = assistant.ingest([folder])
                seconds = time.perf_counter() - t
                assert len(report.added) == args.articles, report.summary()
                runs[kind].append({"s": round(seconds, 2), **stages.take()})
                print(kind, runs[kind][-1], file=sys.stderr, flush=True)
                shutil.rmtree(index)
    base_articles = len(json.loads((args.base / "manifest.json").read_text())["articles"])
    empty = statistics.median(r["s"] for r in runs["empty"])
    large = statistics.median(r["s"] for r in runs["large"])
    print(json.dumps({"articles_added": args.articles, "base_articles": base_articles,
                      "into_empty_s": round(empty, 2), "into_large_s": round(large, 2),
                      "difference_s": round(large - empty, 2), "runs": runs,
                      "load_average": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
