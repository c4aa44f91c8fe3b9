"""Issue 16 experiment: does a FITTED interaction of the question's and the sentence's MiniLM
embeddings add what the hand features of ``assistant/features.py`` miss?

    python evals/interaction_exp.py            # build once (cached in /tmp/h16), then every variant
    python evals/interaction_exp.py --rebuild  # re-read the questions

Each variant is one extra score per candidate sentence, fitted listwise (a conditional logit over
each answerable training question's candidates, the labels of ``evals/fit.py``):

- ``bilinear-r<k>``: s = (U^T q) . (V^T s), U and V of rank k, L2-penalised (non-convex; fixed
  random start);
- ``diag``: s = w . (q * s), one weight per embedding dimension (convex);
- ``type``: s = w_kind . s, one direction per asked answer kind of the question analysis.

``+offset`` variants are fitted as a residual: the base chooser's order key (fitted on the same
training folds) is added to the score, so the interaction only has to learn what the features
miss. The score enters the chooser as ONE extra feature column. On the training questions it is
out-of-fold (its model fitted without the question's story fold, the folds of ``fit.py``); on
dev it comes from the model fitted on all training questions. Then the same selection as
``fit.py`` (pointwise C, chooser lambda, threshold by cross-validated utility) and the figures:
cross-validated, and dev (lee_dev). The blind sets are not read here.

Measured (2026 session, issue 16; 1,151 training / 220 dev questions, 175 dev answerable):
baseline chosen-right CV 0.780 / dev 0.760 (133), utility CV 0.566 / dev 0.514, dev precision
0.798. ``diag`` (any of lambda 1e-4..1e-2): CV 0.793 / dev 0.789 (138), utility 0.580 / 0.527,
dev precision 0.817, dev right answers unchanged (0.589). Low-rank bilinear (rank 4-16) and the
per-kind direction: dev 133-138 chosen-right but utility and precision no better (often worse);
the residual (+offset) fits did no better than the plain ones.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fit as F  # noqa: E402

CACHE = Path("/tmp/h16/interact.pkl")


# ------------------------------------------------------------------ reading the questions

def build_all() -> tuple[list, list]:
    """fit.py's training and dev questions, each with its question vector ``qv``, its
    candidates' sentence (context) vectors ``S`` (the ones the cosine feature reads) and the
    asked kind."""
    settings = F.Settings(llm="none")
    dev_stories = {q.story for q in F.build_passages(F.DEV, settings)}
    passages = [q for q in F.build_passages(F.TRAIN, settings) if q.story not in dev_stories]
    F.RANKER[0], _ = F.fit_ranker(passages)
    records: list = []
    original = F.candidates

    def recording(question, language, hits, embedder, store, idf):
        found = original(question, language, hits, embedder, store, idf)
        rows = []
        for c in found:
            vectors = store.sentence_vectors(c.hit.article.id)
            rows.append(vectors[c.index] if vectors is not None and len(vectors) ==
                        len(c.hit.article.sentences) else embedder.embed([c.context])[0])
        records.append((embedder.embed_one(question.text),
                        np.array(rows, dtype=np.float32).reshape(len(rows), -1),
                        language.kind or "none"))
        return found

    F.candidates = recording
    out = []
    for files in (F.DEV, F.TRAIN):
        records.clear()
        questions = F.build(files, settings)
        for q, (qv, s, kind) in zip(questions, records, strict=True):
            q.qv, q.S, q.kind = qv, s, kind
        out.append(questions)
    F.candidates = original
    dev, train = out
    train = [q for q in train if q.story not in dev_stories]
    return train, dev


# ------------------------------------------------------------------ the interaction models

class Bilinear:
    def __init__(self, rank: int, d: int = 384):
        self.rank, self.d = rank, d

    def start(self, n_kinds: int) -> np.ndarray:
        rng = np.random.default_rng(0)
        return rng.normal(0, 1 / np.sqrt(self.d), 2 * self.d * self.rank)

    def split(self, theta):
        k = self.d * self.rank
        return theta[:k].reshape(self.d, self.rank), theta[k:].reshape(self.d, self.rank)

    def score(self, theta, qv, s, kind):
        u, v = self.split(theta)
        return (s @ v) @ (qv @ u)

    def grad(self, theta, qv, s, kind, g):
        u, v = self.split(theta)
        a, b = qv @ u, s @ v
        return np.concatenate([np.outer(qv, g @ b).ravel(), np.outer(s.T @ g, a).ravel()])


class Diagonal:
    def start(self, n_kinds: int) -> np.ndarray:
        return np.zeros(384)

    def score(self, theta, qv, s, kind):
        return s @ (theta * qv)

    def grad(self, theta, qv, s, kind, g):
        return qv * (s.T @ g)


class PerKind:
    def __init__(self, kinds: list[str]):
        self.kinds = {k: i for i, k in enumerate(kinds)}

    def start(self, n_kinds: int) -> np.ndarray:
        return np.zeros(len(self.kinds) * 384)

    def score(self, theta, qv, s, kind):
        i = self.kinds.get(kind)
        return s @ theta[i * 384:(i + 1) * 384] if i is not None else np.zeros(len(s))

    def grad(self, theta, qv, s, kind, g):
        out = np.zeros_like(theta)
        i = self.kinds.get(kind)
        if i is not None:
            out[i * 384:(i + 1) * 384] = s.T @ g
        return out


def fit_listwise(model, items: list[tuple], lam: float) -> np.ndarray:
    """items: (qv, S, kind, y, offset) of answerable questions with a right candidate."""
    def loss(theta):
        total, grad = lam * theta @ theta, 2 * lam * theta
        for qv, s, kind, y, offset in items:
            z = model.score(theta, qv, s, kind) + offset
            p = np.exp(z - z.max())
            p /= p.sum()
            right = p[y].sum()
            total -= np.log(right + 1e-12) / len(items)
            g = p.copy()
            g[y] -= p[y] / right
            grad += model.grad(theta, qv, s, kind, g) / len(items)
        return total, grad

    return minimize(loss, model.start(0), jac=True, method="L-BFGS-B",
                    options={"maxiter": 300}).x


def centred(questions, mean_q, mean_s):
    return {id(q): (q.qv - mean_q, q.S - mean_s) for q in questions}


def base_key(train: list, c: float, lam: float):
    params = F.fit(train, c)
    chooser = F.fit_chooser(train, lam, params[0], params[1])
    return lambda x: ((x - params[0]) / params[1]) @ chooser if len(x) else np.zeros(0)


def interaction(model, lam: float, offset: tuple | None):
    """trained(train questions) -> function(question) -> the score of each of its candidates."""
    def trained(train: list):
        usable = [q for q in train if q.answerable and len(q.y) and q.y.any()]
        mean_q = np.mean([q.qv for q in usable], axis=0)
        mean_s = np.mean(np.concatenate([q.S for q in usable]), axis=0)
        key = base_key(train, *offset) if offset else (lambda x: np.zeros(len(x)))
        items = [(q.qv - mean_q, q.S - mean_s, q.kind, q.y.astype(bool), key(q.x)) for q in usable]
        theta = fit_listwise(model, items, lam)
        return lambda q: model.score(theta, q.qv - mean_q, q.S - mean_s, q.kind) if len(q.x) \
            else np.zeros(0)
    return trained


def out_of_fold(questions: list, trained) -> list[np.ndarray]:
    assignment = F.folds(questions)
    out: list = [None] * len(questions)
    for k in range(F.FOLDS):
        model = trained([q for q, f in zip(questions, assignment, strict=True) if f != k])
        for i, (q, f) in enumerate(zip(questions, assignment, strict=True)):
            if f == k:
                out[i] = model(q)
    return out


# ------------------------------------------------------------------ fit.py's selection and figures

def evaluate(train: list, dev: list) -> dict:
    """fit.py's choices (C, lambda, threshold, second) by cross-validated utility, and its
    cross-validated and dev figures."""
    results = {}
    for c in F.C_GRID:
        rows = F.outcomes(train, F.cross_validate(train, c))
        results[c] = F._utility(rows, F.best_threshold(rows))
    c = max(results, key=results.get)
    chosen = {}
    for lam in F.LAMBDA_GRID:
        rows = F.outcomes(train, F.cross_validate_chooser(train, c, lam))
        t = F.best_threshold(rows)
        chosen[lam] = (F._utility(rows, t), t, rows)
    lam = max(chosen, key=lambda k: chosen[k][0])
    _, threshold, cv_rows = chosen[lam]
    second = F.best_second(cv_rows, threshold)
    params = F.fit(train, c)
    chooser = F.fit_chooser(train, lam, params[0], params[1])
    dev_rows = F.outcomes(dev, [F.choices(params, chooser, q.x) for q in dev])
    return {"C": c, "lambda": lam, "cv": F.figures(cv_rows, threshold, second),
            "dev": F.figures(dev_rows, threshold, second),
            "dev_right_first": int(sum(r[2] for r in dev_rows if r[0]))}


def with_column(questions: list, values: list[np.ndarray]) -> list:
    out = []
    for q, v in zip(questions, values, strict=True):
        x = np.column_stack([q.x, v]) if len(q.x) else np.zeros((0, q.x.shape[1] + 1))
        out.append(F.Question(q.id, q.source, q.story, q.answerable, x, q.y))
    return out


def listwise_top1(questions: list, values: list[np.ndarray]) -> float:
    usable = [(q, v) for q, v in zip(questions, values, strict=True) if q.answerable and len(q.y)]
    return sum(bool(q.y[int(np.argmax(v))]) for q, v in usable) / len(usable)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--only", default="", help="variant names separated by ;")
    args = parser.parse_args()
    if args.rebuild or not CACHE.exists():
        train, dev = build_all()
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        CACHE.write_bytes(pickle.dumps((train, dev)))
    train, dev = pickle.loads(CACHE.read_bytes())
    print(f"{len(train)} training, {len(dev)} dev questions; "
          f"dev answerable {sum(q.answerable for q in dev)}", flush=True)

    base = evaluate(train, dev)
    print(f"baseline: {base}", flush=True)
    offset = (base["C"], base["lambda"])
    kinds = sorted({q.kind for q in train})
    variants = {}
    for lam in (1e-4, 1e-3, 1e-2):
        for rank in (4, 8, 16):
            variants[f"bilinear-r{rank} l={lam}"] = (Bilinear(rank), lam, None)
            variants[f"bilinear-r{rank}+offset l={lam}"] = (Bilinear(rank), lam, offset)
        variants[f"diag l={lam}"] = (Diagonal(), lam, None)
        variants[f"diag+offset l={lam}"] = (Diagonal(), lam, offset)
        variants[f"type l={lam}"] = (PerKind(kinds), lam, None)
        variants[f"type+offset l={lam}"] = (PerKind(kinds), lam, offset)
    only = set(filter(None, args.only.split(";")))
    for name, (model, lam, off) in variants.items():
        if only and name not in only:
            continue
        trained = interaction(model, lam, off)
        oof = out_of_fold(train, trained)
        final = trained(train)
        dev_values = [final(q) for q in dev]
        result = evaluate(with_column(train, oof), with_column(dev, dev_values))
        print(f"{name}: alone top1 cv {listwise_top1(train, oof):.3f} dev "
              f"{listwise_top1(dev, dev_values):.3f} | {result}", flush=True)


if __name__ == "__main__":
    main()
