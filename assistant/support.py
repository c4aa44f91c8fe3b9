"""Does a source sentence support a generated sentence? A fitted judge, not a word-count rule.

The verifier (``generate.verify``) asks, for every sentence the model wrote and every source
sentence it was shown, how likely the source states what the sentence claims. The probability
comes from a logistic model over the columns below, fitted on hand-labelled generated sentences
by ``evals/fit_support.py`` (cross-validated by story; the threshold is the one that agrees most
with the labels) and shipped as ``assistant/data/support.json``:

- ``covered``: share of the claim's content words in the source and its headline (what the
  model saw); ``own``: share in the source sentence alone;
- ``cosine``: the embedding model's similarity of claim and source sentence (a paraphrase keeps
  it high where word overlap drops);
- ``new_quantity`` / ``new_name``: a number, date or amount, or a name, that the entity
  recogniser finds in the claim and the source does not contain (an added or changed fact);
- ``claim_words``: how long the claim is (log of its content words).

Measured and not shipped: ``entailment`` below, the local LLM's log-odds of "yes" to "does the
excerpt state what the sentence says?" (``prompts/entailment.txt``, the excerpt passed as data),
as a seventh column (``evals/fit_support.py --entailment``): it keeps a few more generated
answers at one more LLM call per sentence and a slower first token (evals/support/README.md).

The verbatim check of quoted words stays apart and exactly as strict (``generate.verify``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .language import NUMERIC_LABELS
from .scorer import LinearModel, _load
from .terms import terms

COLUMNS = ("covered", "own", "cosine", "new_quantity", "new_name", "claim_words")
ENTAILMENT = "entailment"
_NAMES = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "PRODUCT", "LAW",
                    "WORK_OF_ART"})


def _flat(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("‘", "'").lower().split())


@lru_cache(maxsize=1024)
def claim_entities(claim: str) -> tuple[tuple[str, str], ...]:
    """(text, label) of the entities spaCy finds in a generated sentence."""
    from .language import parse

    return tuple((e.text, e.label_) for e in parse(claim).ents)


def _missing(entity: str, label: str, window: str) -> bool:
    """The entity is not in the source: for a quantity, a number in it is not there."""
    flat = _flat(entity)
    if flat in window:
        return False
    if label in NUMERIC_LABELS:
        digits = re.findall(r"\d[\d,.]*", entity)
        return any(d.rstrip(".,") not in window for d in digits) if digits else True
    # a name may be shortened in the source ("Kurt Campbell" -> "Campbell")
    return not any(part in window for part in flat.split() if len(part) > 2)


@lru_cache(maxsize=1024)
def content_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Character spans of the content words spaCy finds in ``text`` (not stop words, punctuation
    or space): what a claim asserts, for token alignment."""
    from .language import parse

    return tuple((t.idx, t.idx + len(t.text)) for t in parse(text)
                 if not (t.is_stop or t.is_punct or t.is_space))


def _inside(offsets: np.ndarray, spans) -> np.ndarray:
    """Which word pieces (rows of ``offsets``) lie inside one of ``spans``."""
    keep = np.zeros(len(offsets), dtype=bool)
    for start, end in spans:
        keep |= (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
    return keep


def alignment(claim: str, claim_states: tuple[np.ndarray, np.ndarray],
              source_states: tuple[np.ndarray, np.ndarray], start: int = 0, end: int | None = None
              ) -> tuple[float, float]:
    """BERTScore-style alignment of a claim with the source text's word pieces between ``start``
    and ``end`` (character offsets into the text the states were read from): recall, the mean
    over the claim's content-word pieces of their best cosine with a source piece (is every
    word of the claim somewhere in the source, in some wording?), and precision, the mean over
    the source pieces of their best cosine with a claim piece."""
    vectors, offsets = claim_states
    source, at = source_states
    if len(at):
        inside = (at[:, 0] >= start) & (at[:, 1] <= (end if end is not None else at[:, 1].max()))
        source = source[inside]
    content = vectors[_inside(offsets, content_spans(claim))] if len(offsets) else vectors
    if not len(content):
        content = vectors
    if not len(content) or not len(source):
        return 0.0, 0.0
    recall = float((content @ source.T).max(axis=1).mean())
    precision = float((vectors @ source.T).max(axis=0).mean()) if len(vectors) else 0.0
    return recall, precision


def row(claim: str, sentence: str, window: str, cosine: float) -> list[float]:
    """The judge's columns for one (claim, source sentence) pair; ``window`` is the source text
    the model saw with its headline."""
    words = terms(claim)
    flat_window = _flat(window)
    entities = claim_entities(claim)
    return [
        len(words & terms(window)) / len(words) if words else 0.0,
        len(words & terms(sentence)) / len(words) if words else 0.0,
        cosine,
        float(any(_missing(t, label, flat_window) for t, label in entities if label in NUMERIC_LABELS)),
        float(any(_missing(t, label, flat_window) for t, label in entities if label in _NAMES)),
        math.log1p(len(words)),
    ]


def entailment(llm, window: str, claim: str) -> float:
    """The LLM's log-odds that ``window`` (the source the model saw) states ``claim``; raises
    ``LLMError`` when the LLM is down or slow."""
    from .generate import prompt_parts

    system, user = prompt_parts("entailment")
    p = llm.yes_probability([{"role": "system", "content": system.strip()},
                             {"role": "user", "content": user.format(source=window, claim=claim)}])
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class SupportJudge:
    """The fitted support model with the threshold a sentence must reach."""

    model: LinearModel
    threshold: float
    # the scorer's probability (``Scorer.score``) the supporting source sentence needs: a claim
    # that only restates a sentence the scorer does not rate as answering the question is set
    # apart like an unsupported one (fitted on the labels' "answers"; 0 accepts every source)
    answering: float = 0.0

    def probabilities(self, claim: str, claim_vector: np.ndarray, pairs: list[tuple[str, str]],
                      vectors: np.ndarray) -> np.ndarray:
        """For each (source sentence, window) pair, whose embedding is the row of ``vectors``:
        the probability it supports ``claim``."""
        if not pairs:
            return np.zeros(0)
        cosines = vectors @ claim_vector
        matrix = np.array([row(claim, sentence, window, float(c))
                           for (sentence, window), c in zip(pairs, cosines, strict=True)])
        return self.model.predict(matrix)

    @classmethod
    def from_dict(cls, data: dict) -> SupportJudge:
        return cls(LinearModel.from_dict(data, list(COLUMNS), "support.json"),
                   float(data["threshold"]), float(data.get("answering_threshold", 0.0)))


@lru_cache(maxsize=1)
def default_judge() -> SupportJudge:
    """The judge shipped in the package (``assistant/data/support.json``)."""
    return SupportJudge.from_dict(_load("support.json"))
