"""The fitted models of the answer stage, read from package data written by ``evals/fit.py``.

- ``ranker.json``: how retrieval orders candidate passages (a logistic model over
  ``features.passage_table``: the probability that a passage holds the answer).
- ``scorer.json``: the probability that a sentence answers the question (over
  ``features.table``), with the refusal threshold and what a further quote needs; and the
  chooser, a listwise model over the same columns that orders a question's sentences (fitted to
  put a right sentence first among its rivals, where the probability is fitted one sentence at a
  time): the chooser picks the sentence, its probability decides whether to answer at all.
  The refusal decision reads ``confidence``: a logistic model over the question's whole pool
  (``confidence_table``: the sentence's own probability and columns, its lead over its best
  rival in the chooser's order, the rival's probability, the pool's size), fitted on the
  chooser's cross-validated picks to give the probability that the sentence, if chosen, is a
  right answer; the refusal threshold applies to it.
  Its last column may be ``interaction``: a fitted weighting of the question's and the
  sentence's embeddings dimension by dimension (``Interaction``), what the question asks
  matched against what the sentence says beyond their plain cosine.

Every weight, standardisation and threshold is fitted; nothing here is set by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from .errors import AssistantError


@dataclass(frozen=True)
class LinearModel:
    """A logistic model over named feature columns."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def from_dict(cls, data: dict, known: list[str], name: str) -> LinearModel:
        unknown = set(data["features"]) - set(known)
        if unknown:
            raise AssistantError(f"{name} names features the code lacks: {sorted(unknown)}; "
                                 f"re-run `python evals/fit.py`.")
        return cls(tuple(data["features"]), np.array(data["mean"]), np.array(data["scale"]),
                   np.array(data["coef"]), float(data["intercept"]))

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """The probability for each row of ``matrix`` (columns in ``features`` order)."""
        if not len(matrix):
            return np.zeros(0)
        z = ((matrix - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


INTERACTION = "interaction"


@dataclass(frozen=True)
class Interaction:
    """w . ((q - mean_q) * (s - mean_s)) for question embedding q and sentence embedding s: a
    diagonal bilinear score, fitted listwise by ``evals/fit.py`` (out-of-fold for the scorer
    fitted on it)."""

    mean_q: np.ndarray
    mean_s: np.ndarray
    weights: np.ndarray

    def __call__(self, asked: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        if not len(vectors):
            return np.zeros(0)
        return (vectors - self.mean_s) @ (self.weights * (asked - self.mean_q))

    def to_dict(self) -> dict:
        return {"mean_q": self.mean_q.tolist(), "mean_s": self.mean_s.tolist(),
                "weights": self.weights.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> Interaction:
        return cls(*(np.array(data[k], dtype=np.float32) for k in ("mean_q", "mean_s", "weights")))


POOL_COLUMNS = ("log_odds", "best_probability", "share", "lead", "rival_probability",
                "pool_size")


def confidence_columns(features: list[str] | tuple[str, ...]) -> list[str]:
    """The confidence model's column names: the pool's, then the sentence model's own."""
    return [*POOL_COLUMNS, *(f"own:{n}" for n in features)]


def confidence_table(probabilities: np.ndarray, keys: np.ndarray, standardised: np.ndarray
                     ) -> np.ndarray:
    """Per candidate, as if it were the one chosen: its probability's log-odds, the pool's best
    probability, its share of the chooser's softmax, its lead in the chooser's key over its best
    rival (the best other candidate), that rival's probability, the log of the pool's size, and
    its own standardised columns."""
    n = len(probabilities)
    if not n:
        return np.zeros((0, len(POOL_COLUMNS) + standardised.shape[1]))
    p = np.clip(probabilities, 1e-6, 1 - 1e-6)
    e = np.exp(keys - keys.max())
    order = np.argsort(-keys, kind="stable")
    best, runner = order[0], order[min(1, n - 1)]
    rival = np.where(np.arange(n) == best, runner, best)
    lead = keys - keys[rival] if n > 1 else np.zeros(n)
    rival_p = p[rival] if n > 1 else np.zeros(n)
    pool = [np.log(p / (1 - p)), np.full(n, p.max()), e / e.sum(), lead, rival_p,
            np.full(n, np.log(n))]
    return np.column_stack([*pool, standardised])


@dataclass(frozen=True)
class Scored:
    """One question's candidates as the scorer sees them."""

    probability: np.ndarray  # that the sentence answers (fitted one sentence at a time)
    key: np.ndarray  # the chooser's order, higher first
    confidence: np.ndarray  # that the sentence, if chosen, is a right answer (refusal reads it)


@dataclass(frozen=True)
class Scorer:
    """The sentence model and the decisions fitted with it."""

    model: LinearModel
    threshold: float  # refuse when the chosen sentence's confidence is below this
    second: float  # a further quote needs at least this probability
    chooser: np.ndarray | None = None  # listwise weights over the model's standardised columns
    interaction: Interaction | None = None  # the ``interaction`` column, when the model has it
    confidence: LinearModel | None = None  # over ``confidence_table`` (else: the probability)

    def matrix(self, candidates) -> np.ndarray:
        """The model's columns for one question's candidates."""
        from .features import table

        names = list(self.model.features)
        if INTERACTION not in names:
            return table(candidates, names)
        if self.interaction is None:
            raise AssistantError("scorer.json names the interaction column without its weights; "
                                 "re-run `python evals/fit.py`.")
        at = names.index(INTERACTION)
        matrix = table(candidates, names[:at] + names[at + 1:])
        if not candidates:
            return np.zeros((0, len(names)))
        column = self.interaction(candidates[0].asked_vector,
                                  np.stack([c.vector for c in candidates]))
        return np.insert(matrix, at, column, axis=1)

    def score(self, candidates) -> Scored:
        """Per candidate: the probability that it answers, the chooser's order key (the
        probability itself when no chooser was fitted) and the confidence the refusal reads."""
        matrix = self.matrix(candidates)
        probabilities = self.model.predict(matrix)
        if self.chooser is None or not len(matrix):
            return Scored(probabilities, probabilities, probabilities)
        standardised = (matrix - self.model.mean) / self.model.scale
        keys = standardised @ self.chooser
        confidence = probabilities if self.confidence is None else \
            self.confidence.predict(confidence_table(probabilities, keys, standardised))
        return Scored(probabilities, keys, confidence)

    @classmethod
    def from_dict(cls, data: dict) -> Scorer:
        from .features import column_names

        chooser = data.get("chooser")
        interaction = data.get(INTERACTION)
        model = LinearModel.from_dict(data, [*column_names(), INTERACTION], "scorer.json")
        confidence = data.get("confidence")
        return cls(model, float(data["threshold"]), float(data.get("second", data["threshold"])),
                   np.array(chooser["coef"]) if chooser else None,
                   Interaction.from_dict(interaction) if interaction else None,
                   LinearModel.from_dict(confidence, confidence_columns(model.features),
                                         "scorer.json (confidence)") if confidence else None)


def _load(name: str, script: str = "evals/fit.py") -> dict:
    try:
        text = resources.files("assistant").joinpath("data", name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise AssistantError(f"No fitted weights ({name}); run `python {script}`.") from exc
    return json.loads(text)


@lru_cache(maxsize=1)
def default_ask_threshold() -> float:
    """The score a sentence needs for the model to write when the quotes would refuse
    (``assistant/data/ask.json``, fitted by ``evals/fit_ask.py``)."""
    return float(_load("ask.json", "evals/fit_ask.py")["threshold"])


@lru_cache(maxsize=1)
def default_scorer() -> Scorer:
    """The sentence scorer shipped in the package (``assistant/data/scorer.json``)."""
    return Scorer.from_dict(_load("scorer.json"))


@lru_cache(maxsize=1)
def default_ranker() -> LinearModel:
    """The passage ranker shipped in the package (``assistant/data/ranker.json``)."""
    from .features import passage_column_names

    return LinearModel.from_dict(_load("ranker.json"), passage_column_names(), "ranker.json")
