"""The fitted models of the answer stage, read from package data written by ``evals/fit.py``.

- ``ranker.json``: how retrieval orders candidate passages (a logistic model over
  ``features.passage_table``: the probability that a passage holds the answer).
- ``scorer.json``: the probability that a sentence answers the question (over
  ``features.table``), with the refusal threshold and what a further quote needs; and the
  chooser, a listwise model over the same columns that orders a question's sentences (fitted to
  put a right sentence first among its rivals, where the probability is fitted one sentence at a
  time): the chooser picks the sentence, its probability decides whether to answer at all.
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


@dataclass(frozen=True)
class Scorer:
    """The sentence model and the decisions fitted with it."""

    model: LinearModel
    threshold: float  # refuse when the chosen sentence's probability is below this
    second: float  # a further quote needs at least this probability
    chooser: np.ndarray | None = None  # listwise weights over the model's standardised columns
    interaction: Interaction | None = None  # the ``interaction`` column, when the model has it

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

    def score(self, candidates) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate: the probability that it answers, and the chooser's order key (higher
        first; the probability itself when no chooser was fitted)."""
        matrix = self.matrix(candidates)
        probabilities = self.model.predict(matrix)
        if self.chooser is None or not len(matrix):
            return probabilities, probabilities
        return probabilities, ((matrix - self.model.mean) / self.model.scale) @ self.chooser

    @classmethod
    def from_dict(cls, data: dict) -> Scorer:
        from .features import column_names

        chooser = data.get("chooser")
        interaction = data.get(INTERACTION)
        return cls(LinearModel.from_dict(data, [*column_names(), INTERACTION], "scorer.json"),
                   float(data["threshold"]), float(data.get("second", data["threshold"])),
                   np.array(chooser["coef"]) if chooser else None,
                   Interaction.from_dict(interaction) if interaction else None)


def _load(name: str) -> dict:
    try:
        text = resources.files("assistant").joinpath("data", name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise AssistantError(f"No fitted weights ({name}); run `python evals/fit.py`.") from exc
    return json.loads(text)


@lru_cache(maxsize=1)
def default_scorer() -> Scorer:
    """The sentence scorer shipped in the package (``assistant/data/scorer.json``)."""
    return Scorer.from_dict(_load("scorer.json"))


@lru_cache(maxsize=1)
def default_ranker() -> LinearModel:
    """The passage ranker shipped in the package (``assistant/data/ranker.json``)."""
    from .features import passage_column_names

    return LinearModel.from_dict(_load("ranker.json"), passage_column_names(), "ranker.json")
