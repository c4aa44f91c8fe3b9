"""Dataset → answers → metrics → report (JSON, Markdown, PNG), ours beside the baselines.

Baselines, run on the same articles and the same embedding model:
- ``llamaindex``: what a user builds in ten lines: ``VectorStoreIndex`` over Chroma with the
  default ``SentenceSplitter`` and a top-k retriever. Without an LLM its answer is its top chunk.
- ``bm25``: plain BM25 (bm25s, English stop words) over our passages; answer = top passage.
Neither baseline ever refuses.
"""

from __future__ import annotations

import json
import re
import statistics
import string
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .articles import Article
from .chat import Turn as ChatTurn
from .contracts import verify_citation
from .core import Assistant
from .errors import AssistantError
from .generate import UNSUPPORTED_MARK
from .settings import PROJECT_ROOT, Settings

TAGS = ("fact", "who-said-what", "time", "multi-article", "unanswerable", "follow-up", "duplicate",
        "degree", "number", "date", "place", "who-said")
K_VALUES = (1, 5, 10)
HEADLINE = ("article_hit@1", "passage_hit@1", "passage_hit@5", "passage_mrr",
            "citation_precision", "quote_exactness", "answer_match", "refusal_accuracy")


class EvalError(AssistantError):
    """A dataset or report that cannot be used."""


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    article: str
    quote: str


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    question: str
    answer: str


class Item(BaseModel):
    """One dataset line (see evals/README.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    corpus: str
    question: str
    answerable: bool
    answers: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list)


def load_dataset(path: Path) -> list[Item]:
    items: list[Item] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalError(f"{path}: cannot read dataset: {exc.strerror or exc}") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = Item.model_validate_json(line)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"]))
            raise EvalError(f"{path}:{n}: {where + ': ' if where else ''}{first['msg']}") from exc
        unknown = set(item.tags) - set(TAGS)
        if unknown:
            raise EvalError(f"{path}:{n}: unknown tags {sorted(unknown)}; use {', '.join(TAGS)}")
        if item.answerable and not item.evidence:
            raise EvalError(f"{path}:{n}: an answerable question needs evidence")
        items.append(item)
    if not items:
        raise EvalError(f"{path}: no questions")
    if len({i.id for i in items}) != len(items):
        raise EvalError(f"{path}: question ids are not unique")
    if len({i.corpus for i in items}) != 1:
        raise EvalError(f"{path}: all questions must name the same corpus")
    return items


# ------------------------------------------------------------------ corpora


def corpus_files(name: str, cache: Path) -> Path:
    """The folder of article files a dataset's ``corpus`` names."""
    if name == "articles":
        return PROJECT_ROOT / "articles"
    if name == "lee":
        return _lee_corpus(cache / "corpora" / "lee")
    candidate = Path(name)
    if candidate.is_dir():
        return candidate
    raise EvalError(f"unknown corpus {name!r}: use 'articles', 'lee' or a folder of articles")


def _lee_corpus(folder: Path) -> Path:
    """The Lee background corpus (300 ABC stories, gensim's wheel) as one file per story."""
    try:
        from gensim.test.utils import datapath
    except ImportError as exc:
        raise EvalError("the Lee corpus needs gensim: pip install -e '.[eval]'") from exc
    stories = Path(datapath("lee_background.cor")).read_text(encoding="latin-1").splitlines()
    folder.mkdir(parents=True, exist_ok=True)
    files = {f"lee_bg_{i:03d}.txt": story for i, story in enumerate(stories)}
    files.update({f"lee_copy_{i:03d}.txt": syndicated_copy(stories[i]) for i in LEE_COPIES})
    for name, text in files.items():
        target = folder / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return folder


# Stories reprinted by a (fictional) second outlet with small edits, to test duplicate handling.
LEE_COPIES = (25, 83, 161, 203, 266)
COPY_OUTLET = "Southern Cross Wire"


def syndicated_copy(story: str) -> str:
    """A wire reprint: present tense turned past ("says" → "said"), the last sentence cut, and
    the outlet's tag at the end."""
    sentences = re.split(r"(?<=[.!?\"])\s+(?=[A-Z\"])", story.strip())
    body = " ".join(sentences[:-1] if len(sentences) > 3 else sentences)
    return body.replace(" says ", " said ", 1) + f" | {COPY_OUTLET}"


# ------------------------------------------------------------------ systems


@dataclass
class Ranked:
    article: str  # file name of the article
    article_id: str
    start: int
    end: int
    text: str


@dataclass
class Run:
    """What one system did with one question."""

    ranked: list[Ranked]
    answer: str
    refused: bool
    citations: list[dict]  # {"article", "article_id", "start", "end", "quote", "verified"}
    timings: dict[str, float]
    asked: str | None = None  # the standalone question a follow-up was rewritten into
    mode: str | None = None  # ours: "generated" or "extractive"
    sentences: list[dict] = field(default_factory=list)  # ours, generated: the verifier's checks


def _name(path: str) -> str:
    return Path(path).name


class Ours:
    name = "ours"

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def run(self, item: Item) -> Run:
        # a follow-up is made standalone first, as in the chat (by the LLM when one is on)
        answer = self.assistant.ask(item.question, history=[ChatTurn(t.question, t.answer)
                                                            for t in item.history])
        question = answer.condensed_question or item.question
        started = time.perf_counter()
        hits = self.assistant.retrieve(question, max(K_VALUES))
        rank_ms = (time.perf_counter() - started) * 1000
        store = self.assistant.store
        citations = [
            {"article": _name(c.path), "article_id": c.article_id, "start": c.start, "end": c.end,
             "quote": c.quote, "verified": verify_citation(c, store.article(c.article_id))}
            for c in answer.citations
        ]
        ranked = [Ranked(_name(h.article.path), h.article.id, h.passage.start, h.passage.end,
                         h.passage.text) for h in hits]
        return Run(ranked, answer.answer, answer.refused, citations,
                   {**answer.timings, "rank10_ms": round(rank_ms, 1)}, question,
                   answer.mode, [s.model_dump() for s in answer.sentences])


def _top_answer(ranked: list[Ranked], article_text: Callable[[str], str]) -> tuple[str, list]:
    """A baseline's extractive answer: its top chunk, cited as is."""
    if not ranked:
        return "", []
    top = ranked[0]
    verified = article_text(top.article_id)[top.start:top.end] == top.text
    return top.text, [{"article": top.article, "article_id": top.article_id, "start": top.start,
                       "end": top.end, "quote": top.text, "verified": verified}]


class LlamaIndexBaseline:
    """The plain LlamaIndex pipeline over the same Chroma and embedding model."""

    name = "llamaindex"
    collection = "baseline_llamaindex"

    def __init__(self, assistant: Assistant, articles: list[Article]) -> None:
        from llama_index.core import Document, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.articles = {a.id: a for a in articles}
        client = assistant.store.client
        marker = sorted(self.articles)
        existing = {c.name for c in client.list_collections()}
        collection = client.get_or_create_collection(self.collection,
                                                     metadata={"hnsw:space": "cosine"})
        vector_store = ChromaVectorStore(chroma_collection=collection)
        embed_model = assistant.embedder.as_llama_index()
        marker_path = assistant.store.index_dir / f"{self.collection}.json"
        fresh = (self.collection in existing and marker_path.is_file()
                 and json.loads(marker_path.read_text()) == marker)
        if fresh:
            index = VectorStoreIndex.from_vector_store(vector_store, embed_model=embed_model)
        else:
            client.delete_collection(self.collection)
            collection = client.create_collection(self.collection,
                                                  metadata={"hnsw:space": "cosine"})
            vector_store = ChromaVectorStore(chroma_collection=collection)
            documents = [Document(text=a.text, metadata={"file_name": _name(a.path),
                                                         "article_id": a.id})
                         for a in articles]
            index = VectorStoreIndex.from_documents(
                documents,
                storage_context=StorageContext.from_defaults(vector_store=vector_store),
                embed_model=embed_model,
                transformations=[SentenceSplitter()],
            )
            marker_path.write_text(json.dumps(marker))
        self.retriever = index.as_retriever(similarity_top_k=max(K_VALUES))
        self.engine = None
        if assistant.llm.enabled:  # the ten-line pipeline with an LLM: CitationQueryEngine
            from llama_index.core.query_engine import CitationQueryEngine
            from llama_index.llms.openai_like import OpenAILike

            base, key, model = assistant.llm._endpoint()
            llm = OpenAILike(model=model, api_base=base, api_key=key, is_chat_model=True,
                             context_window=assistant.settings.llm_ctx, temperature=0.0,
                             max_tokens=assistant.settings.llm_max_tokens,
                             timeout=assistant.settings.llm_first_token_timeout * 4)
            self.engine = CitationQueryEngine.from_args(index, llm=llm)  # its defaults: top 2

    def run(self, item: Item) -> Run:
        started = time.perf_counter()
        nodes = self.retriever.retrieve(item.question)
        elapsed = (time.perf_counter() - started) * 1000
        ranked = []
        for scored in nodes:
            node = scored.node
            text = node.get_content()
            article = self.articles[node.metadata["article_id"]]
            start = node.start_char_idx
            if start is None or article.text[start:start + len(text)] != text:
                start = max(article.text.find(text), 0)
            ranked.append(Ranked(_name(article.path), article.id, start, start + len(text), text))
        answer, citations = _top_answer(ranked, lambda i: self.articles[i].text)
        timings = {"retrieve_ms": round(elapsed, 1), "total_ms": round(elapsed, 1)}
        if self.engine is not None:
            answer, citations = self._generated(item.question)
            timings["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return Run(ranked, answer, False, citations, timings)

    def _generated(self, question: str) -> tuple[str, list[dict]]:
        """CitationQueryEngine's answer; its [n] point at its source chunks, cited as given."""
        response = self.engine.query(question)
        text = str(response)
        citations = []
        for n in sorted({int(m) for m in re.findall(r"\[(\d+)\]", text)}):
            if not 1 <= n <= len(response.source_nodes):
                continue  # a number it never showed: cited nothing
            node = response.source_nodes[n - 1].node
            quote = re.sub(r"^Source \d+:\n", "", node.get_content())  # its own numbering label
            article = self.articles[node.metadata["article_id"]]
            start = article.text.find(quote)
            citations.append({"article": _name(article.path), "article_id": article.id,
                              "start": max(start, 0), "end": max(start, 0) + len(quote),
                              "quote": quote, "verified": start >= 0})
        return text, citations


class BM25Baseline:
    """Plain BM25 over our passages (bm25s defaults: lower-case, English stop words)."""

    name = "bm25"

    def __init__(self, assistant: Assistant, articles: list[Article]) -> None:
        import bm25s

        from .chunking import split_passages

        self.bm25s = bm25s
        self.articles = {a.id: a for a in articles}
        self.passages = [
            p for a in articles for p in split_passages(
                a, assistant.embedder.count_tokens, assistant.settings.passage_tokens)
        ]
        self.model = bm25s.BM25()
        self.model.index(bm25s.tokenize([p.text for p in self.passages], show_progress=False),
                         show_progress=False)

    def run(self, item: Item) -> Run:
        started = time.perf_counter()
        tokens = self.bm25s.tokenize([item.question], show_progress=False)
        k = min(max(K_VALUES), len(self.passages))
        docs, scores = self.model.retrieve(tokens, k=k, show_progress=False)
        elapsed = (time.perf_counter() - started) * 1000
        ranked = []
        for index, score in zip(docs[0], scores[0], strict=True):
            if score <= 0:
                continue
            p = self.passages[int(index)]
            ranked.append(Ranked(_name(self.articles[p.article_id].path), p.article_id,
                                 p.start, p.end, p.text))
        answer, citations = _top_answer(ranked, lambda i: self.articles[i].text)
        return Run(ranked, answer, False, citations,
                   {"retrieve_ms": round(elapsed, 1), "total_ms": round(elapsed, 1)})


# ------------------------------------------------------------------ scoring


_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
          "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORD = re.compile(rf"\b(?:({'|'.join(_TENS)})(?:[- ]({'|'.join(_UNITS[1:10])}))?|"
                          rf"({'|'.join(_UNITS)}))\b")


def _digits(match: re.Match) -> str:
    tens, unit, alone = match.groups()
    if alone:
        return str(_UNITS.index(alone))
    return str(20 + 10 * _TENS.index(tens) + (_UNITS.index(unit) if unit else 0))


def normalise(text: str) -> str:
    """SQuAD-style: lower case, no punctuation or articles, single spaces; curly quotes folded;
    number words as digits ("Twenty-one people" matches "21 people")."""
    text = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = _NUMBER_WORD.sub(_digits, text)
    text = "".join(ch for ch in text if ch not in set(string.punctuation) | {"…", "–", "—"})
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalise(prediction).split(), normalise(gold).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@dataclass
class GoldSpan:
    article: str  # the article id (identical stories in two files are one article)
    start: int
    end: int


def locate_evidence(item: Item, articles_by_name: dict[str, Article],
                    copies: dict[str, list[Article]] | None = None) -> list[GoldSpan]:
    """Where each gold quote is: in its article and in any copy of it that holds it too."""
    spans = []
    for evidence in item.evidence:
        article = articles_by_name.get(evidence.article)
        if article is None:
            raise EvalError(f"{item.id}: evidence article {evidence.article!r} is not in the corpus")
        spans.append(_locate(item, evidence, article))
        for copy in (copies or {}).get(article.id, []):
            if copy.id != article.id and " ".join(evidence.quote.split()) in " ".join(copy.text.split()):
                spans.append(_locate(item, evidence, copy))
    return spans


def _locate(item: Item, evidence: Evidence, article: Article) -> GoldSpan:
    start = article.text.find(evidence.quote)
    if start >= 0:
        return GoldSpan(article.id, start, start + len(evidence.quote))
    if re.sub(r"\s+", " ", evidence.quote) not in re.sub(r"\s+", " ", article.text):
        raise EvalError(f"{item.id}: gold quote not found in {evidence.article}: "
                        f"{evidence.quote[:60]!r}")
    # whitespace differs (a quote across a paragraph break): map through the words
    pattern = r"\s+".join(map(re.escape, evidence.quote.split()))
    match = re.search(pattern, article.text)
    return GoldSpan(article.id, match.start(), match.end())


def _overlaps(article: str, start: int, end: int, gold: GoldSpan, share: float = 0.5) -> bool:
    if article != gold.article:
        return False
    overlap = min(end, gold.end) - max(start, gold.start)
    return overlap >= share * (gold.end - gold.start) or (overlap > 0 and share == 0)


def score(item: Item, run: Run, gold: list[GoldSpan],
          group_of: dict[str, str] | None = None) -> dict:
    """Per-question metrics; ``None`` where a metric does not apply to this question."""
    row: dict = {"id": item.id, "tags": item.tags, "answerable": item.answerable,
                 "refused": run.refused, "answer": run.answer, "timings": run.timings}
    if run.asked and run.asked != item.question:
        row["condensed_question"] = run.asked
    if run.mode:
        row["mode"] = run.mode
    if run.sentences:
        row["sentences"] = run.sentences
    row["refusal_correct"] = run.refused == (not item.answerable)
    if group_of is not None:
        top = {r.article_id for r in run.ranked[:5]}
        groups = [group_of[a] for a in top if a in group_of]
        row["duplicates@5"] = len(groups) != len(set(groups))  # two copies of one story shown
    gold_articles = {g.article for g in gold}  # article ids
    if item.answerable:
        article_rank = next((i for i, r in enumerate(run.ranked, 1) if r.article_id in gold_articles),
                            None)
        passage_rank = next((i for i, r in enumerate(run.ranked, 1)
                             if any(_overlaps(r.article_id, r.start, r.end, g) for g in gold)), None)
        for k in K_VALUES:
            row[f"article_hit@{k}"] = article_rank is not None and article_rank <= k
            row[f"passage_hit@{k}"] = passage_rank is not None and passage_rank <= k
        row["article_mrr"] = 1 / article_rank if article_rank else 0.0
        row["passage_mrr"] = 1 / passage_rank if passage_rank else 0.0
        answered = "" if run.refused else run.answer
        row["answer_match"] = any(normalise(a) in normalise(answered) for a in item.answers) \
            if item.answers else None
        row["answer_f1"] = max((token_f1(answered, a) for a in item.answers), default=None) \
            if item.answers else None
    precise = 0
    for citation in run.citations:
        good = item.answerable and (
            any(_overlaps(citation["article_id"], citation["start"], citation["end"], g, share=0)
                for g in gold)
            or (citation["article_id"] in gold_articles
                and any(normalise(a) in normalise(citation["quote"]) for a in item.answers))
        )
        precise += bool(good)
    row["citations"] = len(run.citations)
    row["citations_precise"] = precise
    row["citations_verified"] = sum(bool(c["verified"]) for c in run.citations)
    row["quote_chars"] = sum(len(c["quote"]) for c in run.citations)
    return row


def _mean(values: list) -> float | None:
    values = [float(v) for v in values if v is not None]
    return round(statistics.fmean(values), 4) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)


def aggregate(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    metrics: dict = {"questions": len(rows), "answerable": len(answerable)}
    for key in [f"{level}_hit@{k}" for level in ("article", "passage") for k in K_VALUES] + [
            "article_mrr", "passage_mrr", "answer_match", "answer_f1"]:
        metrics[key] = _mean([r.get(key) for r in answerable])
    cited = sum(r["citations"] for r in rows)
    metrics["citations"] = cited
    metrics["citation_precision"] = round(sum(r["citations_precise"] for r in rows) / cited, 4) \
        if cited else None
    metrics["quote_exactness"] = round(sum(r["citations_verified"] for r in rows) / cited, 4) \
        if cited else None
    # how long the cited quotes are: a longer quote covers gold evidence more easily
    metrics["quote_chars"] = round(sum(r.get("quote_chars", 0) for r in rows) / cited, 1) \
        if cited else None
    metrics["refusal_accuracy"] = _mean([r["refusal_correct"] for r in rows])
    metrics["duplicates@5"] = _mean([r.get("duplicates@5") for r in rows])
    answered = [r for r in rows if not r["refused"] and "mode" in r]
    metrics["generated"] = _mean([r["mode"] == "generated" for r in answered])
    checked = [s for r in rows for s in r.get("sentences", [])]
    metrics["unsupported_sentences"] = _mean([not s["supported"] for s in checked])
    # what a reader sees: the sentences of the answers that stayed generated (an answer that fell
    # back to the quotes shows none of its generated sentences); an unsupported one is shown
    # marked ⚠, or not at all with ``unsupported = "remove"``
    shown = [s for r in answered if r["mode"] == "generated" for s in r.get("sentences", [])
             if s["supported"] or f"{UNSUPPORTED_MARK} {s['text']}" in r["answer"]]
    metrics["unsupported_shown"] = _mean([not s["supported"] for s in shown])
    metrics["answered_when_answerable"] = _mean([not r["refused"] for r in answerable])
    unanswerable = [r for r in rows if not r["answerable"]]
    metrics["refused_when_unanswerable"] = _mean([r["refused"] for r in unanswerable])
    stages = sorted({s for r in rows for s in r["timings"]})
    metrics["latency_ms"] = {
        s: {"p50": _percentile([r["timings"][s] for r in rows if s in r["timings"]], 0.5),
            "p95": _percentile([r["timings"][s] for r in rows if s in r["timings"]], 0.95)}
        for s in stages
    }
    return metrics


# ------------------------------------------------------------------ running and reporting


@dataclass
class Report:
    dataset: str
    corpus: str
    settings: dict
    version: dict
    started: str
    systems: dict[str, dict] = field(default_factory=dict)  # name -> {"overall", "tags", "rows"}

    def to_json(self) -> dict:
        return {"dataset": self.dataset, "corpus": self.corpus, "settings": self.settings,
                "version": self.version, "started": self.started, "systems": self.systems}


def _version() -> dict:
    from importlib.metadata import version

    info = {"news-assistant": version("news-assistant")}
    try:
        info["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                                     capture_output=True, text=True, timeout=10,
                                     check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        info["git"] = None
    return info


Progress = Callable[[int, int, str], None]


@dataclass
class Corpus:
    """A dataset's corpus, ingested into its own cached index, and where each gold quote is."""

    assistant: Assistant
    articles: list[Article]
    by_name: dict[str, Article]  # file name -> article (identical stories: both names lead to it)
    members: dict[str, list[Article]]  # article id -> every printing of its story
    group_of: dict[str, str]  # article id -> the canonical printing of its story

    def gold(self, item: Item) -> list[GoldSpan]:
        return locate_evidence(item, self.by_name, self.members)


def open_corpus(name: str, settings: Settings, cache: Path) -> Corpus:
    """Ingest (incrementally) the corpus a dataset names into ``cache/indexes/<name>``."""
    index_dir = cache / "indexes" / name.replace("/", "_")
    assistant = Assistant(settings.model_copy(update={"index_dir": index_dir}))
    report_ = assistant.ingest([corpus_files(name, cache)])
    if not assistant.has_index():
        raise EvalError(f"corpus {name!r} produced no articles: {report_.summary()}")
    store = assistant.store
    manifest = store.load_manifest()
    articles = [store.article(i) for i in sorted(manifest.article_ids)]
    by_name = {_name(entry["path"]): store.article(entry["id"]) for entry in manifest.articles.values()}
    groups = store.duplicates()
    group_of = {member: canonical for canonical, copies in groups.items()
                for member in (canonical, *copies)}
    members = {m: [store.article(x) for x in (c, *groups[c])] for m, c in group_of.items()}
    return Corpus(assistant, articles, by_name, members, group_of)


def evaluate(dataset: Path, settings: Settings, cache: Path, baseline: bool = False,
             progress: Progress | None = None, tag: str | None = None) -> Report:
    """Answer every question of ``dataset`` (those with ``tag`` only, when given) on its own
    cached index and score the answers."""
    items = load_dataset(dataset)
    if tag is not None:
        items = [item for item in items if tag in item.tags]
        if not items:
            raise AssistantError(f"{dataset}: no question is tagged {tag!r}.")
    corpus = open_corpus(items[0].corpus, settings, cache)
    assistant, group_of = corpus.assistant, corpus.group_of
    settings = assistant.settings
    articles = corpus.articles
    gold = {item.id: corpus.gold(item) for item in items}

    systems: list = [Ours(assistant)]
    if baseline:
        systems += [LlamaIndexBaseline(assistant, articles), BM25Baseline(assistant, articles)]
    report = Report(dataset=str(dataset), corpus=items[0].corpus,
                    settings=json.loads(settings.model_dump_json()), version=_version(),
                    started=datetime.now(UTC).isoformat(timespec="seconds"))
    total = len(items) * len(systems)
    done = 0
    for system in systems:
        rows = []
        for item in items:
            if progress:
                progress(done, total, f"{system.name}: {item.id}")
            rows.append(score(item, system.run(item), gold[item.id], group_of))
            done += 1
        tags = sorted({t for r in rows for t in r["tags"]})
        report.systems[system.name] = {
            "overall": aggregate(rows),
            "tags": {t: aggregate([r for r in rows if t in r["tags"]]) for t in tags},
            "rows": rows,
        }
    if progress:
        progress(total, total, "")
    return report


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(report: Report) -> str:
    names = list(report.systems)
    lines = [f"# Evaluation: {Path(report.dataset).name}", "",
             f"corpus `{report.corpus}` · llm `{report.settings.get('llm')}` · "
             f"version {report.version.get('news-assistant')} ({report.version.get('git')}) · "
             f"{report.started}", "",
             "| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    overall = {n: report.systems[n]["overall"] for n in names}
    keys = ["questions"] + [f"{lvl}_hit@{k}" for lvl in ("article", "passage") for k in K_VALUES]
    keys += ["article_mrr", "passage_mrr", "citation_precision", "quote_exactness",
             "quote_chars", "answer_match", "answer_f1", "refusal_accuracy", "answered_when_answerable",
             "refused_when_unanswerable", "duplicates@5", "generated", "unsupported_sentences",
             "unsupported_shown"]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(_fmt(overall[n].get(key)) for n in names) + " |")
    for n in names:
        for stage, pct in overall[n]["latency_ms"].items():
            lines.append(f"| {n} {stage} p50/p95 ms | "
                         + " | ".join(f"{_fmt(pct['p50'])} / {_fmt(pct['p95'])}" if m == n else ""
                                      for m in names) + " |")
    ours = report.systems.get("ours")
    if ours:
        lines += ["", "## Ours by tag", "",
                  "| tag | n | passage hit@1 | passage hit@5 | passage MRR | citation precision "
                  "| answer match | refusal accuracy |", "|---|---|---|---|---|---|---|---|"]
        for tag, m in ours["tags"].items():
            lines.append(f"| {tag} | {m['questions']} | {_fmt(m['passage_hit@1'])} | "
                         f"{_fmt(m['passage_hit@5'])} | {_fmt(m['passage_mrr'])} | "
                         f"{_fmt(m['citation_precision'])} | {_fmt(m['answer_match'])} | "
                         f"{_fmt(m['refusal_accuracy'])} |")
        misses = [r for r in ours["rows"] if not r["refusal_correct"]
                  or (r["answerable"] and not r.get("passage_hit@1"))]
        if misses:
            lines += ["", "## Ours: misses (wrong refusal or evidence passage not first)", ""]
            lines += [f"- `{r['id']}` refused={r['refused']} passage_hit@5="
                      f"{r.get('passage_hit@5')}" for r in misses]
    return "\n".join(lines) + "\n"


def plot(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report.systems)
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for i, name in enumerate(names):
        overall = report.systems[name]["overall"]
        values = [overall.get(k) or 0.0 for k in HEADLINE]
        ax.bar([x + i * width for x in range(len(HEADLINE))], values, width, label=name)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(HEADLINE))])
    ax.set_xticklabels(HEADLINE, rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{Path(report.dataset).name} ({report.corpus}, llm={report.settings.get('llm')})")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(report: Report, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=1, ensure_ascii=False))
    (out / "report.md").write_text(markdown(report))
    plot(report, out / "report.png")


def load_report(path: Path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EvalError(f"{path}: not a report.json ({exc})") from exc


def compare(a: dict, b: dict) -> list[tuple[str, str, float | None, float | None, float | None]]:
    """(system, metric, A, B, B − A) for every headline metric both reports have."""
    rows = []
    for system in a["systems"]:
        if system not in b["systems"]:
            continue
        for key in ["questions", *[f"passage_hit@{k}" for k in K_VALUES],
                    *[f"article_hit@{k}" for k in K_VALUES], "passage_mrr", "citation_precision",
                    "quote_exactness", "quote_chars", "answer_match", "answer_f1",
                    "refusal_accuracy"]:
            va = a["systems"][system]["overall"].get(key)
            vb = b["systems"][system]["overall"].get(key)
            delta = round(vb - va, 4) if va is not None and vb is not None else None
            rows.append((system, key, va, vb, delta))
    return rows
