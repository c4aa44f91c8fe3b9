"""Generated answers: a small numbered context, the LLM's text, and the verifier that checks it.

The model is not trusted to cite. After generation every sentence is aligned with the source
sentence that supports it (content-word overlap), its [n] is attached or corrected to that
source, text it puts in quotation marks must be verbatim in a source, and a sentence no source
supports is marked (or removed, as settings say). The same checks apply whatever the backend.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from .answering import ScoredSentence, attributed
from .chunking import Span, sentence_spans
from .contracts import REFUSAL, Citation, SentenceCheck, make_citation
from .guard import addresses_the_assistant
from .retrieval import Hit
from .support import SupportJudge
from .terms import terms
from .text import starts_with_pronoun

_MARKER = re.compile(r"\s*\[(\d+)\]")
_QUOTED = re.compile(r"[“\"]([^”\"]{12,}?)[”\"]")
UNSUPPORTED_MARK = "⚠"


@cache
def load_prompt(name: str) -> str:
    """A prompt template from the package's prompts/<name>.txt (a line "---" splits system from
    user). Read through the package, so an installed wheel finds it as a checkout does."""
    return resources.files("assistant").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")


def prompt_parts(name: str) -> tuple[str, str]:
    """The (system, user) templates of prompts/<name>.txt."""
    system, user = load_prompt(name).split("\n---\n", 1)
    return system, user


@dataclass(frozen=True)
class Source:
    """One numbered piece of context the model saw: a few sentences of one passage."""

    n: int
    hit: Hit
    sentences: tuple[Span, ...]

    @property
    def text(self) -> str:
        article = self.hit.article
        return " ".join(article.text[s.start:s.end] for s in self.sentences)


def build_sources(candidates: list[ScoredSentence], limit: int) -> list[Source]:
    """The ``limit`` best sentences, each from the one that names its speaker (as quoted
    answers are), or with the sentence before it when it opens with a pronoun ("He was ..."):
    a small prompt, since every token costs time on a CPU."""
    sources: list[Source] = []
    for cand in candidates:
        if len(sources) == limit:
            break
        hit = cand.hit
        inside = sentence_spans(hit.article.text, hit.passage.start, hit.passage.end)
        i = next(i for i, s in enumerate(inside) if s.start == cand.span.start)
        last = max(k for k, s in enumerate(inside) if s.start < cand.span.end)  # one quotation
        first = attributed(hit.article, cand.span).start
        j = next(j for j, s in enumerate(inside) if s.start >= first)  # within the passage
        if j == i and i and starts_with_pronoun(cand.text):
            j = i - 1
        # a sentence that speaks to the assistant is never shown to the model (nor can support)
        spans = tuple(s for s in inside[j:last + 1]
                      if s == inside[i] or not addresses_the_assistant(hit.article.text[s.start:s.end]))
        if any(set(spans) & set(src.sentences) for src in sources if src.hit.article.id
               == hit.article.id):
            continue
        sources.append(Source(len(sources) + 1, hit, spans))
    return sources


_FENCE = re.compile(r"</?\s*excerpts\s*>", re.IGNORECASE)


def prompt(question: str, sources: list[Source], name: str = "answer") -> list[dict]:
    # one heading per article, its excerpts under it: every prompt token costs time on a CPU
    by_article: dict[str, list[Source]] = {}
    for src in sources:
        by_article.setdefault(src.hit.article.id, []).append(src)
    blocks = []
    for group in by_article.values():
        a = group[0].hit.article
        meta = ", ".join(x for x in (a.source, a.published.isoformat() if a.published else None) if x)
        # a title made from the article's first words (it had none) tells the model nothing the
        # article does not, and costs a dozen tokens or more: the heading is then the bare word
        title = "" if a.text.startswith(a.title.removesuffix("…")) else f": {a.title}"
        block = f"Article{title}" + (f" ({meta})" if meta else "") + "".join(
            f"\n[{src.n}] {src.text}" for src in group)
        blocks.append(_FENCE.sub("(excerpts)", block))  # article text cannot close the fence
    system, user = prompt_parts(name)
    return [{"role": "system", "content": system.format(refusal=REFUSAL).strip()},
            {"role": "user", "content": user.format(sources="\n\n".join(blocks), question=question)}]


_DECLINE = re.compile(r"\b(?:excerpts?|articles?|sources?|text)\s+(?:do(?:es)?\s+not|don't|doesn't)\s+"
                      r"(?:contain|say|mention|provide|answer|include|specify|state)", re.IGNORECASE)


def is_refusal(text: str) -> bool:
    """The model declined: it gave the sentinel, or said the excerpts don't say."""
    flat = " ".join(text.lower().replace("’", "'").split())
    return REFUSAL.lower()[:32] in flat or bool(_DECLINE.search(text))


def _norm(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
                    .split()).lower()


def ratings(pool: list[ScoredSentence]) -> dict[tuple[str, int], float]:
    """The scorer's probability of each candidate sentence, by (article id, sentence start): what
    ``verify`` reads to tell whether a supporting sentence answers the question."""
    return {(c.hit.article.id, c.span.start): c.score for c in pool}


def verify(text: str, sources: list[Source], threshold: float, judge: SupportJudge | None = None,
           embed: Callable[[list[str]], np.ndarray] | None = None,
           rated: Mapping[tuple[str, int], float] | None = None,
           ) -> tuple[list[SentenceCheck], list[tuple[int, Source, Span]]]:
    """Check every generated sentence against the sources; return the checks and, for each
    supported sentence, the source sentence (span) that supports it.

    With a fitted ``judge`` (and the embedding model's ``embed``) a sentence is supported when
    the judge's probability for its best source sentence reaches the judge's threshold; without
    one, when ``threshold`` of its content words are in the source and its headline. With the
    scorer's probabilities (``rated``: (article id, sentence start) -> probability) that source
    sentence must also be one the scorer rates as answering (at least ``judge.answering``)."""
    checks: list[SentenceCheck] = []
    support: list[tuple[int, Source, Span]] = []
    by_n = {s.n: s for s in sources}
    pairs = [(src, s) for src in sources for s in src.sentences]
    claims = []  # (the sentence without markers, the [n] it claimed), each stating something
    for span in sentence_spans(text):
        raw = text[span.start:span.end]
        sentence = _MARKER.sub("", raw).strip()
        if terms(sentence):  # "Sure." and the like state nothing
            claims.append((sentence, [int(n) for n in _MARKER.findall(raw)]))
    judged = judge is not None and embed is not None and pairs
    if judged:  # one model run for every claim and every source sentence
        vectors = embed([c for c, _ in claims] + [src.hit.article.text[s.start:s.end] for src, s in pairs])
        claim_vectors, source_vectors = vectors[:len(claims)], vectors[len(claims):]
        threshold = judge.threshold
    for k, (sentence, claimed) in enumerate(claims):
        if judged:
            p = judge.probabilities(sentence, claim_vectors[k], [
                (src.hit.article.text[s.start:s.end], f"{src.hit.article.title}\n{src.text}")
                for src, s in pairs], source_vectors)
            i = int(np.argmax(p))
            best = (float(p[i]), *pairs[i])
        else:
            best = _best_by_words(terms(sentence), pairs)
        problem = None
        if best is None or best[0] < threshold:
            problem = "no source supports it"
        elif judged and rated is not None and \
                rated.get((best[1].hit.article.id, best[2].start), 0.0) < judge.answering:
            problem = "its source does not answer the question"
        for quoted in _QUOTED.findall(sentence):
            if not any(_norm(quoted) in _norm(src.text) for src in sources):
                problem = f"misquote: “{quoted}” is in no source"
        bad = [n for n in claimed if n not in by_n]
        if problem is None and best is not None:
            n = best[1].n
            support.append((len(checks), best[1], best[2]))
            checks.append(SentenceCheck(text=sentence, citations=[n], supported=True,
                                        problem=f"cited [{bad[0]}], which was never shown"
                                        if bad else None, support=round(best[0], 3)))
        else:
            checks.append(SentenceCheck(text=sentence, citations=[n for n in claimed if n in by_n],
                                        supported=False, problem=problem,
                                        support=round(best[0], 3) if best else 0.0))
    return checks, support


def _best_by_words(words: set[str], pairs: list[tuple[Source, Span]]
                   ) -> tuple[float, Source, Span] | None:
    """The source sentence holding most of the claim's content words, with the share of them
    in its source and headline (the model saw the headline too)."""
    best = None
    for src, s in pairs:
        article = src.hit.article
        covered = len(words & terms(f"{article.title}\n{src.text}")) / len(words)
        key = (covered, len(words & terms(article.text[s.start:s.end])))
        if best is None or key > best[0]:
            best = (key, src, s)
    return (best[0][0], best[1], best[2]) if best else None


def render(checks: list[SentenceCheck], remove_unsupported: bool) -> str:
    parts = []
    for check in checks:
        if check.supported:
            parts.append(check.text + "".join(f" [{n}]" for n in check.citations))
        elif not remove_unsupported:
            parts.append(f"{UNSUPPORTED_MARK} {check.text}")
    return " ".join(parts)


def citations_for(support: list[tuple[int, Source, Span]]) -> list[Citation]:
    """One citation per supporting source sentence, numbered by its source."""
    seen: set[tuple[int, int]] = set()
    out = []
    for _, src, span in support:
        if (src.n, span.start) in seen:
            continue
        seen.add((src.n, span.start))
        out.append(make_citation(src.n, src.hit.article, span))
    return out


def stream_text(llm, question: str, sources: list[Source], name: str = "answer") -> Iterator[str]:
    yield from llm.stream(prompt(question, sources, name))


def condense(llm, question: str, history: list) -> str:
    """The follow-up as a standalone question, rewritten by the LLM."""
    lines = "\n".join(f"User: {t.question}\nAssistant: {t.answer}" for t in history[-3:])
    text = load_prompt("condense").format(history=lines, question=question)
    out = llm.complete([{"role": "user", "content": text}], max_tokens=60).strip()
    out = out.splitlines()[0].strip().strip('"') if out else ""
    return out if len(out) > 3 else question
