"""Validate the eval datasets: schema, unique ids, tags, and every gold quote verbatim in the
cleaned article text (the same loader and evidence locator the harness uses).

    python evals/check_datasets.py [DATASET.jsonl ...]     # default: every evals/*.jsonl
"""

import sys
from collections import Counter
from pathlib import Path

from assistant.articles import iter_files, load_file
from assistant.evaluation import EvalError, corpus_files, load_dataset, locate_evidence, normalise

HERE = Path(__file__).resolve().parent


def _near(evidence, articles, reach: int = 300) -> str:
    """The quote, and for "Who said ...?" the text around it that names the speaker ("...,"
    he said: the sentence before says who he is)."""
    article = articles.get(evidence.article)
    if article is None or (at := article.text.find(evidence.quote)) < 0:
        return evidence.quote
    return article.text[max(0, at - reach):at + len(evidence.quote) + reach]


def check(path: Path) -> list[str]:
    problems: list[str] = []
    items = load_dataset(path)
    folder = corpus_files(items[0].corpus, HERE / ".cache")
    articles = {}
    for file in iter_files([folder]):
        if not isinstance(file, Path):
            problems.append(f"{path.name}: corpus: {file}")
            continue
        for article in load_file(file)[0]:
            articles[Path(article.path).name] = article
    for item in items:
        try:
            locate_evidence(item, articles)
        except EvalError as exc:
            problems.append(f"{path.name}: {exc}")
        if item.answerable and not item.answers:
            problems.append(f"{path.name}: {item.id}: answerable but no gold answers")
        if item.answerable and item.answers and not any(
                normalise(a) in normalise(_near(e, articles) if "who-said-what" in item.tags
                                          else e.quote)
                for a in item.answers for e in item.evidence):
            problems.append(f"{path.name}: {item.id}: no gold answer appears in its evidence quotes"
                            " (or, for who said it, in the sentences around them)")
        if not item.answerable and (item.answers or item.evidence or "unanswerable" not in item.tags):
            problems.append(f"{path.name}: {item.id}: unanswerable items need no answers/evidence "
                            "and the 'unanswerable' tag")
        if "follow-up" in item.tags and not item.history:
            problems.append(f"{path.name}: {item.id}: a follow-up needs its history")
    tags = Counter(t for i in items for t in i.tags)
    stories = len({e.article for i in items for e in i.evidence})
    print(f"{path.name}: {len(items)} questions over {stories} articles; "
          + ", ".join(f"{t} {n}" for t, n in sorted(tags.items())))
    return problems


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(HERE.glob("*.jsonl"))
    problems = []
    for path in paths:
        try:
            problems += check(path)
        except EvalError as exc:
            problems.append(str(exc))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
