"""The answer's contracts: the value types every face (CLI, UI, API, eval) shares, and the one
citation verifier. Apart from how answers are chosen (``answering.py``), so a change to the
scorer cannot change what an answer is or how a quote is checked."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .articles import Article
from .chunking import Span
from .retrieval import Hit

# The one refusal sentinel: code, prompts and tests all use this constant.
REFUSAL = "The articles don't contain the answer to this question."


class Copy(BaseModel):
    """Another printing of a cited article: a syndicated copy or a reprint."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    title: str
    source: str | None
    published: str | None
    path: str


class Citation(BaseModel):
    """One quoted span: ``quote == stored article text[start:end]``."""

    model_config = ConfigDict(frozen=True)

    n: int
    article_id: str
    title: str
    source: str | None
    published: str | None
    path: str
    quote: str
    start: int
    end: int
    author: str | None = None
    url: str | None = None
    copies: list[Copy] = []  # the same story elsewhere (other outlets, reprints)
    speakers: list[str] = []  # who speaks in the quoted words, as ingest found (see attribution.py)


class RetrievedPassage(BaseModel):
    model_config = ConfigDict(frozen=True)

    article_id: str
    path: str
    text: str
    score: float
    title: str
    source: str | None
    published: str | None
    start: int
    end: int


class SentenceCheck(BaseModel):
    """One generated sentence after verification."""

    model_config = ConfigDict(frozen=True)

    text: str  # without [n] markers
    citations: list[int]
    supported: bool
    problem: str | None = None  # why it is unsupported (or what was corrected)
    support: float | None = None  # share of its content words its best source holds


class Answer(BaseModel):
    """What ``Assistant.ask`` returns; its JSON form is the CLI's ``--json`` output."""

    model_config = ConfigDict(frozen=True)

    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    passages: list[RetrievedPassage]
    timings: dict[str, float]
    mode: str = "extractive"  # or "generated"
    condensed_question: str | None = None  # what a follow-up was rewritten into
    sentences: list[SentenceCheck] = []  # generated mode: each sentence, its [n], supported?
    notice: str | None = None  # e.g. the LLM was down and this is the extractive answer


def verify_citation(citation: Citation, article: Article) -> bool:
    """The one citation check: the quote is exactly the stored article text at its offsets."""
    return (
        citation.article_id == article.id
        and 0 <= citation.start < citation.end <= len(article.text)
        and article.text[citation.start:citation.end] == citation.quote
    )


def make_citation(n: int, article: Article, span: Span) -> Citation:
    return Citation(
        n=n,
        article_id=article.id,
        title=article.title,
        source=article.source,
        published=article.published.isoformat() if article.published else None,
        path=article.path,
        quote=article.text[span.start:span.end],
        start=span.start,
        end=span.end,
        author=article.author,
        url=article.url,
        speakers=list(dict.fromkeys(name for s in article.sentences
                                    if s.start < span.end and span.start < s.end
                                    for name in s.speakers)),
    )


def passage_view(hit: Hit) -> RetrievedPassage:
    article = hit.article
    return RetrievedPassage(
        article_id=article.id,
        path=article.path,
        text=hit.passage.text,
        score=round(hit.score, 4),
        title=article.title,
        source=article.source,
        published=article.published.isoformat() if article.published else None,
        start=hit.passage.start,
        end=hit.passage.end,
    )
