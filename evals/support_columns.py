"""Candidate columns for the support judge, measured before one is shipped (issue 17).

    python evals/support_columns.py                  # token alignment, lemma coverage
    python evals/support_columns.py --entailment     # and the local LLM's log-odds of yes (slow: cached)

For every labelled sentence (``evals/support/batch*``) the shipped columns (``support.row``) and
the candidates below are computed once; each variant (the shipped columns plus some candidates)
is then cross-validated by story on the training batches exactly as ``fit_support.py`` does, and
fitted on all of them for the held-out batch's AGGREGATE figures (batch4b is blind: no
per-sentence output for it is printed or kept here). Candidates:

- ``token_recall`` / ``token_precision``: BERTScore-style alignment of the claim's word pieces
  with the cited source sentence's, read by the bundled MiniLM in context (``support.alignment``);
  ``window_recall``: the same recall against the whole source the model saw, headline included;
- ``lemma_covered``: share of the claim's content lemmas (spaCy) among the source window's;
- ``entailment``: the local LLM's log-odds of "yes" to "does the excerpt state what the sentence
  says?" (``support.entailment``, ``prompts/entailment.txt``), the excerpt passed as data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "evals"))

from fit import fit, predict  # noqa: E402
from fit_support import (  # noqa: E402
    EVALS,
    _assistant,
    _Set,
    best_threshold,
    cross_validated,
    describe,
    entailments,
    load,
    story_folds,
    texts,
)

from assistant.settings import Settings  # noqa: E402
from assistant.support import COLUMNS, alignment  # noqa: E402

HELD_OUT = ("batch4b",)


def lemmas(text: str) -> set[str]:
    from assistant.language import parse

    return {t.lemma_.lower() for t in parse(text) if not (t.is_stop or t.is_punct or t.is_space)}


def candidates(records: list[dict], settings: Settings) -> dict[str, np.ndarray]:
    embedder = _assistant(records[0]["dataset"], settings).embedder
    out: dict[str, list[float]] = {k: [] for k in
                                   ("token_recall", "token_precision", "window_recall", "lemma_covered")}
    for r in records:
        claim, (sentence, window) = r["claim"], texts(r, settings)
        claim_states, window_states = embedder.token_states([claim, window])
        at = window.find(sentence)
        if at < 0:
            sentence_states = embedder.token_states([sentence])[0]
            recall, precision = alignment(claim, claim_states, sentence_states)
        else:
            recall, precision = alignment(claim, claim_states, window_states, at, at + len(sentence))
        out["token_recall"].append(recall)
        out["token_precision"].append(precision)
        out["window_recall"].append(alignment(claim, claim_states, window_states)[0])
        words = lemmas(claim)
        out["lemma_covered"].append(len(words & lemmas(window)) / len(words) if words else 0.0)
    return {k: np.array(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--entailment", action="store_true")
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--held-out", nargs="+", default=list(HELD_OUT), metavar="BATCH",
                        help="batches fitted on by no variant (default: the blind batch4b)")
    args = parser.parse_args()
    settings = Settings(llm="none")
    records = load(sorted((EVALS / "support").glob("batch*")))
    base = describe(records, settings)
    extra = candidates(records, settings)
    if args.entailment:
        extra["entailment"] = entailments(records, settings)
    # the blind batch is never fitted on, whatever else is held out
    held = np.array([r["batch"] in {*args.held_out, *HELD_OUT} for r in records])
    y = np.array([r["label"] for r in records], dtype=float)
    train = ~held
    folds = story_folds([r for r, h in zip(records, held, strict=True) if not h])
    variants = [()] + [(k,) for k in extra] + [
        ("token_recall", "token_precision"), ("token_recall", "window_recall"),
        ("token_recall", "token_precision", "window_recall"),
        ("token_recall", "lemma_covered"), ("token_recall", "token_precision", "lemma_covered")]
    if "entailment" in extra:
        variants += [("token_recall", "entailment"), ("token_recall", "token_precision", "entailment")]
    labels = y[train].astype(bool)
    truth = y[held].astype(bool)
    print(f"{int(train.sum())} training labels ({int(labels.sum())} supported), "
          f"{int(held.sum())} held out {args.held_out} ({int(truth.sum())} supported)")
    # one column group per held-out set: the blind batch's aggregates apart from the others'
    batches = np.array([r["batch"] for r in records])[held]
    blind = np.isin(batches, HELD_OUT)
    groups = [g for g in (blind, ~blind) if g.any()]
    heads = [("blind" if g is blind else "held") for g in groups]
    print(f"{'added columns':48s} {'CV agr':>6s} {'FA':>3s} {'FR':>3s}"
          + "".join(f" | {h:>5s} {'FA':>3s} {'FR':>3s}" for h in heads))
    for added in variants:
        x = np.column_stack([base] + [extra[k] for k in added]) if added else base
        guess = cross_validated(x[train], y[train], folds, args.c)
        params = fit([_Set(x[train], y[train])], args.c)
        t = best_threshold(predict(params, x[train]), labels)
        judged = predict(params, x[held]) >= t
        name = "+".join(added) or "(shipped: " + ",".join(COLUMNS) + ")"
        parts = [f"{name[:48]:48s} {np.mean(guess == labels):6.3f} {int(np.sum(guess & ~labels)):3d} "
                 f"{int(np.sum(~guess & labels)):3d}"]
        for group in groups:
            j, tr = judged[group], truth[group]
            parts.append(f"{np.mean(j == tr):5.3f} {int(np.sum(j & ~tr)):3d} {int(np.sum(~j & tr)):3d}")
        print(" | ".join(parts) + f"  t={t}")


if __name__ == "__main__":
    main()
