"""Article → passages: paragraph-aware, whole sentences, sized in the embedding model's word pieces.

Every passage and sentence carries character offsets into the stored article text, so a quote can
always be checked against that text: ``article.text[start:end] == passage.text``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .articles import Article

# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "gen", "lt", "col", "capt", "sgt", "cpl",
    "sen", "rep", "gov", "pres", "rev", "hon", "u.s", "u.k", "u.n", "e.u", "no", "vs", "etc",
    "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec", "mt", "ft", "approx", "dept", "est", "fig", "i.e", "e.g", "a.m", "p.m",
}
# A candidate boundary: end punctuation, any closing quotes or brackets, then white space.
_BOUNDARY = re.compile(r"[.!?]+[”\"’')\]]*(?=\s+[\"“‘'(\[]?[A-Z0-9])")


# No sentence (and so no quote) is longer than this: a longer run without a sentence end (a
# file of one 5 MB line, a table flattened into text) is cut at the last space before it. The
# longest sentence of the Lee and seed articles is 436 characters.
MAX_SENTENCE_CHARS = 600


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences from one article; ``text == article.text[start:end]``."""

    article_id: str
    n: int
    start: int
    end: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.n:04d}"


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of ``text[start:end]`` as spans of ``text``; never across a paragraph break."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    for para in re.finditer(r"[^\n]+", text[start:end]):
        p_start, p_end = start + para.start(), start + para.end()
        cursor = p_start
        for match in _BOUNDARY.finditer(text, p_start, p_end):
            before = text[cursor:match.start()].rsplit(maxsplit=1)
            last_word = before[-1].lower().lstrip("(“\"‘'") if before else ""
            if match.group().startswith(".") and (
                last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word)
            ):
                continue
            spans.append(Span(cursor, match.end()))
            cursor = match.end()
            while cursor < p_end and text[cursor].isspace():
                cursor += 1
        if cursor < p_end:
            spans.append(Span(cursor, p_end))
    return [piece for span in spans for piece in _bounded(text, span)]


def _bounded(text: str, span: Span) -> list[Span]:
    """The span, or pieces of it of at most MAX_SENTENCE_CHARS, cut after white space."""
    pieces = []
    start = span.start
    while span.end - start > MAX_SENTENCE_CHARS:
        limit = start + MAX_SENTENCE_CHARS
        cut = text.rfind(" ", start + 1, limit)
        cut = cut + 1 if cut > start else limit  # no space at all: cut anyway
        pieces.append(Span(start, cut))
        start = cut
        while start < span.end and text[start].isspace():
            start += 1
    if start < span.end:
        pieces.append(Span(start, span.end))
    return [Span(p.start, p.start + len(text[p.start:p.end].rstrip())) for p in pieces]


def _paragraph_spans(text: str) -> list[Span]:
    return [Span(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]


def _is_heading(text: str) -> bool:
    return len(text.split()) <= 8 and not text.rstrip("”\"’'").endswith((".", "!", "?", ":"))


def split_passages(
    article: Article, count_tokens: Callable[[str], int], max_tokens: int
) -> list[Passage]:
    """Pack whole paragraphs into passages of at most ``max_tokens`` word pieces.

    A paragraph longer than that is split at sentence boundaries; a heading stays with the
    paragraph after it. Returns passages in article order with stable ids ``<article>:<n>``.
    """
    text = article.text
    units: list[tuple[Span, int]] = []  # (span, tokens): paragraphs, or sentences of long ones
    pending_heading: Span | None = None
    for para in _paragraph_spans(text):
        if pending_heading is not None:
            para = Span(pending_heading.start, para.end)
            pending_heading = None
        body = text[para.start:para.end]
        if _is_heading(body) and para.end < len(text):
            pending_heading = para
            continue
        tokens = count_tokens(body)
        if tokens <= max_tokens:
            units.append((para, tokens))
        else:
            units.extend(
                (s, count_tokens(text[s.start:s.end])) for s in sentence_spans(text, *_astuple(para))
            )
    if pending_heading is not None:
        units.append((pending_heading, count_tokens(text[pending_heading.start:pending_heading.end])))

    groups: list[list[Span]] = []
    size = 0
    for span, tokens in units:
        if groups and size + tokens <= max_tokens:
            groups[-1].append(span)
            size += tokens
        else:
            groups.append([span])
            size = tokens
    return [
        Passage(article.id, n, group[0].start, group[-1].end, text[group[0].start:group[-1].end])
        for n, group in enumerate(groups)
    ]


def _astuple(span: Span) -> tuple[int, int]:
    return span.start, span.end
