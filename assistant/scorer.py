"""The fitted models of the answer stage, read from package data written by ``evals/fit.py``.

- ``ranker.json``: how retrieval orders candidate passages (a logistic model over
  ``features.passage_table``: the probability that a passage holds the answer).
- ``scorer.json``: the probability that a sentence answers the question (over
  ``features.table``), with the refusal threshold and what a further quote needs; and the
  chooser, a listwise model over the same columns that orders a question's sentences (fitted to
  put a right sentence first among its rivals, where the probability is fitted one sentence at a
  time): the chooser picks the sentence, its probability decides whether to answer at all.

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


@dataclass(frozen=True)
class Scorer:
    """The sentence model and the decisions fitted with it."""

    model: LinearModel
    threshold: float  # refuse when the chosen sentence's probability is below this
    second: float  # a further quote needs at least this probability
    chooser: np.ndarray | None = None  # listwise weights over the model's standardised columns

    def score(self, candidates) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate: the probability that it answers, and the chooser's order key (higher
        first; the probability itself when no chooser was fitted)."""
        from .features import table

        matrix = table(candidates, list(self.model.features))
        probabilities = self.model.predict(matrix)
        if self.chooser is None or not len(matrix):
            return probabilities, probabilities
        return probabilities, ((matrix - self.model.mean) / self.model.scale) @ self.chooser

    @classmethod
    def from_dict(cls, data: dict) -> Scorer:
        from .features import column_names

        chooser = data.get("chooser")
        return cls(LinearModel.from_dict(data, column_names(), "scorer.json"),
                   float(data["threshold"]), float(data.get("second", data["threshold"])),
                   np.array(chooser["coef"]) if chooser else None)


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
