"""Fit the answer scorer: every weight and the refusal threshold, from training questions.

    python evals/fit.py                 # fit, print weights and figures, write assistant/data/*.json
    python evals/fit.py --dry-run       # the same figures, nothing written

First the passage ranker (retrieval): a logistic model over the passage features, labelled by
whether a passage holds at least half of a gold quote, its regularisation chosen by the
cross-validated hit@1; it is written to ``assistant/data/ranker.json`` and used to retrieve the
passages whose sentences the scorer is fitted on.

For every question of the training sets the assistant reads the question, retrieves its passages
and lists their sentences with the features of ``assistant/features.py`` — exactly as it does when
answering. A sentence is labelled right when it overlaps the question's gold evidence, or states a
gold answer in a gold article (the harness's definition of a precise citation). A logistic model
is fitted with cross-validation grouped by story (no story is in two folds); its regularisation
and the refusal threshold are the ones of greatest utility across the folds: +1 for a right
answer or a right refusal, -1 for a wrong citation (a wrong sentence, or an answer to an
unanswerable question), 0 for refusing an answerable one. Then the chooser: a listwise model
(a conditional logit over each question's candidates, its penalty chosen by the same
cross-validated utility) that orders the sentences; the answer is its first sentence, and the
refusal threshold applies to that sentence's probability. ``second`` is the probability a
further quote needs: the value that adds the most right citations net of wrong ones.

With ``--interaction`` the scorer gets one more column: a fitted question x sentence
interaction of the MiniLM embeddings (``scorer.Interaction``, one weight per dimension, fitted
listwise and out-of-fold by story, its penalty by out-of-fold likelihood). Measured (issue 16,
2026-12-05, extractive `assistant eval --llm none`, before -> with it): dev precision / answer
match 0.819/0.606 -> 0.833/0.611, the fit's dev chosen-right 0.760 -> 0.783; but on the blind sets
(aggregates only) answer match fell on all three (held-out 0.667 -> 0.576, fresh 0.808 -> 0.769,
blind 0.603 -> 0.524) and refusal accuracy too, so the shipped scorer is fitted without it.

With ``--confidence`` the refusal reads a second model (``scorer.confidence_table``): the
probability that the chooser's pick is a right answer, from the pick's own columns and the pool
(its softmax share and lead over its best rival, the rival's probability, the pool's size),
fitted on the chooser's out-of-fold picks; kept when its cross-validated utility beats the
pick's own probability. Measured (2026-12-05, `assistant eval --llm none`, precision / answer
match / refusal accuracy, before -> with it): dev 0.819/0.606/0.691 -> 0.831/0.623/0.705, Lee
0.876/0.759 -> 0.887/0.768; blind aggregates: held-out unchanged, fresh 0.875/0.808/0.875 ->
0.870/0.769/0.844, blind 0.787/0.603/0.700 -> 0.787/0.603/0.750; seed 0.906/0.707/0.811 ->
0.886/0.756/0.774, and "What did Campbell warn?" is refused (the pick is the wrong sentence, so
generated mode would not run). Not shipped.

Also measured and not shipped (same runs): a ``token_recall`` column, the question's content
words matched word piece by word piece in the context (BERTScore-style, the MiniLM token states of
``support.alignment``): fitted weight +0.35, dev 0.819/0.606/0.691 -> 0.821/0.640/0.714, but
held-out 0.815/0.667/0.733 -> 0.769/0.606/0.667, fresh 0.875/0.808/0.875 -> 0.913/0.808/0.844,
blind 0.787/0.603/0.700 -> 0.783/0.587/0.688; and gradient-boosted trees in place of the logistic
model (sklearn HistGradientBoosting, three settings): cross-validated utility 0.526-0.542 against
0.566. Gains of two to five dev questions have not carried to the blind sets.

Would more training questions help? ``--train-fraction F`` fits on a seeded share of the
training stories (dry run). Measured (2026-12-05; dev right answer / chosen right / precision):
0.25 of the stories (319 questions) 0.463/0.817/0.800; 0.5 (634) 0.589/0.789/0.831; 0.75 (1,151)
0.589/0.760/0.798; all 0.589/0.760/0.798. The curve is flat from half the data on: more questions
of the same kind would not move the scorer; what it can see would.

Printed: each feature's weight, the cross-validated figures, the figures on the dev stories (never
fitted on), and, for information only, the same on the blind sets (their misses are never read).
The shipped model is fitted on the training stories only, so the dev and blind figures stay
honest. `assistant eval` gives the official figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answering import candidates  # noqa: E402
from assistant.chat import Turn  # noqa: E402
from assistant.evaluation import Item, _overlaps, load_dataset, normalise, open_corpus  # noqa: E402
from assistant.features import column_names, passage_column_names, passage_table, table  # noqa: E402
from assistant.retrieval import Retriever  # noqa: E402
from assistant.scorer import (  # noqa: E402
    INTERACTION,
    Interaction,
    LinearModel,
    confidence_columns,
    confidence_table,
)
from assistant.settings import Settings  # noqa: E402

EVALS = ROOT / "evals"
CACHE = EVALS / ".cache"
OUT = ROOT / "assistant" / "data"
TRAIN = ["lee.jsonl", "seed_articles.jsonl", "lee_refusal_dev.jsonl", "lee_train.jsonl",
         "seed_train.jsonl"]
DEV = ["lee_dev.jsonl"]
BLIND = ["lee_holdout.jsonl", "lee_fresh.jsonl", "lee_blind.jsonl"]
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
LAMBDA_GRID = (0.001, 0.01, 0.1)
CONFIDENCE_C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
INTERACTION_GRID = (0.0000001, 0.000001, 0.00001, 0.0001, 0.001)
FOLDS = 5


@dataclass
class Question:
    """One question's candidates: their feature rows and labels."""

    id: str
    source: str  # dataset file
    story: str  # the article its evidence is in (grouping key)
    answerable: bool
    x: np.ndarray
    y: np.ndarray
    qv: np.ndarray | None = None  # the question's embedding
    s: np.ndarray | None = None  # each candidate's sentence (context) embedding, one row each


def story_of(items: list[Item]) -> dict[str, str]:
    """Each item's story: its first evidence article; an unanswerable question without
    evidence belongs to the story of the answerable question before it in its file (datasets
    are written story by story), else to itself."""
    out, last = {}, None
    for item in items:
        if item.evidence:
            last = item.evidence[0].article
        out[item.id] = item.evidence[0].article if item.evidence else (last or item.id)
    return out


_CORPORA: dict[str, object] = {}


def corpus_for(name: str, settings: Settings):
    """The dataset corpus's cached index, opened once; its retriever ranks with ``RANKER[0]``."""
    if name not in _CORPORA:
        corpus = open_corpus(name, settings, CACHE)
        a = corpus.assistant
        a.__dict__["retriever"] = Retriever(a.store, a.embedder, a.settings.candidates,
                                            a.settings.passage_tokens, RANKER[0])
        _CORPORA[name] = corpus
    return _CORPORA[name]


RANKER: list[LinearModel | None] = [None]  # the ranker being fitted, shared by every corpus


def build_passages(files: list[str], settings: Settings) -> list[Question]:
    """Per question: every candidate passage's features, labelled by whether it holds at least
    half of a gold quote (the harness's passage hit)."""
    out: list[Question] = []
    for name in files:
        path = EVALS / name
        if not path.exists():
            continue
        items = load_dataset(path)
        corpus = corpus_for(items[0].corpus, settings)
        stories = story_of(items)
        for item in items:
            if not item.answerable:
                continue
            gold = corpus.gold(item)
            reading = corpus.assistant.read(item.question,
                                            [Turn(t.question, t.answer) for t in item.history])
            found = corpus.assistant.retriever.candidates_for(reading.question, reading.filters,
                                                              reading.language)
            labels = [any(_overlaps(c.article.id, c.passage.start, c.passage.end, g) for g in gold)
                      for c in found]
            out.append(Question(item.id, name, f"{items[0].corpus}:{stories[item.id]}", True,
                                passage_table(found), np.array(labels, dtype=float)))
    return out


def fit_ranker(questions: list[Question]) -> tuple[LinearModel, dict]:
    """The passage ranker: the regularisation with the best cross-validated hit@1 (then MRR)."""
    def ranks(probabilities: list[np.ndarray]) -> list[int | None]:
        out = []
        for q, p in zip(questions, probabilities, strict=True):
            order = np.argsort(-p)
            out.append(next((i + 1 for i, j in enumerate(order) if q.y[j]), None))
        return out

    results = {}
    for c in C_GRID:
        found = ranks(cross_validate(questions, c))
        results[c] = (sum(r == 1 for r in found) / len(found),
                      sum(1 / r for r in found if r) / len(found))
        print(f"  ranker C={c}: cross-validated hit@1 {results[c][0]:.3f}, MRR {results[c][1]:.3f}")
    c = max(results, key=lambda k: results[k])
    mean, scale, coef, intercept = fit(questions, c)
    names = passage_column_names()
    print(f"Ranker weights (C={c}):")
    for name, w in sorted(zip(names, coef, strict=True), key=lambda p: -abs(p[1])):
        print(f"  {name:28s} {w:+.3f}")
    model = LinearModel(tuple(names), mean, scale, coef, intercept)
    return model, {"C": c, "hit@1": round(results[c][0], 3), "mrr": round(results[c][1], 3)}


def build(files: list[str], settings: Settings) -> list[Question]:
    out: list[Question] = []
    for name in files:
        path = EVALS / name
        if not path.exists():
            continue
        items = load_dataset(path)
        corpus = corpus_for(items[0].corpus, settings)
        corpus.assistant.retriever.ranker = RANKER[0]
        assistant = corpus.assistant
        stories = story_of(items)
        started = time.perf_counter()
        for item in items:
            gold = corpus.gold(item)
            reading = assistant.read(item.question, [Turn(t.question, t.answer) for t in item.history])
            hits = assistant.passages(reading)
            found = candidates(reading.question, reading.language, hits, assistant.embedder,
                               assistant.store, assistant.retriever.idf(reading.question.key_terms))
            labels = [_right(item, gold, c) for c in found]
            out.append(Question(item.id, name, f"{items[0].corpus}:{stories[item.id]}",
                                item.answerable, table(found), np.array(labels, dtype=float),
                                found[0].asked_vector if found else None,
                                np.stack([c.vector for c in found]) if found else None))
        print(f"  {name}: {len(items)} questions, {time.perf_counter() - started:.0f} s", flush=True)
    return out


def _right(item: Item, gold, candidate) -> bool:
    if not item.answerable:
        return False
    article = candidate.hit.article
    s = candidate.sentence
    if any(_overlaps(article.id, s.start, s.end, g, share=0) for g in gold):
        return True
    return article.id in {g.article for g in gold} and any(
        normalise(a) in normalise(candidate.text) for a in item.answers)


def stack(questions: list[Question]) -> tuple[np.ndarray, np.ndarray]:
    xs = [q.x for q in questions if len(q.x)]
    ys = [q.y for q in questions if len(q.y)]
    return np.concatenate(xs), np.concatenate(ys)


def fit(questions: list[Question], c: float):
    return fit_xy(*stack(questions), c)


def fit_xy(x: np.ndarray, y: np.ndarray, c: float):
    """A standardised logistic model: (mean, scale, coef, intercept)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, y)
    return mean, scale, model.coef_[0], float(model.intercept_[0])


def predict(params, x: np.ndarray) -> np.ndarray:
    mean, scale, coef, intercept = params
    if not len(x):
        return np.zeros(0)
    return 1 / (1 + np.exp(-(((x - mean) / scale) @ coef + intercept)))


def fit_chooser(questions: list[Question], lam: float, mean: np.ndarray, scale: np.ndarray
                ) -> np.ndarray:
    """The listwise chooser: weights w over the standardised columns such that, within each
    answerable question, softmax(x @ w) puts its mass on the right sentences (a conditional
    logit; L2 penalty ``lam``), so a sentence is judged against its rivals, not alone."""
    usable = [q for q in questions if q.answerable and len(q.y) and q.y.any()]
    return conditional_logit([(q.x - mean) / scale for q in usable],
                             [q.y.astype(bool) for q in usable], lam, scale.shape[0])


def conditional_logit(xs: list[np.ndarray], ys: list[np.ndarray], lam: float, width: int,
                      maxiter: int | None = None) -> np.ndarray:
    """Weights w such that, within each group (one question's rows ``x``), softmax(x @ w) puts
    its mass on the rows marked in ``y``; L2 penalty ``lam``."""
    from scipy.optimize import minimize

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = lam * (w @ w), 2 * lam * w
        for x, y in zip(xs, ys, strict=True):
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            right = p[y].sum()
            total -= np.log(right + 1e-12) / len(xs)
            grad += (p @ x - (p[y] / right) @ x[y]) / len(xs)
        return total, grad

    return minimize(loss, np.zeros(width), jac=True, method="L-BFGS-B",
                    options={"maxiter": maxiter} if maxiter else None).x


def choices(params, chooser: np.ndarray, x: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probability, chooser order key, the confidence model's input table) per candidate, as
    ``Scorer.score`` computes them."""
    if not len(x):
        return np.zeros(0), np.zeros(0), confidence_table(np.zeros(0), np.zeros(0), x)
    standardised = (x - params[0]) / params[1]
    p, key = predict(params, x), standardised @ chooser
    return p, key, confidence_table(p, key, standardised)


def confidence_examples(questions: list[Question], outputs: list[tuple]
                        ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """What the confidence model is fitted on: per question with candidates, the chooser's
    pick's row of ``confidence_table`` and whether it is a right answer (never, for an
    unanswerable question); and the questions' indexes."""
    rows, labels, at = [], [], []
    for i, (q, (p, key, inputs)) in enumerate(zip(questions, outputs, strict=True)):
        if len(p):
            first = int(np.argmax(key))
            rows.append(inputs[first])
            labels.append(float(q.answerable and q.y[first]))
            at.append(i)
    return np.array(rows), np.array(labels), at


def cross_validate_confidence(questions: list[Question], outputs: list[tuple], c: float
                              ) -> list[np.ndarray]:
    """Out-of-fold confidences (folds by story) from the chooser's out-of-fold outputs."""
    assignment = folds(questions)
    x, y, at = confidence_examples(questions, outputs)
    fold = np.array([assignment[i] for i in at])
    out = [np.zeros(len(o[0])) for o in outputs]
    for k in range(FOLDS):
        params = fit_xy(x[fold != k], y[fold != k], c)
        for i, o in enumerate(outputs):
            if assignment[i] == k and len(o[0]):
                out[i] = predict(params, o[2])
    return out


def cross_validate_chooser(questions: list[Question], c: float, lam: float) -> list[tuple]:
    def trained(train: list[Question]):
        params = fit(train, c)
        chooser = fit_chooser(train, lam, params[0], params[1])
        return lambda x: choices(params, chooser, x)

    return out_of_fold(questions, trained)


def outcomes(questions: list[Question], probabilities: list,
             confidence: list[np.ndarray] | None = None) -> list[tuple]:
    """Per question: (answerable, chosen confidence, chosen is right, next probability, next
    is right). ``probabilities`` per question: the probabilities (chosen = the most probable)
    or ``choices`` (chosen = the chooser's first). The chosen one's confidence is its
    probability, or its entry in ``confidence`` when given."""
    rows = []
    for i, (q, p) in enumerate(zip(questions, probabilities, strict=True)):
        p, key = p[:2] if isinstance(p, tuple) else (p, p)
        sure = confidence[i] if confidence is not None else p
        order = np.argsort(-key, kind="stable") if len(p) else []
        best = (sure[order[0]], bool(q.y[order[0]])) if len(p) else (0.0, False)
        second = (p[order[1]], bool(q.y[order[1]])) if len(p) > 1 else (0.0, False)
        rows.append((q.answerable, *best, *second))
    return rows


def figures(rows: list[tuple], threshold: float, second: float | None = None) -> dict:
    """What the eval harness would roughly show with this threshold: right answers among the
    answerable, citation precision (first and second quotes), refusal accuracy."""
    answerable = [r for r in rows if r[0]]
    unanswerable = [r for r in rows if not r[0]]
    answered = [r for r in rows if r[1] >= threshold]
    right = sum(1 for r in answerable if r[1] >= threshold and r[2])
    cited = len(answered)
    precise = sum(1 for r in answered if r[2])
    if second is not None:
        extra = [r for r in answered if r[3] >= second]
        cited += len(extra)
        precise += sum(1 for r in extra if r[4])
    refusal = [(r[1] < threshold) == (not r[0]) for r in rows]
    return {
        "questions": len(rows),
        "right_answer": round(right / len(answerable), 3) if answerable else None,
        "best_is_right": round(sum(r[2] for r in answerable) / len(answerable), 3) if answerable else None,
        "citation_precision": round(precise / cited, 3) if cited else None,
        "refusal_accuracy": round(sum(refusal) / len(rows), 3) if rows else None,
        "unanswerable_refused": round(sum(r[1] < threshold for r in unanswerable) / len(unanswerable), 3)
        if unanswerable else None,
        "accuracy": round(_accuracy(rows, threshold), 3),
        "utility": round(_utility(rows, threshold), 3),
    }


def _accuracy(rows: list[tuple], threshold: float) -> float:
    good = sum((r[1] >= threshold and r[2]) if r[0] else r[1] < threshold for r in rows)
    return good / len(rows) if rows else 0.0


def _utility(rows: list[tuple], threshold: float) -> float:
    """What a reader gets, per question: +1 for a right answer or a right refusal, -1 for a
    wrong citation (a wrong sentence, or any answer to an unanswerable question), 0 for
    refusing an answerable one. A wrong quote costs as much as a right one gains."""
    total = 0
    for answerable, p, right, *_ in rows:
        if p >= threshold:
            total += 1 if (answerable and right) else -1
        elif not answerable:
            total += 1
    return total / len(rows) if rows else 0.0


def best_threshold(rows: list[tuple]) -> float:
    """The refusal threshold of the greatest utility (ties: the middle of the best range, so the
    choice does not sit on one question's edge)."""
    grid = np.round(np.arange(0.02, 0.98, 0.01), 2)
    scores = np.array([_utility(rows, t) for t in grid])
    best = np.flatnonzero(scores >= scores.max() - 1e-9)
    return float(grid[best[len(best) // 2]])


def best_second(rows: list[tuple], threshold: float) -> float:
    """The probability a further quote needs: most right citations net of wrong ones."""
    answered = [r for r in rows if r[1] >= threshold]
    grid = np.round(np.arange(threshold, 1.0, 0.01), 2)
    gains = [sum((1 if r[4] else -1) for r in answered if r[3] >= t) for t in grid]
    return float(grid[int(np.argmax(gains))]) if len(grid) else threshold


def folds(questions: list[Question]) -> list[int]:
    """A fold per story, stories spread evenly (deterministic)."""
    stories = sorted({q.story for q in questions})
    fold_of = {s: i % FOLDS for i, s in enumerate(sorted(stories, key=lambda s: hash_of(s)))}
    return [fold_of[q.story] for q in questions]


def hash_of(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def out_of_fold(questions: list[Question], trained) -> list:
    """Each question's prediction by the model ``trained(questions of the other folds)``
    returns (a function of the question's feature rows)."""
    assignment = folds(questions)
    out: list = [None] * len(questions)
    for k in range(FOLDS):
        model = trained([q for q, f in zip(questions, assignment, strict=True) if f != k])
        for i, (q, f) in enumerate(zip(questions, assignment, strict=True)):
            if f == k:
                out[i] = model(q.x)
    return out


def cross_validate(questions: list[Question], c: float) -> list[np.ndarray]:
    def trained(train: list[Question]):
        params = fit(train, c)
        return lambda x: predict(params, x)

    return out_of_fold(questions, trained)


def fit_interaction(questions: list[Question], lam: float) -> Interaction:
    """The question x sentence interaction: one weight per embedding dimension, fitted like the
    chooser (a conditional logit over each answerable question's candidates, L2 penalty
    ``lam``) on the products of the centred embeddings, (s - mean_s) * (q - mean_q)."""
    usable = [q for q in questions if q.answerable and len(q.y) and q.y.any()]
    mean_q = np.mean([q.qv for q in usable], axis=0)
    mean_s = np.mean(np.concatenate([q.s for q in usable]), axis=0)
    w = conditional_logit([(q.s - mean_s) * (q.qv - mean_q) for q in usable],
                          [q.y.astype(bool) for q in usable], lam, len(mean_q), maxiter=300)
    return Interaction(mean_q, mean_s, w)


def interaction_values(interaction: Interaction, q: Question) -> np.ndarray:
    return interaction(q.qv, q.s) if len(q.x) else np.zeros(0)


def choose_interaction(questions: list[Question]) -> tuple[Interaction, float, list[np.ndarray]]:
    """The interaction's penalty by the out-of-fold log-likelihood of the right sentences, the
    model fitted on every question with it, and each question's OUT-OF-FOLD column (what the
    scorer is fitted on, so it learns how far to trust the interaction on unseen stories)."""
    assignment = folds(questions)
    best = None
    for lam in INTERACTION_GRID:
        values: list = [None] * len(questions)
        for k in range(FOLDS):
            model = fit_interaction([q for q, f in zip(questions, assignment, strict=True)
                                     if f != k], lam)
            for i, (q, f) in enumerate(zip(questions, assignment, strict=True)):
                if f == k:
                    values[i] = interaction_values(model, q)
        likelihood = np.mean([np.log(np.exp(v - v.max())[q.y.astype(bool)].sum()
                                     / np.exp(v - v.max()).sum())
                              for q, v in zip(questions, values, strict=True)
                              if q.answerable and len(q.y) and q.y.any()])
        print(f"  interaction lambda={lam}: out-of-fold log-likelihood of the right sentences "
              f"{likelihood:.3f}")
        if best is None or likelihood > best[0]:
            best = (likelihood, lam, values)
    _, lam, values = best
    return fit_interaction(questions, lam), lam, values


def with_column(q: Question, values: np.ndarray) -> None:
    q.x = np.column_stack([q.x, values]) if len(q.x) else np.zeros((0, q.x.shape[1] + 1))


def _print_misses(questions: list[Question], rows: list[tuple], threshold: float, n: int) -> None:
    """Training questions the cross-validated model gets wrong (never the dev or blind sets)."""
    shown = 0
    for q, r in zip(questions, rows, strict=True):
        wrong = (r[0] and not (r[1] >= threshold and r[2])) or (not r[0] and r[1] >= threshold)
        if wrong and shown < n:
            print(f"  miss {q.source}:{q.id} answerable={q.answerable} best p={r[1]:.2f} right={r[2]}")
            shown += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--drop", default="", help="comma-separated features to leave out (ablation)")
    parser.add_argument("--confidence", action="store_true",
                        help="fit the refusal's confidence model (measured, not shipped: see "
                             "the module's docstring)")
    parser.add_argument("--interaction", action="store_true",
                        help="add the question x sentence interaction column (measured, not "
                             "shipped: see the module's docstring)")
    parser.add_argument("--misses", type=int, default=0,
                        help="print this many cross-validated misses of the TRAINING questions")
    parser.add_argument("--blind", action="store_true",
                        help="also print the blind sets' aggregate figures (never used to choose)")
    parser.add_argument("--train-fraction", type=float, default=1.0,
                        help="fit on this seeded share of the training stories (a learning curve: "
                             "would more questions help?); implies --dry-run")
    args = parser.parse_args()
    settings = Settings(llm="none")
    print("Passages: reading the training questions ...", flush=True)
    dev_stories = {q.story for q in build_passages(DEV, settings)}
    passages = [q for q in build_passages(TRAIN, settings) if q.story not in dev_stories]
    print(f"{len(passages)} answerable training questions")
    RANKER[0], ranker_cv = fit_ranker(passages)
    print("Sentences: reading the training questions ...", flush=True)
    dev = build(DEV, settings)
    train = [q for q in build(TRAIN, settings) if q.story not in dev_stories]
    if args.train_fraction < 1:
        args.dry_run = True
        stories = sorted({q.story for q in train})
        np.random.default_rng(0).shuffle(stories)
        kept = set(stories[:round(len(stories) * args.train_fraction)])
        train = [q for q in train if q.story in kept]
    names = column_names()
    keep = [i for i, n in enumerate(names) if n not in set(filter(None, args.drop.split(",")))]
    names = [names[i] for i in keep]
    for q in [*train, *dev]:
        q.x = q.x[:, keep] if len(q.x) else np.zeros((0, len(keep)))
    print(f"{len(train)} training questions ({len({q.story for q in train})} stories), "
          f"{len(dev)} dev questions ({len(dev_stories)} stories)")
    interaction = None
    if args.interaction:
        interaction, interaction_lambda, values = choose_interaction(train)
        for q, v in zip(train, values, strict=True):
            with_column(q, v)
        for q in dev:
            with_column(q, interaction_values(interaction, q))
        names.append(INTERACTION)

    results = {}
    for c in C_GRID:
        rows = outcomes(train, cross_validate(train, c))
        t = best_threshold(rows)
        results[c] = (_utility(rows, t), t, rows)
        print(f"  C={c}: cross-validated utility {results[c][0]:.3f} at threshold {t}")
    c = max(results, key=lambda k: results[k][0])
    print(f"  pointwise only: cross-validated {json.dumps(figures(results[c][2], results[c][1]))}")
    chosen = {}
    for lam in LAMBDA_GRID:
        outputs = cross_validate_chooser(train, c, lam)
        rows = outcomes(train, outputs)
        t = best_threshold(rows)
        chosen[lam] = (_utility(rows, t), t, rows, outputs)
        print(f"  chooser lambda={lam}: chosen sentence right for "
              f"{figures(rows, t)['best_is_right']} of answerable; utility {chosen[lam][0]:.3f} "
              f"at threshold {t}")
    lam = max(chosen, key=lambda k: chosen[k][0])
    utility, threshold, cv_rows, cv_outputs = chosen[lam]
    # the refusal's confidence model, on the chooser's out-of-fold picks; kept only if its
    # cross-validated utility beats the chosen sentence's own probability
    confidence, confidence_c = None, None
    if args.confidence:
        for cc in CONFIDENCE_C_GRID:
            rows = outcomes(train, cv_outputs, cross_validate_confidence(train, cv_outputs, cc))
            t = best_threshold(rows)
            print(f"  confidence C={cc}: cross-validated utility {_utility(rows, t):.3f} at "
                  f"threshold {t}")
            if _utility(rows, t) > utility:
                utility, threshold, cv_rows, confidence_c = _utility(rows, t), t, rows, cc
    if confidence_c is not None:
        x, y, _ = confidence_examples(train, cv_outputs)
        confidence = fit_xy(x, y, confidence_c)
    second = best_second(cv_rows, threshold)
    params = fit(train, c)
    chooser = fit_chooser(train, lam, params[0], params[1])

    def decided(questions: list[Question]) -> list[tuple]:
        outputs = [choices(params, chooser, q.x) for q in questions]
        sure = [predict(confidence, o[2]) if len(o[0]) else o[0] for o in outputs] \
            if confidence is not None else None
        return outcomes(questions, outputs, sure)

    print(f"\nWeights (C={c}; per standard deviation of each feature):")
    for name, w in sorted(zip(names, params[2], strict=True), key=lambda p: -abs(p[1])):
        print(f"  {name:28s} {w:+.3f}")
    print(f"  {'(intercept)':28s} {params[3]:+.3f}")
    print(f"Chooser weights (lambda={lam}):")
    for name, w in sorted(zip(names, chooser, strict=True), key=lambda p: -abs(p[1])):
        print(f"  {name:28s} {w:+.3f}")
    if confidence is not None:
        print(f"Confidence weights (C={confidence_c}):")
        for name, w in sorted(zip(confidence_columns(names), confidence[2], strict=True),
                              key=lambda p: -abs(p[1]))[:20]:
            print(f"  {name:28s} {w:+.3f}")
    print(f"threshold {threshold}, second quote {second}")

    if args.misses:
        _print_misses(train, cv_rows, threshold, args.misses)
    report = {"ranker_cross_validated": ranker_cv, "cross_validated": figures(cv_rows, threshold, second)}
    if dev:
        report["dev"] = figures(decided(dev), threshold, second)
    for name in BLIND if args.blind else []:
        blind = build([name], settings)
        for q in blind:
            q.x = q.x[:, keep] if len(q.x) else np.zeros((0, len(keep)))
            if interaction is not None:
                with_column(q, interaction_values(interaction, q))
        if blind:
            report[name] = figures(decided(blind), threshold, second)
    print("\nFigures (first quote; right_answer = best sentence right and not refused):")
    for key, value in report.items():
        print(f"  {key:22s} {json.dumps(value)}")

    if args.dry_run:
        return
    data = {
        "features": names, "mean": params[0].tolist(), "scale": params[1].tolist(),
        "coef": params[2].tolist(), "intercept": params[3], "threshold": threshold,
        "second": second, "C": c,
        "chooser": {"coef": chooser.tolist(), "lambda": lam},
        **({"confidence": {"features": confidence_columns(names), "mean": confidence[0].tolist(),
                           "scale": confidence[1].tolist(), "coef": confidence[2].tolist(),
                           "intercept": confidence[3], "C": confidence_c}}
           if confidence is not None else {}),
        **({INTERACTION: {**interaction.to_dict(), "lambda": interaction_lambda}}
           if interaction is not None else {}),
        "trained_on": {"files": TRAIN, "questions": len(train),
                       "stories": len({q.story for q in train})},
        "figures": report,
    }
    ranker = RANKER[0]
    ranker_data = {"features": list(ranker.features), "mean": ranker.mean.tolist(),
                   "scale": ranker.scale.tolist(), "coef": ranker.coef.tolist(),
                   "intercept": ranker.intercept, **ranker_cv,
                   "trained_on": {"files": TRAIN, "questions": len(passages)}}
    args.out.mkdir(parents=True, exist_ok=True)
    for name, content in (("ranker.json", ranker_data), ("scorer.json", data)):
        (args.out / name).write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
        print(f"Wrote {(args.out / name).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
