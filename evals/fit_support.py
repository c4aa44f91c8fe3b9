"""Fit the verifier's support judge on hand-labelled generated sentences (issue 17).

    python evals/fit_support.py                  # evals/support/batch*/ but the blind batch4b
                                                 # (its held-out check), writes assistant/data/support.json
    python evals/fit_support.py --dry-run        # the figures only
    python evals/fit_support.py evals/support/batch1 evals/support/batch2 --held-out evals/support/batch3

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
import time
from functools import cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fit import FOLDS, corpus_for, fit, hash_of, predict  # noqa: E402

from assistant.evaluation import load_dataset  # noqa: E402
from assistant.scorer import default_ranker  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.support import COLUMNS, ENTAILMENT, row  # noqa: E402

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
                        "label": bool(label["supported"]), "answers": bool(label["answers"])})
    return out


@cache
def _questions(dataset: str) -> dict:
    """A dataset's questions by id (read once per process)."""
    return {item.id: item for item in load_dataset(EVALS / dataset)}


def _assistant(dataset: str, settings: Settings):
    """The dataset corpus's assistant (``fit.corpus_for`` opens each corpus once)."""
    return corpus_for(next(iter(_questions(dataset).values())).corpus, settings).assistant


def texts(record: dict, settings: Settings) -> tuple[str, str]:
    """The cited source sentence and the window the model saw (headline and source), as the
    verifier reads them."""
    article = _assistant(record["dataset"], settings).store.article(record["article_id"])
    sentence = " ".join(article.text[s:e] for s, e in record["cited_spans"])
    window = article.title + "\n" + " ".join(article.text[s:e] for s, e in record["source_spans"])
    return sentence, window


def describe(records: list[dict], settings: Settings) -> np.ndarray:
    rows = []
    for r in records:
        assistant = _assistant(r["dataset"], settings)
        sentence, window = texts(r, settings)
        vectors = assistant.embedder.embed([r["claim"], sentence])
        rows.append(row(r["claim"], sentence, window, float(vectors[1] @ vectors[0])))
    return np.array(rows)


ENTAILMENT_CACHE = EVALS / ".cache" / "support_entailment.json"


def entailments(records: list[dict], settings: Settings) -> np.ndarray:
    """The local LLM's log-odds that each record's window states its claim
    (``support.entailment``, as the verifier asks it), cached by the prompt's hash."""
    from assistant.generate import load_prompt
    from assistant.llm import LLM
    from assistant.support import entailment

    tag = hash_of(load_prompt("entailment"))[:12]
    cache = json.loads(ENTAILMENT_CACHE.read_text()) if ENTAILMENT_CACHE.exists() else {}
    ENTAILMENT_CACHE.parent.mkdir(parents=True, exist_ok=True)
    llm, began, asked = None, time.monotonic(), 0
    for r in records:
        key = f"{tag}/{r['batch']}/{r['id']}"
        if key not in cache:
            llm = llm or LLM(Settings(llm="local", index_dir=EVALS / ".cache" / "entailment-llm"))
            cache[key] = entailment(llm, texts(r, settings)[1], r["claim"])
            asked += 1
            if asked % 25 == 0:
                ENTAILMENT_CACHE.write_text(json.dumps(cache))
                print(f"  entailment: {asked} asked, {(time.monotonic() - began) / asked:.2f} s "
                      "each", flush=True)
    ENTAILMENT_CACHE.write_text(json.dumps(cache))
    return np.array([cache[f"{tag}/{r['batch']}/{r['id']}"] for r in records])


def ratings(records: list[dict], settings: Settings) -> np.ndarray:
    """The shipped scorer's probability, today, that each record's cited source sentence answers
    its question (what ``generate.verify`` reads at run time; 0 if it is no longer retrieved)."""
    out = []
    for r in records:
        assistant = _assistant(r["dataset"], settings)
        assistant.retriever.ranker = default_ranker()  # fit.corpus_for leaves it to the fit
        question = _questions(r["dataset"])[r["question_id"]].question
        start = r["cited_spans"][0][0] if r["cited_spans"] else -1
        out.append(next((s.score for s in assistant.sentences(question)
                         if s.hit.article.id == r["article_id"] and s.span.start == start), 0.0))
    return np.array(out)


def answering_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The least-cost threshold on the scorer's probability for the label "answers" (0 = accept
    every source; ties: the lowest, so nothing is set apart without evidence)."""
    grid = np.round(np.arange(0.0, 0.96, 0.01), 2)
    costs = [ACCEPT_COST * np.sum((p >= t) & ~y) + np.sum((p < t) & y) for t in grid]
    return float(grid[int(np.argmin(costs))])


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


def story_folds(records: list[dict]) -> np.ndarray:
    """Each record's fold: stories (not sentences) are dealt to the folds."""
    stories = sorted({(r["dataset"], r["story"]) for r in records}, key=lambda s: hash_of(str(s)))
    fold_of = {s: i % FOLDS for i, s in enumerate(stories)}
    return np.array([fold_of[(r["dataset"], r["story"])] for r in records])


def cross_validated(x: np.ndarray, y: np.ndarray, folds: np.ndarray, c: float) -> np.ndarray:
    """Each sentence's verdict by the judge fitted (and thresholded) on the other folds."""
    predicted = np.zeros(len(y), dtype=bool)
    for k in range(FOLDS):
        train = folds != k
        params = fit([_Set(x[train], y[train])], c)
        t = best_threshold(predict(params, x[train]), y[train].astype(bool))
        predicted[~train] = predict(params, x[~train]) >= t
    return predicted


def fit_judge(x: np.ndarray, y: np.ndarray, names: list[str], c: float, title: str) -> tuple:
    """The judge fitted on all of ``x`` and its least-cost threshold; prints the weights."""
    params = fit([_Set(x, y)], c)
    threshold = best_threshold(predict(params, x), y.astype(bool))
    print(f"{title} (per standard deviation), threshold {threshold}:")
    for name, w in sorted(zip(names, params[2], strict=True), key=lambda p: -abs(p[1])):
        print(f"  {name:14s} {w:+.3f}")
    return params, threshold


def fit_entailment(records: list[dict], x: np.ndarray, y: np.ndarray, folds: np.ndarray,
                   args) -> None:
    """The judge with one more column, the LLM's entailment, cross-validated the same way and
    checked on the held-out labels (figures only: not shipped, see evals/support/README.md)."""
    settings = Settings(llm="none")
    xe = np.column_stack([x, entailments(records, settings)])
    labels = y.astype(bool)
    predicted = cross_validated(xe, y, folds, args.c)
    print(f"  {'with entailment, cross-val.':30s} agreement {np.mean(predicted == labels):.3f}: accepts "
          f"{int(np.sum(predicted & ~labels))} unsupported, "
          f"rejects {int(np.sum(~predicted & labels))} supported")
    params, threshold = fit_judge(xe, y, [*COLUMNS, ENTAILMENT], args.c, "Weights with entailment")
    if args.held_out:
        unseen = load(args.held_out)
        truth = np.array([r["label"] for r in unseen], dtype=bool)
        xu = np.column_stack([describe(unseen, settings), entailments(unseen, settings)])
        judged = predict(params, xu) >= threshold
        print(f"  held out, with entailment: agreement {np.mean(judged == truth):.3f}: accepts "
              f"{int(np.sum(judged & ~truth))} unsupported, "
              f"rejects {int(np.sum(~judged & truth))} supported")


BLIND = {"batch4b"}  # labelled after the first fit: its held-out check, never fitted on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    batches = sorted((EVALS / "support").glob("batch*"))
    parser.add_argument("folders", nargs="*", type=Path,
                        default=[b for b in batches if b.name not in BLIND])
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation")
    parser.add_argument("--entailment", action="store_true",
                        help="also report the judge with the local LLM's entailment column "
                             "(one LLM call per label, cached in evals/.cache; not written)")
    parser.add_argument("--held-out", nargs="*", type=Path,
                        default=[b for b in batches if b.name in BLIND],
                        help="labelled folders NOT fitted on: the fitted judge's figures on them")
    args = parser.parse_args()
    records = load(args.folders)
    x = describe(records, Settings(llm="none"))
    y = np.array([r["label"] for r in records], dtype=float)
    folds = story_folds(records)
    stories = {(r["dataset"], r["story"]) for r in records}
    predicted = cross_validated(x, y, folds, args.c)
    labels = y.astype(bool)
    lexical = np.array([bool(r["supported"]) for r in records])
    print(f"{len(records)} labelled sentences ({int(labels.sum())} supported) from "
          f"{len(stories)} stories, batches {sorted({r['batch'] for r in records})}")
    for name, guess in (("fitted judge, cross-validated", predicted), ("lexical rule", lexical)):
        print(f"  {name:30s} agreement {np.mean(guess == labels):.3f}: accepts "
              f"{int(np.sum(guess & ~labels))} unsupported, rejects {int(np.sum(~guess & labels))} supported")
    # (b) the source sentence must be one the scorer rates as answering: a threshold on its
    # probability, fitted on the labels' "answers", cross-validated by story the same way
    rated = ratings(records, Settings(llm="none"))
    answers = np.array([r["answers"] for r in records], dtype=bool)
    passed = np.zeros(len(y), dtype=bool)
    for k in range(FOLDS):
        train = folds != k
        passed[~train] = rated[~train] >= answering_threshold(rated[train], answers[train])
    answering = answering_threshold(rated, answers)
    print(f"  {'answering, cross-validated':30s} agreement {np.mean(passed == answers):.3f} "
          f"(accepting every source: {np.mean(answers):.3f}): accepts {int(np.sum(passed & ~answers))} "
          f"that do not answer, rejects {int(np.sum(~passed & answers))} that do; threshold {answering}")
    params, threshold = fit_judge(x, y, list(COLUMNS), args.c, "Weights")
    held_out = {}
    if args.held_out:
        unseen = load(args.held_out)
        truth = np.array([r["label"] for r in unseen], dtype=bool)
        judged = predict(params, describe(unseen, Settings(llm="none"))) >= threshold
        lexical_unseen = np.array([bool(r["supported"]) for r in unseen])
        answers_unseen = np.array([r["answers"] for r in unseen], dtype=bool)
        passed_unseen = ratings(unseen, Settings(llm="none")) >= answering
        print(f"Held out ({len(unseen)} sentences, {int(truth.sum())} supported, "
              f"{int(answers_unseen.sum())} answering; {[f.name for f in args.held_out]}):")
        for name, guess, want in (("fitted judge", judged, truth), ("lexical rule", lexical_unseen, truth),
                                  ("answering", passed_unseen, answers_unseen)):
            print(f"  {name:14s} agreement {np.mean(guess == want):.3f}: accepts "
                  f"{int(np.sum(guess & ~want))} it should not, rejects {int(np.sum(~guess & want))} "
                  "it should not")
        held_out = {"folders": [f.name for f in args.held_out], "sentences": len(unseen),
                    "agreement": round(float(np.mean(judged == truth)), 3),
                    "lexical_agreement": round(float(np.mean(lexical_unseen == truth)), 3),
                    "answering_agreement": round(float(np.mean(passed_unseen == answers_unseen)), 3)}
    if args.entailment:
        fit_entailment(records, x, y, folds, args)
    if args.dry_run:
        return
    data = {"features": list(COLUMNS), "mean": params[0].tolist(), "scale": params[1].tolist(),
            "coef": params[2].tolist(), "intercept": params[3], "threshold": threshold,
            "answering_threshold": answering,
            "answering_agreement": round(float(np.mean(passed == answers)), 3),
            "C": args.c, "trained_on": {"folders": [f.name for f in args.folders],
                                        "sentences": len(records)},
            "cross_validated_agreement": round(float(np.mean(predicted == labels)), 3),
            "lexical_agreement": round(float(np.mean(lexical == labels)), 3),
            **({"held_out": held_out} if held_out else {})}
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"Wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
