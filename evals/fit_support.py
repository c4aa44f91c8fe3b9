"""Fit the verifier's support judge on hand-labelled generated sentences (issue 17).

    python evals/fit_support.py                  # evals/support/batch*/, writes assistant/data/support.json
    python evals/fit_support.py --dry-run        # the figures only

Each labelled sentence (``labelled.jsonl``: ``supported`` by a labeller who saw no code and no
scores) is paired with the source sentence the verifier aligned it to and the source text the
model saw (``features.jsonl``), and described by ``assistant.support.row`` exactly as the verifier
describes it at run time. A logistic model is fitted with cross-validation grouped by story (no
story in two folds); in each fold the threshold is the one of least cost on the training labels, a
false accept (an unsupported sentence passed) costing twice a false reject. Printed: the
cross-validated agreement with the labels beside the lexical rule's on the same sentences, and
the weights of the model fitted on all of them (the one written).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fit import FOLDS, corpus_for, fit, hash_of, predict  # noqa: E402

from assistant.evaluation import load_dataset  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.support import COLUMNS, row  # noqa: E402

EVALS = ROOT / "evals"
OUT = ROOT / "assistant" / "data" / "support.json"


def load(folders: list[Path]) -> list[dict]:
    """Every labelled sentence with what the verifier saw."""
    out = []
    for folder in folders:
        texts = {r["id"]: r for r in map(json.loads, (folder / "to_label.jsonl").open())}
        feats = {r["id"]: r for r in map(json.loads, (folder / "features.jsonl").open())}
        for label in map(json.loads, (folder / "labelled.jsonl").open()):
            key = label["id"]
            out.append({"batch": folder.name, **feats[key], "claim": texts[key]["sentence"],
                        "label": bool(label["supported"])})
    return out


def describe(records: list[dict], settings: Settings) -> np.ndarray:
    rows = []
    corpora: dict[str, object] = {}
    for r in records:
        if r["dataset"] not in corpora:
            corpora[r["dataset"]] = corpus_for(load_dataset(EVALS / r["dataset"])[0].corpus, settings)
        assistant = corpora[r["dataset"]].assistant
        article = assistant.store.article(r["article_id"])
        sentence = " ".join(article.text[s:e] for s, e in r["cited_spans"])
        window = article.title + "\n" + " ".join(article.text[s:e] for s, e in r["source_spans"])
        vectors = assistant.embedder.embed([r["claim"], sentence])
        rows.append(row(r["claim"], sentence, window, float(vectors[1] @ vectors[0])))
    return np.array(rows)


# Passing an unsupported sentence as verified misleads the reader; rejecting a supported one only
# hides it (it is marked, and the quotes stand): a false accept costs this many false rejects.
ACCEPT_COST = 2.0


def best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The threshold of the least cost (ties: the middle of the best range)."""
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    scores = np.array([-(ACCEPT_COST * np.sum((p >= t) & ~y) + np.sum((p < t) & y))
                       for t in grid])
    best = np.flatnonzero(scores >= scores.max() - 1e-9)
    return float(grid[best[len(best) // 2]])


class _Set:  # what fit.fit expects: .x and .y per group
    def __init__(self, x, y):
        self.x, self.y = x, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path,
                        default=sorted((EVALS / "support").glob("batch*")))
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation")
    args = parser.parse_args()
    records = load(args.folders)
    x = describe(records, Settings(llm="none"))
    y = np.array([r["label"] for r in records], dtype=float)
    stories = sorted({(r["dataset"], r["story"]) for r in records}, key=lambda s: hash_of(str(s)))
    fold_of = {s: i % FOLDS for i, s in enumerate(stories)}
    folds = np.array([fold_of[(r["dataset"], r["story"])] for r in records])
    predicted = np.zeros(len(y), dtype=bool)
    for k in range(FOLDS):
        train = folds != k
        params = fit([_Set(x[train], y[train])], args.c)
        t = best_threshold(predict(params, x[train]), y[train].astype(bool))
        predicted[~train] = predict(params, x[~train]) >= t
    labels = y.astype(bool)
    lexical = np.array([bool(r["supported"]) for r in records])
    print(f"{len(records)} labelled sentences ({int(labels.sum())} supported) from "
          f"{len(stories)} stories, batches {sorted({r['batch'] for r in records})}")
    for name, guess in (("fitted judge, cross-validated", predicted), ("lexical rule", lexical)):
        print(f"  {name:30s} agreement {np.mean(guess == labels):.3f}: accepts "
              f"{int(np.sum(guess & ~labels))} unsupported, rejects {int(np.sum(~guess & labels))} supported")
    params = fit([_Set(x, y)], args.c)
    threshold = best_threshold(predict(params, x), labels)
    print(f"Weights (per standard deviation), threshold {threshold}:")
    for name, w in sorted(zip(COLUMNS, params[2], strict=True), key=lambda p: -abs(p[1])):
        print(f"  {name:14s} {w:+.3f}")
    if args.dry_run:
        return
    data = {"features": list(COLUMNS), "mean": params[0].tolist(), "scale": params[1].tolist(),
            "coef": params[2].tolist(), "intercept": params[3], "threshold": threshold,
            "C": args.c, "trained_on": {"folders": [f.name for f in args.folders],
                                        "sentences": len(records)},
            "cross_validated_agreement": round(float(np.mean(predicted == labels)), 3),
            "lexical_agreement": round(float(np.mean(lexical == labels)), 3)}
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"Wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
