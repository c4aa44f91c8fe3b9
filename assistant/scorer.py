"""The fitted answer scorer: the probability that a candidate sentence answers the question.

A logistic model over ``features.table``: its weights, the standardisation of each feature and
the refusal threshold are fitted by ``evals/fit.py`` and read from ``assistant/data/scorer.json``.
Nothing here is set by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from .errors import AssistantError
from .features import Candidate, column_names, table

WEIGHTS = "scorer.json"


@dataclass(frozen=True)
class Scorer:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float  # refuse when the best candidate's probability is below this
    second: float  # a further quote needs at least this probability

    @classmethod
    def from_dict(cls, data: dict) -> Scorer:
        unknown = set(data["features"]) - set(column_names())
        if unknown:
            raise AssistantError(f"{WEIGHTS} names features the code lacks: {sorted(unknown)}; "
                                 f"re-run `python evals/fit.py`.")
        return cls(tuple(data["features"]), np.array(data["mean"]), np.array(data["scale"]),
                   np.array(data["coef"]), float(data["intercept"]), float(data["threshold"]),
                   float(data.get("second", data["threshold"])))

    def probabilities(self, candidates: list[Candidate]) -> np.ndarray:
        if not candidates:
            return np.zeros(0)
        return self.predict(table(candidates, list(self.features)))

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        z = ((matrix - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


@lru_cache(maxsize=1)
def default_scorer() -> Scorer:
    """The weights shipped in the package (``assistant/data/scorer.json``)."""
    try:
        text = resources.files("assistant").joinpath("data", WEIGHTS).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise AssistantError(f"No fitted weights ({WEIGHTS}); run `python evals/fit.py`.") from exc
    return Scorer.from_dict(json.loads(text))
