"""Calibrate the verifier's support threshold on an eval run with generated answers.

    python evals/calibrate_support.py evals/runs/seed_articles-local [evals/runs/lee-local ...]

Each generated sentence is labelled by the dataset: right when it states a gold answer or shares
most of its words with a gold evidence quote (answerable questions), wrong otherwise (including
every sentence given for an unanswerable question). For each threshold the table shows how often
"support >= threshold" agrees with that label; the best one is the setting to use.
"""

import json
import sys
from pathlib import Path

from assistant.evaluation import load_dataset, normalise, token_f1


def labelled(run: Path) -> list[tuple[float, bool]]:
    report = json.loads((run / "report.json").read_text())
    items = {i.id: i for i in load_dataset(Path(report["dataset"]))}
    out = []
    for row in report["systems"]["ours"]["rows"]:
        item = items[row["id"]]
        for sentence in row.get("sentences", []):
            text = sentence["text"]
            right = item.answerable and (
                any(normalise(a) in normalise(text) for a in item.answers)
                or any(token_f1(text, e.quote) >= 0.5 for e in item.evidence))
            out.append((sentence.get("support") or 0.0, right))
    return out


def main(runs: list[str]) -> int:
    data = [x for run in runs for x in labelled(Path(run))]
    if not data:
        print("no generated sentences in these runs (run the eval with --llm local)")
        return 1
    print(f"{len(data)} generated sentences, {sum(r for _, r in data)} right by the gold answers")
    best = None
    for t in [x / 20 for x in range(4, 20)]:
        agree = sum((s >= t) == right for s, right in data) / len(data)
        kept_wrong = sum(s >= t and not right for s, right in data)
        dropped_right = sum(s < t and right for s, right in data)
        print(f"threshold {t:.2f}: agreement {agree:.3f}  wrong kept {kept_wrong}  "
              f"right marked {dropped_right}")
        if best is None or agree > best[1]:
            best = (t, agree)
    print(f"best threshold: {best[0]:.2f} (agreement {best[1]:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
