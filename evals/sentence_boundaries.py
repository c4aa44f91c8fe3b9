"""Sentence ends: the project's splitter (``chunking.sentence_spans``) against spaCy's parser.

    python evals/sentence_boundaries.py            # the Lee stories of the eval cache + articles/

Counts the sentence ends both place, and those only one of them places, over every paragraph,
and prints a sample of each kind of disagreement to read. (Issue 16 asks for sentence
boundaries from one place; this is the measurement behind keeping the splitter.)
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import language  # noqa: E402
from assistant.chunking import sentence_spans  # noqa: E402

CORPUS = ROOT / "evals" / ".cache" / "corpora" / "lee"


def main() -> None:
    nlp = language.pipeline()
    files = sorted(CORPUS.glob("*.txt")) + sorted((ROOT / "articles").glob("*"))
    both = ours = theirs = 0
    samples: dict[str, list[str]] = {"splitter only": [], "spaCy only": []}
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        mine = {s.end for s in sentence_spans(text)}
        parsed = {p.start() + s.end_char for p in re.finditer(r"[^\n]+", text)
                  for s in nlp(p.group()).sents}
        both += len(mine & parsed)
        ours += len(mine - parsed)
        theirs += len(parsed - mine)
        for kind, ends in (("splitter only", mine - parsed), ("spaCy only", parsed - mine)):
            samples[kind] += [f"{text[max(0, e - 60):e]} || {text[e:e + 40]}" for e in sorted(ends)]
    print(f"{len(files)} files: {both} sentence ends in both, {ours} only the splitter's, "
          f"{theirs} only spaCy's")
    rng = random.Random(1)
    for kind, found in samples.items():
        for line in rng.sample(found, min(10, len(found))):
            print(f"  {kind}: {line!r}")


if __name__ == "__main__":
    main()
