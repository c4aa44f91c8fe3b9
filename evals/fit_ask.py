"""Fit the ask threshold: when the quotes would refuse, does the model still get to write?

In generated mode the model writes when the extractive stage answers. It may also write when
that stage refuses but some sentence of the pool scores at least the *ask threshold*; what it
writes is verified like any answer, and if nothing stands the refusal stays. This script picks
that threshold from two runs of the same dataset with the local LLM:

    ASSISTANT_LLM_ASK_THRESHOLD=1 assistant eval evals/lee_dev.jsonl --llm local --out BASE
    ASSISTANT_LLM_ASK_THRESHOLD=0.17 assistant eval evals/lee_dev.jsonl --llm local --out ASK
    python evals/fit_ask.py evals/lee_dev.jsonl BASE ASK [--write]

BASE asks the model only when the quotes answer; ASK also asks it whenever a sentence scores at
least 0.17 (the verifier's answering threshold in assistant/data/support.json: below it no
generated sentence can stand). For every threshold t between the two, a question the quotes
refuse takes its ASK outcome when its best sentence scores at least t, else its BASE outcome
(the refusal). The threshold of the greatest utility is chosen, with the answer fit's utility
(evals/fit.py): +1 for a right answer (it contains a gold answer) or a right refusal, -1 for a
wrong answer or any answer to an unanswerable question, 0 for refusing an answerable one; ties:
the middle of the best range. The scores are the scorer's out-of-sample probabilities only when
the dataset was not fitted on: use lee_dev (the fit's held-out stories), not lee_train.
``--write`` stores the threshold in assistant/data/ask.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.chat import Turn  # noqa: E402
from assistant.evaluation import aggregate, load_dataset, load_report, open_corpus  # noqa: E402
from assistant.settings import Settings  # noqa: E402

OUT = ROOT / "assistant" / "data" / "ask.json"


def outcome(item, row: dict) -> int:
    """The fit's utility of one answer."""
    if row["refused"]:
        return 0 if item.answerable else 1
    return 1 if item.answerable and row.get("answer_match") else -1


def figures(rows: dict) -> dict:
    """The harness's own figures for one composition of the two runs."""
    metrics = aggregate(list(rows.values()))
    return {k: metrics[k] for k in ("citation_precision", "answer_match", "refusal_accuracy",
                                    "generated", "unsupported_shown")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("base", type=Path, help="run with ASSISTANT_LLM_ASK_THRESHOLD=1")
    parser.add_argument("ask", type=Path, help="run with a low ASSISTANT_LLM_ASK_THRESHOLD")
    parser.add_argument("--cache", type=Path, default=ROOT / "evals" / ".cache")
    parser.add_argument("--write", action="store_true", help="store it in assistant/data/ask.json")
    args = parser.parse_args()

    items = load_dataset(args.dataset)
    base_report, ask_report = load_report(args.base), load_report(args.ask)
    low = ask_report["settings"].get("llm_ask_threshold")
    if base_report["settings"].get("llm_ask_threshold") != 1 or low is None:
        sys.exit("BASE needs ASSISTANT_LLM_ASK_THRESHOLD=1 and ASK a lower one (see --help).")
    base = {r["id"]: r for r in base_report["systems"]["ours"]["rows"]}
    ask = {r["id"]: r for r in ask_report["systems"]["ours"]["rows"]}
    assistant = open_corpus(items[0].corpus, Settings(llm="none"), args.cache).assistant
    top = {i.id: max((c.score for c in assistant.sentences(
        i.question, history=[Turn(t.question, t.answer) for t in i.history])), default=0.0)
        for i in items}

    def rows_at(t: float) -> dict:
        return {i.id: ask[i.id] if base[i.id]["refused"] and top[i.id] >= t else base[i.id]
                for i in items}

    grid = np.round(np.arange(low, 1.0 + 1e-9, 0.01), 2)
    utility = np.array([np.mean([outcome(i, r) for i, r in zip(items, rows_at(t).values(),
                                                                  strict=True)]) for t in grid])
    best = np.flatnonzero(utility >= utility.max() - 1e-9)
    chosen = float(grid[best[len(best) // 2]])
    print(f"{len(items)} questions; the quotes refuse {sum(base[i.id]['refused'] for i in items)}")
    print("threshold  utility  precision  answer_match  refusal_accuracy    kept")
    for t, u in zip(grid, utility, strict=True):
        if t in (low, chosen, 1.0) or round(t * 100) % 5 == 0:
            f = figures(rows_at(t))
            print(f"{t:9.2f}  {u:7.3f}  {f['citation_precision']!s:>9}  {f['answer_match']!s:>12}  "
                  f"{f['refusal_accuracy']!s:>16}  {f['generated']!s:>6}"
                  f"{'  <- chosen' if t == chosen else ''}")
    result = {
        "threshold": chosen,
        "utility": round(float(utility.max()), 3),
        "utility_asking_only_when_the_quotes_answer": round(float(utility[-1]), 3),
        "figures": figures(rows_at(chosen)),
        "fitted_on": {"dataset": args.dataset.name, "questions": len(items),
                      "lowest": low, "model": ask_report["settings"].get("llm_model"),
                      "version": ask_report.get("version")},
    }
    print(json.dumps(result, indent=2))
    if args.write:
        OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"written: {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
