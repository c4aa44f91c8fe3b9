"""The Assistant: the one object the CLI, the UI, the API and the eval harness all use."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from . import generate
from .answering import ScoredSentence, choose, compose, one_person, score_sentences, speaker_note
from .chat import ChatSession, Event, Turn, condense_fallback
from .contracts import REFUSAL, Answer, Copy, passage_view
from .dates import TimeScope, event_window, parse_day, time_scope
from .embedding import MiniLM
from .errors import AssistantError
from .language import QuestionLanguage, analyse_question
from .llm import LLM, LLMError
from .retrieval import Filters, Hit, Retriever
from .scorer import Scorer, default_ask_threshold, default_ranker, default_scorer
from .settings import Settings
from .store import Store
from .support import SupportJudge, default_judge
from .terms import terms
from .text import Question, analyse

if TYPE_CHECKING:  # ingest (and its MinHash's numpy.random) is not imported to answer
    from .ingest import IngestReport, Progress


@dataclass(frozen=True)
class Reading:
    """A question as the answer stage reads it."""

    asked: str  # standalone (a follow-up rewritten)
    question: Question  # its terms, names and what the rules read
    language: QuestionLanguage  # what the trained pipeline reads: the kind of answer, entities
    filters: Filters  # explicit filters narrowed by a time the question names
    scope: TimeScope
    notices: list[str]


@dataclass(frozen=True)
class _Draft:
    """An answer before its finishing touches: what to show and what it cites."""

    text: str
    citations: list
    refused: bool
    mode: str = "extractive"
    checks: list = field(default_factory=list)


class Assistant:
    """Answers questions from a collection of news articles, citing the exact passages.

    >>> assistant = Assistant(Settings(index_dir="index"))
    >>> assistant.ingest(["articles/"])            # doctest: +SKIP
    >>> assistant.ask("What did Campbell warn?")   # doctest: +SKIP
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        # questions whose retrieval and scoring run at once (more would only share the cores)
        self.working = threading.BoundedSemaphore(self.settings.answer_workers)

    @cached_property
    def embedder(self) -> MiniLM:
        return MiniLM(threads=self.settings.embed_threads, batch_size=self.settings.embed_batch_size)

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.index_dir, self.settings.chroma_url,
                     self.settings.chroma_namespace)

    @cached_property
    def llm(self) -> LLM:
        return LLM(self.settings)

    @cached_property
    def scorer(self) -> Scorer:
        """The fitted answer scorer (weights from ``evals/fit.py``)."""
        return default_scorer()

    @cached_property
    def judge(self) -> SupportJudge | None:
        """The fitted support judge of generated sentences (``evals/fit_support.py``); without
        one shipped, the verifier counts content words (``support_threshold``)."""
        try:
            return default_judge()
        except AssistantError:
            return None

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.store, self.embedder, self.settings.candidates,
                         self.settings.passage_tokens, default_ranker())

    def warm(self) -> None:
        """Build the parts every answer uses now, once, before threads answer side by side."""
        for part in ("embedder", "store", "retriever", "scorer", "llm"):
            getattr(self, part)

    def open(self) -> None:
        """Load what answering reads, before the first question: the embedding model, Chroma's
        collection, the BM25 index and the scorer (`assistant ask` does it while a child process
        analyses the question). Without an index, nothing: the question then says how to build
        one."""
        manifest = self.store.committed()
        if not manifest.articles:
            return
        self.embedder.session  # noqa: B018 - loaded, not used here
        self.embedder.tokenizer  # noqa: B018
        self.store.open()
        self.store.lexical(manifest, self.retriever.split)
        self.scorer  # noqa: B018

    def has_index(self) -> bool:
        return bool(self.store.committed().articles)

    def ingest(self, paths: Iterable[str | Path], prune: bool = False,
               progress: Progress | None = None) -> IngestReport:
        """Add new and changed articles from files and folders; with ``prune``, drop vanished ones."""
        from .ingest import ingest

        return ingest(paths, self.store, self.embedder, self.settings.passage_tokens,
                      prune=prune, progress=progress,
                      max_file_bytes=self.settings.max_file_bytes,
                      max_article_chars=self.settings.max_article_chars)

    @property
    def uploads_dir(self) -> Path:
        """Where articles added through the UI (uploaded or pasted) are kept."""
        return Path(self.settings.index_dir) / "uploads"

    def upload(self, files: Iterable[str | Path], progress: Progress | None = None
               ) -> IngestReport:
        """Keep copies of these files in ``uploads_dir`` and ingest them, as the CLI would."""
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        kept = []
        for file in map(Path, files):
            data = file.read_bytes()
            target = self.uploads_dir / file.name
            if target.exists() and target.read_bytes() != data:  # another file of that name
                digest = hashlib.sha256(data).hexdigest()[:8]
                target = target.with_name(f"{file.stem}-{digest}{file.suffix}")
            if not target.exists():
                target.write_bytes(data)
            kept.append(target)
        return self.ingest(kept, progress=progress)

    def add_text(self, text: str, title: str = "", source: str = "", published: str = ""
                 ) -> IngestReport:
        """Ingest an article given as text (pasted in the UI); kept as JSON in ``uploads_dir``."""
        record = {"title": title.strip(), "source": source.strip(),
                  "published": published.strip(), "text": text}
        raw = json.dumps(record, ensure_ascii=False)
        slug = re.sub(r"[^a-z0-9]+", "-", (title or text[:40]).lower()).strip("-")[:40] or "article"
        path = self.uploads_dir / f"pasted-{slug}-{hashlib.sha256(raw.encode()).hexdigest()[:8]}.json"
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(raw, encoding="utf-8")
        return self.ingest([path])

    def articles(self) -> list[dict]:
        """The indexed articles (key, id, title, source, published, path), newest first."""
        entries = [{"key": key, **entry} for key, entry in self.store.committed().articles.items()]
        entries.sort(key=lambda e: e["title"].casefold())
        return sorted(entries, key=lambda e: e.get("published") or "", reverse=True)

    def remove(self, keys: Iterable[str]) -> IngestReport:
        """Take articles out of the index by key; files in ``uploads_dir`` go with them."""
        from .ingest import remove

        keys = list(keys)
        paths = {e["path"] for k, e in self.store.load_manifest().articles.items() if k in keys}
        report = remove(keys, self.store, self.embedder, self.settings.passage_tokens)
        still = {e["path"] for e in self.store.load_manifest().articles.values()}
        for path in map(Path, paths - still):
            if path.parent == self.uploads_dir.resolve():
                path.unlink(missing_ok=True)
        return report

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None
                 ) -> list[Hit]:
        """The ``k`` passages that best match the question, best first."""
        return self.passages(self.read(question, filters=filters), k)

    def ask(self, question: str, k: int | None = None, *, since: date | str | None = None,
            until: date | str | None = None, source: str | Sequence[str] | None = None,
            history: Sequence[Turn] = (), use_llm: bool = True) -> Answer:
        """Answer from the articles only, with verified citations; refuse when they don't say.

        ``since``/``until`` (dates, or "2024-04", "April 2024") and ``source`` restrict the
        articles used; a time the question names ("in April 2024", "last week") does too.
        ``history`` (earlier turns) makes a follow-up standalone first. ``use_llm=False`` gives
        the extractive answer even when an LLM backend is configured.
        """
        answer = None
        for event in self.stream(question, k, since=since, until=until, source=source,
                                 history=history, use_llm=use_llm):
            answer = event.answer or answer
        return answer

    def stream(self, question: str, k: int | None = None, *, since: date | str | None = None,
               until: date | str | None = None, source: str | Sequence[str] | None = None,
               history: Sequence[Turn] = (), use_llm: bool = True) -> Iterator[Event]:
        """The answer as it comes: the sources at once, then text, then the verified Answer.

        The stages: ``read`` the question → ``passages`` → score every sentence of them
        (``score_sentences``) → ``select`` the quotes (or refuse) → ``compose`` the extractive
        answer → optionally ``_generate`` from the chosen sentences and verify → ``_finish``."""
        question = question.strip()
        started = time.perf_counter()
        generating = use_llm and self.llm.enabled
        waiting = self.llm.starting() if generating else None
        if waiting:  # the model is still loading: answer now from the quotes, say so once
            generating = False
        reading = self.read(question, history, make_filters(since, until, source), generating)
        notices = reading.notices
        if waiting:
            notices.append(f"{waiting} This answer quotes the articles; the model writes the next ones.")
        with self.working:  # the CPU work; a wait on the LLM below holds no worker
            hits = self.passages(reading, k)
            retrieved = time.perf_counter()
            # every qualifying sentence, scored once for the quotes and the LLM's context alike
            pool = score_sentences(reading.question, reading.language, hits, self.embedder,
                                   self.store, self.scorer, self.retriever.idf(reading.question.key_terms))
        passages = [passage_view(hit) for hit in hits]
        yield Event("sources", passages=passages, condensed_question=reading.asked)
        pool, chosen = self.select(reading, hits, pool)
        timings = {"retrieve_ms": round((retrieved - started) * 1000, 1)}
        text, citations = compose(chosen) if chosen else (REFUSAL, [])
        draft = _Draft(text, citations, refused=not chosen)
        if generating and (chosen or self._worth_asking(pool)):
            draft = yield from self._generate(reading, pool, draft, timings, started)
        answer = self._finish(question, reading, draft, passages, timings, started, retrieved)
        yield Event("answer", answer=answer)

    def select(self, reading: Reading, hits: list[Hit], pool: list[ScoredSentence]
               ) -> tuple[list[ScoredSentence], list[ScoredSentence]]:
        """The stage that decides: the candidate pool narrowed by the question's scope, and the
        quotes chosen from it (none: a refusal)."""
        if reading.scope.latest and hits:  # "the latest on ...": from the newest relevant article
            newest = [c for c in pool if c.hit.article.id == hits[0].article.id]
            pool = newest or pool
        # two Campbells: say which one is quoted
        pool, ambiguous = one_person(reading.question, pool, self.scorer.threshold)
        if ambiguous:
            reading.notices.append(ambiguous)
        return pool, choose(pool, self.settings.max_quotes, self.scorer.threshold,
                            self.scorer.second)

    def _worth_asking(self, pool: list[ScoredSentence]) -> bool:
        """Whether the model writes although the quotes would refuse: a sentence of the pool
        scores at least the ask threshold (fitted by ``evals/fit_ask.py``). What the model then
        writes must pass the verifier like any answer; if nothing stands, the refusal stays."""
        threshold = self.settings.llm_ask_threshold
        if threshold is None:
            threshold = default_ask_threshold()
        return bool(pool) and max(c.score for c in pool) >= threshold

    def _generate(self, reading: Reading, pool: list[ScoredSentence], draft: _Draft,
                  timings: dict, started: float) -> Iterator[Event]:
        """The LLM writes from the best sentences; every sentence it writes is verified. Yields
        its tokens; returns the draft to show (the extractive one when nothing it wrote stands
        or the LLM fails)."""
        candidates = choose(pool, self.settings.llm_passages * 2, complements=False)
        sources = generate.build_sources(candidates, self.settings.llm_passages)
        generated = ""
        try:
            for piece in generate.stream_text(self.llm, reading.asked, sources,
                                              self.settings.answer_prompt):
                if not generated:
                    timings["first_token_ms"] = round((time.perf_counter() - started) * 1000, 1)
                generated += piece
                yield Event("token", text=piece)
        except LLMError as exc:
            reading.notices.append(f"{exc} Showing the extractive answer.")
            return draft
        if generate.is_refusal(generated):
            return _Draft(REFUSAL, [], refused=True, mode="generated")
        checks, support = generate.verify(generated, sources, self.settings.support_threshold,
                                          self.judge, self.embedder.embed, generate.ratings(pool))
        if not any(c.supported for c in checks):  # nothing it said is in the sources
            reading.notices.append("The generated answer was not supported by the articles; " + (
                "so there is no answer." if draft.refused else "showing the quoted sentences."))
            return replace(draft, checks=checks)
        return _Draft(generate.render(checks, self.settings.unsupported == "remove"),
                      generate.citations_for(support), refused=False, mode="generated",
                      checks=checks)

    def _finish(self, question: str, reading: Reading, draft: _Draft, passages: list,
                timings: dict, started: float, retrieved: float) -> Answer:
        """The Answer: citations with the article's other printings, who said the quoted words,
        "As of <date>" for a question whose answer changes with time, and the timings."""
        text, refused = draft.text, draft.refused
        citations = [c.model_copy(update={"copies": self.copies(c.article_id, c.path)})
                     for c in draft.citations]
        if draft.mode == "extractive" and not refused and (
                said_by := speaker_note(reading.question, citations)):
            text = f"{said_by} {text}"
        if not refused and reading.scope.sensitive and citations and citations[0].published:
            text = f"As of {citations[0].published} ({citations[0].source or citations[0].title}): " \
                   f"{text}"
        done = time.perf_counter()
        timings["answer_ms"] = round((done - retrieved) * 1000, 1)
        timings["total_ms"] = round((done - started) * 1000, 1)
        return Answer(
            question=question, answer=text, refused=refused, citations=citations,
            passages=passages, timings=timings, mode=draft.mode,
            condensed_question=reading.asked if reading.asked != question else None,
            sentences=draft.checks, notice=" ".join(reading.notices) or None,
        )

    def read(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None,
             use_llm: bool = False) -> Reading:
        """The first stage: a follow-up made standalone, the time it names turned into filters,
        and the question analysed (by the rules and by the language model)."""
        asked, notice = question.strip(), None
        if history:
            asked, notice = self._condense(asked, history, use_llm)
        filters, scope = self._filters(asked, filters)
        # "in April 2024" is answered by the filter; its words are not in the article text
        language = analyse_question(scope.without(asked))
        analysed = analyse(language.text, language.reporting_words)
        # whose words are asked for, from the parse: "What did Kurt Campbell warn?"
        analysed = replace(analysed, speaker=frozenset(terms(language.speaker or "")),
                           asks_speech=analysed.asks_speech or language.reporting)
        return Reading(asked, analysed, language, filters, scope,
                       [n for n in (notice, scope.note) if n])

    def passages(self, reading: Reading, k: int | None = None) -> list[Hit]:
        """The second stage: the passages that best match the question, best first."""
        hits = self.retriever.search(reading.question, k or self.settings.top_k, reading.filters,
                                     reading.language)
        return newest_first(hits) if reading.scope.latest else hits

    def sentences(self, question: str, k: int | None = None, history: Sequence[Turn] = ()
                  ) -> list[ScoredSentence]:
        """Every sentence of the retrieved passages with the fitted probability that it answers
        the question, best first (what the answer and the LLM's context are chosen from)."""
        reading = self.read(question, history)
        return score_sentences(reading.question, reading.language, self.passages(reading, k),
                               self.embedder, self.store, self.scorer,
                               self.retriever.idf(reading.question.key_terms))

    def _condense(self, question: str, history: Sequence[Turn], use_llm: bool
                  ) -> tuple[str, str | None]:
        """A follow-up made standalone: by rule, or by the LLM when one is on and
        ``settings.condense`` asks for it."""
        if use_llm and self.settings.condense == "llm":
            try:
                return generate.condense(self.llm, question, list(history)), None
            except LLMError as exc:
                return condense_fallback(question, history), f"{exc} Rewrote the question by rule."
        return condense_fallback(question, history), None

    def chat(self) -> ChatSession:
        """A conversation: follow-ups are made standalone, citation numbers stay stable."""
        return ChatSession(self)

    def copies(self, article_id: str, path: str) -> list[Copy]:
        """Other printings of an article: near-duplicates found at ingest, identical files."""
        groups = self.store.duplicates()
        group = next(([c, *cs] for c, cs in groups.items() if article_id == c or article_id in cs),
                     [article_id])
        same = [entry for member in group for entry in self.store.entries(member)]
        out = []
        for entry in sorted(same, key=lambda e: e["path"]):
            if entry["id"] in group and entry["path"] != path:
                out.append(Copy(article_id=entry["id"], title=entry["title"],
                                source=entry.get("source"), published=entry.get("published"),
                                path=entry["path"]))
        return out

    def _filters(self, question: str, filters: Filters | None) -> tuple[Filters, TimeScope]:
        """The explicit filters, narrowed by the time the question names."""
        filters = filters or Filters()
        today = self.settings.today or self._newest_date()
        scope = time_scope(question, today)
        if scope.event:
            scope = self._date_event(scope)
        if scope.since or scope.until:
            filters = filters.narrowed(scope.since, scope.until)
        return filters, scope

    def _date_event(self, scope: TimeScope) -> TimeScope:
        """"Before the sanctions": the sanctions are dated by the first dated article among
        those that best match them and mention every word of them."""
        needed = terms(scope.event)
        reports = [h.article for h in self.retriever.search(analyse(scope.event),
                                                           self.settings.candidates)
                   if h.article.published and needed <= terms(f"{h.article.title}\n{h.article.text}")]
        first = min(reports, key=lambda a: a.published, default=None)
        if first is None:
            return event_window(scope, None)
        where = f" ({first.source or first.title})" if first.source or first.title else ""
        return event_window(scope, first.published, where)

    def _newest_date(self) -> date | None:
        return self.store.newest_published()


def make_filters(since: date | str | None = None, until: date | str | None = None,
                 source: str | Sequence[str] | None = None) -> Filters:
    """Filters from API or CLI values: dates or strings such as "2024-04" and "April 2024"."""
    if isinstance(since, str):
        since = parse_day(since)
    if isinstance(until, str):
        until = parse_day(until, end=True)
    sources = (source,) if isinstance(source, str) else tuple(source or ())
    if since and until and since > until:
        raise AssistantError(f"--since {since} is after --until {until}.")
    return Filters(since, until, sources)


def newest_first(hits: list[Hit]) -> list[Hit]:
    """"The latest on ...": among the relevant hits, the newest article's passages first."""
    if not hits:
        return hits
    floor = hits[0].score * 0.85
    relevant = [h for h in hits if h.score >= floor]
    rest = [h for h in hits if h.score < floor]
    relevant.sort(key=lambda h: (h.article.published or date.min, h.score), reverse=True)
    return relevant + rest
