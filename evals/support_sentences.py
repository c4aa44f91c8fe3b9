"""Generated sentences to label by hand, for fitting the verifier's support score (issue 17).

    python evals/support_sentences.py run evals/seed_train.jsonl:25 evals/lee_train.jsonl:215 \
        --out tmp/support_run.jsonl          # answer a seeded sample with the local LLM
    python evals/support_sentences.py run evals/lee_train.jsonl:60 --seed 41 \
        --exclude evals/support/batch1 evals/support/batch2 --out tmp/run.jsonl  # new questions only
    python evals/support_sentences.py extract tmp/support_run.jsonl --out /work/data/support
    python evals/support_sentences.py agreement evals/support/batch1   # verifier vs hand labels

``run`` answers a seeded sample of each TRAINING dataset's questions (``file:count``; spread
over its stories, about 85% answerable, no follow-ups) with ``--llm local`` and appends one JSON
line per question as it is answered, so a run cut short still counts. It records what the
verifier was given and found (``generate.verify`` is wrapped, the answer code is unchanged):
the generated text, the numbered sources the model saw, the checks, and each sentence's best
aligned source sentence also when it was not supported (the verifier once more at threshold 0).

``extract`` writes ``to_label.jsonl`` (question, sentence, cited source sentence, its passage,
article title; no scores, seeded shuffle) for a blind labeller, and ``features.jsonl`` with the
same ids and what the code computed (lexical support, supported flag, question, dataset, story,
article and offsets, the scorer's probability of the cited sentence) for the later fit.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from fit import story_of  # evals/fit.py: the grouping the fit uses

from assistant import generate
from assistant.evaluation import EvalError, Item, load_dataset, open_corpus
from assistant.settings import Settings

CACHE = Path(__file__).parent / ".cache"
BLIND = re.compile(r"holdout|blind|fresh")


def sample(items: list[Item], count: int, seed: int, answerable: float = 0.85) -> list[Item]:
    """``count`` standalone questions, ``answerable`` of them answerable, taken one story at a
    time (each story's next question before any story's one after), in a seeded random order."""
    rng = random.Random(seed)
    stories = story_of(items)
    chosen: list[Item] = []
    for want, pool in ((round(count * answerable), [i for i in items if i.answerable]),
                       (count - round(count * answerable), [i for i in items if not i.answerable])):
        by_story: dict[str, list[Item]] = defaultdict(list)
        for item in pool:
            if not item.history:
                by_story[stories[item.id]].append(item)
        for questions in by_story.values():
            rng.shuffle(questions)
        order = sorted(by_story)
        rng.shuffle(order)
        round_ = 0
        while want > 0 and any(len(q) > round_ for q in by_story.values()):
            for story in order:
                if want > 0 and len(by_story[story]) > round_:
                    chosen.append(by_story[story][round_])
                    want -= 1
            round_ += 1
    rng.shuffle(chosen)
    return chosen


@contextmanager
def recording(calls: list[dict]):
    """Record every ``generate.build_sources`` and ``generate.verify`` call into ``calls``."""
    build, verify = generate.build_sources, generate.verify

    def built(candidates, limit):
        sources = build(candidates, limit)
        calls.append({"candidates": [
            {"article_id": c.hit.article.id, "start": c.span.start, "end": c.span.end,
             "score": round(c.score, 4)} for c in candidates]})
        return sources

    def verified(text, sources, threshold, judge=None, embed=None, rated=None):
        checks, support = verify(text, sources, threshold, judge, embed, rated)
        aligned_checks, aligned = verify(text, sources, 0.0)  # every sentence's best source
        if not calls or "generated" in calls[-1]:  # verified without build_sources before it
            calls.append({})
        calls[-1].update({
            "generated": text, "threshold": threshold,
            "sources": [{"n": s.n, "article_id": s.hit.article.id, "title": s.hit.article.title,
                         "passage_id": s.hit.passage.id, "passage_start": s.hit.passage.start,
                         "passage_end": s.hit.passage.end, "passage": s.hit.passage.text,
                         "sentences": [{"start": sp.start, "end": sp.end,
                                        "text": s.hit.article.text[sp.start:sp.end]}
                                       for sp in s.sentences]} for s in sources],
            "checks": [c.model_dump() for c in checks],
            "support": [{"check": i, "n": src.n, "start": sp.start, "end": sp.end}
                        for i, src, sp in support],
            "aligned": [{"check": i, "n": src.n, "start": sp.start, "end": sp.end}
                        for i, src, sp in aligned],
            "aligned_support": [c.support for c in aligned_checks],
        })
        return checks, support

    generate.build_sources, generate.verify = built, verified
    try:
        yield
    finally:
        generate.build_sources, generate.verify = build, verify


def used_questions(folders: list[Path]) -> tuple[set[str], set[str]]:
    """The question ids (``features.jsonl``) and question texts (``to_label.jsonl``) of earlier
    batches: some datasets share a question's text under other ids (lee.jsonl, lee_train.jsonl)."""
    ids: set[str] = set()
    texts: set[str] = set()
    for folder in folders:
        features = folder / "features.jsonl"
        if not features.exists():
            raise EvalError(f"{features} not found: --exclude takes batch folders")
        ids |= {json.loads(line)["question_id"] for line in features.open() if line.strip()}
        to_label = folder / "to_label.jsonl"
        if to_label.exists():
            texts |= {_norm(json.loads(line)["question"]) for line in to_label.open()
                      if line.strip()}
    return ids, texts


def _norm(question: str) -> str:
    return " ".join(question.lower().split())


def run(specs: list[str], out: Path, seed: int, exclude: list[Path] = ()) -> int:
    used_ids, used_texts = used_questions(list(exclude))
    done = set()
    if out.exists():
        done = {json.loads(line)["id"] for line in out.read_text().splitlines() if line.strip()}
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = Settings(llm="local")
    for spec in specs:
        path, _, count = spec.partition(":")
        if BLIND.search(Path(path).name):
            raise EvalError(f"{path} is a blind set: never sample it")
        items = load_dataset(Path(path))
        stories = story_of(items)
        fresh = [i for i in items
                 if i.id not in used_ids and _norm(i.question) not in used_texts]
        if exclude:
            print(f"{Path(path).name}: {len(items) - len(fresh)} of {len(items)} questions "
                  f"skipped (in {', '.join(map(str, exclude))})", flush=True)
        chosen = [i for i in sample(fresh, int(count or len(fresh)), seed) if i.id not in done]
        assistant = open_corpus(items[0].corpus, settings, CACHE).assistant
        for k, item in enumerate(chosen, 1):
            calls: list[dict] = []
            started = time.perf_counter()
            with recording(calls):
                answer = assistant.ask(item.question)
            seconds = time.perf_counter() - started
            row = {"id": item.id, "dataset": Path(path).name, "story": stories[item.id],
                   "question": item.question, "answerable": item.answerable,
                   "prompt": settings.answer_prompt, "mode": answer.mode,
                   "refused": answer.refused, "answer": answer.answer,
                   "timings": answer.timings, "seconds": round(seconds, 1),
                   "calls": [c for c in calls if "generated" in c]}
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            sentences = sum(len(c["checks"]) for c in row["calls"])
            print(f"{Path(path).name} {k}/{len(chosen)} {item.id}: {seconds:.1f} s, "
                  f"{sentences} sentences, mode {answer.mode}", flush=True)
    return 0


def _span_text(call: dict, n: int, start: int) -> tuple[dict, dict]:
    source = next(s for s in call["sources"] if s["n"] == n)
    return source, next(s for s in source["sentences"] if s["start"] == start)


def sentences(rows: list[dict]) -> list[dict]:
    """One record per generated sentence the verifier judged: what a labeller sees and what
    the code computed."""
    out = []
    for row in rows:
        for call in row["calls"]:
            supported = {a["check"]: a for a in call["support"]}
            aligned = {a["check"]: a for a in call["aligned"]}
            scores = {(c["article_id"], c["start"]): c["score"] for c in call.get("candidates", [])}
            for i, check in enumerate(call["checks"]):
                # the verifier's source sentence; for a misquote (no alignment) the [n] it claimed
                link = supported.get(i) or aligned.get(i)
                if link is not None:
                    source, cited = _span_text(call, link["n"], link["start"])
                    cited_spans = [cited]
                elif check["citations"] or call["sources"]:
                    n = (check["citations"] or [call["sources"][0]["n"]])[0]
                    source = next(s for s in call["sources"] if s["n"] == n)
                    cited_spans = source["sentences"]
                else:
                    continue
                out.append({
                    "label": {"question": row["question"], "sentence": check["text"],
                              "cited": " ".join(s["text"] for s in cited_spans),
                              "passage": source["passage"], "article_title": source["title"]},
                    "features": {
                        "question_id": row["id"], "dataset": row["dataset"],
                        "prompt": row.get("prompt", "answer"),
                        "story": row["story"], "answerable": row["answerable"],
                        "answer_mode": row["mode"], "refused": row["refused"],
                        "support": check["support"], "supported": check["supported"],
                        "problem": check["problem"], "threshold": call["threshold"],
                        "aligned_support": call["aligned_support"][i],
                        "claimed": check["citations"], "source_n": source["n"],
                        "aligned_by": "verifier" if link else "claimed [n]",
                        "article_id": source["article_id"], "passage_id": source["passage_id"],
                        "passage_start": source["passage_start"],
                        "passage_end": source["passage_end"],
                        "cited_spans": [[s["start"], s["end"]] for s in cited_spans],
                        "cited_score": max((scores.get((source["article_id"], s["start"]), 0.0)
                                            for s in cited_spans), default=0.0),
                        "source_spans": [[s["start"], s["end"]] for s in source["sentences"]],
                        "sentence_index": i, "sentences_in_answer": len(call["checks"]),
                        "generated": call["generated"]}})
    return out


def extract(runs: list[Path], out: Path, seed: int, prefix: str = "g") -> int:
    rows = [json.loads(line) for run_ in runs for line in run_.read_text().splitlines()
            if line.strip()]
    records = sentences(rows)
    random.Random(seed).shuffle(records)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "to_label.jsonl").open("w") as label, (out / "features.jsonl").open("w") as feats:
        for k, record in enumerate(records, 1):
            label.write(json.dumps({"id": f"{prefix}{k:04d}", **record["label"]}, ensure_ascii=False) + "\n")
            feats.write(json.dumps({"id": f"{prefix}{k:04d}", **record["features"]}, ensure_ascii=False)
                        + "\n")
    feats_ = [r["features"] for r in records]
    print(f"{len(records)} sentences from {len({f['question_id'] for f in feats_})} questions, "
          f"{len({(f['dataset'], f['story']) for f in feats_})} stories "
          f"({len(rows)} questions asked, {len({(r['dataset'], r['story']) for r in rows})} stories); "
          f"{sum(f['supported'] for f in feats_)} marked supported by the verifier")
    calls = [c for r in rows for c in r["calls"]]
    print(f"{len(calls)} generations checked, {sum(not c['checks'] for c in calls)} of them "
          f"stated nothing to check (e.g. only a marker such as \"[1]\")")
    return 0


def agreement(folders: list[Path]) -> int:
    """How often today's verifier (``supported`` in features.jsonl) agrees with the hand labels
    (``supported`` in labelled.jsonl) of the same sentences."""
    pairs = []
    for folder in folders:
        ours = {r["id"]: r for r in map(json.loads, (folder / "features.jsonl").open())}
        for label in map(json.loads, (folder / "labelled.jsonl").open()):
            pairs.append((bool(ours[label["id"]]["supported"]), bool(label["supported"]),
                          bool(label.get("answers"))))
    if not pairs:
        print("no labelled sentences")
        return 1
    agree = sum(v == h for v, h, _ in pairs)
    print(f"{len(pairs)} hand-labelled sentences: {sum(h for _, h, _ in pairs)} supported, "
          f"{sum(a for *_, a in pairs)} answer the question")
    print(f"verifier agrees with the labels on {agree} ({agree / len(pairs):.0%}): "
          f"accepts {sum(v and not h for v, h, _ in pairs)} unsupported, "
          f"rejects {sum(h and not v for v, h, _ in pairs)} supported")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    r = commands.add_parser("run", help="answer a seeded sample with the local LLM")
    r.add_argument("datasets", nargs="+", help="training dataset[:number of questions]")
    r.add_argument("--out", type=Path, required=True, help="JSONL, appended to (resumes)")
    r.add_argument("--exclude", nargs="+", type=Path, default=[], metavar="FOLDER",
                   help="earlier batch folders: skip any question in their features.jsonl "
                        "(by id) or to_label.jsonl (by text)")
    e = commands.add_parser("extract", help="the files for the labeller and the fit")
    e.add_argument("runs", nargs="+", type=Path)
    e.add_argument("--out", type=Path, required=True, help="folder for the two JSONL files")
    e.add_argument("--prefix", default="g",
                   help="id prefix: a new batch takes its own letter so no id repeats an earlier one")
    for p in (r, e):
        p.add_argument("--seed", type=int, default=17)
    a = commands.add_parser("agreement", help="today's verifier against the hand labels")
    a.add_argument("folders", nargs="+", type=Path, help="with features.jsonl and labelled.jsonl")
    args = parser.parse_args(argv)
    if args.command == "agreement":
        return agreement(args.folders)
    if args.command == "run":
        return run(args.datasets, args.out, args.seed, args.exclude)
    return extract(args.runs, args.out, args.seed, args.prefix)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
