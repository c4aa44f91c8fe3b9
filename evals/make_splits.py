"""How evals/lee_train.jsonl, lee_dev.jsonl and seed_train.jsonl were made (kept for provenance).

Helpers that saw neither the code nor its results wrote questions from the stories alone, one
batch of Lee stories each (the stories lee_holdout and lee_fresh use, and 20 kept for the
post-fit blind set lee_blind.jsonl, were not given to them). This script merges the batches and
splits them by story: a story's questions are all in train or all in dev (20% of stories, drawn
with a fixed seed). Seed-article questions all go to train (there are only two articles).

    python evals/make_splits.py BATCH.jsonl ... [--seed-batch SEED.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEV_SHARE = 0.2
SEED = 20261203


def story(item: dict, last: str | None) -> str | None:
    return item["evidence"][0]["article"] if item["evidence"] else last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("batches", nargs="+", type=Path)
    parser.add_argument("--seed-batch", type=Path)
    args = parser.parse_args()
    by_story: dict[str, list[dict]] = {}
    for path in args.batches:
        last = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                last = story(item, last) or item["id"]  # an unanswerable one: the story before it
                by_story.setdefault(last, []).append(item)
    stories = sorted(by_story)
    dev = set(random.Random(SEED).sample(stories, round(DEV_SHARE * len(stories))))
    for name, chosen in (("lee_train.jsonl", [s for s in stories if s not in dev]),
                         ("lee_dev.jsonl", sorted(dev))):
        items = [i for s in chosen for i in by_story[s]]
        (HERE / name).write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items),
                                 encoding="utf-8")
        print(f"{name}: {len(items)} questions over {len(chosen)} stories")
    if args.seed_batch:
        text = args.seed_batch.read_text(encoding="utf-8")
        (HERE / "seed_train.jsonl").write_text(text, encoding="utf-8")
        print(f"seed_train.jsonl: {len(text.splitlines())} questions")


if __name__ == "__main__":
    main()
