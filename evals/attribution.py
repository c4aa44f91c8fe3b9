"""Who said what, measured: the speakers ingest records for hand-labelled Lee sentences.

    python evals/attribution.py [evals/speakers/dev.jsonl | evals/speakers/holdout.jsonl] [--json]

It measures what ingest uses: the attribution read off spaCy's parse (``assistant/attribution.py``).
It replaced hand-written rules (``speech.py``, deleted), which measured dev 0.978 and holdout
0.893 accuracy; the parse measured dev 1.000 and holdout 0.946 when it was switched on.

Each line of the dataset names a Lee story, one of its sentences and who speaks in it, by the
article's own words: the person or the named organisation ("the Pentagon said"), or nobody
when no one is named ("a spokesman says", "witnesses said") or nothing is said. A spokesman
for someone named speaks for them ("a spokesman for Philip Ruddock says": Ruddock), as ingest
has it. The sentences were drawn at random (seeded) from every Lee sentence with a speech
word or a quotation mark and labelled from the text alone, before comparing with what ingest
records.
``speakers/dev.jsonl`` (92 sentences) was then used to improve the rules and the parse-based
attribution; ``speakers/holdout.jsonl`` (56 sentences, a second draw) was not: it measures how
well they carry over.

A sentence is right when the recorded speakers are the labelled ones: the same people (a name
fits a fuller one, "Mr Giuliani" is Rudolph Giuliani) and no one else. Precision counts
recorded speakers who are labelled, recall labelled speakers who are recorded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.articles import load_file  # noqa: E402
from assistant.evaluation import corpus_files  # noqa: E402
from assistant.text import same_person  # noqa: E402

DATASET = ROOT / "evals" / "speakers" / "dev.jsonl"
CACHE = ROOT / "evals" / ".cache"


def _fits(recorded: str, labelled: str) -> bool:
    """One speaker: the same person, or the same organisation named more or less fully
    ("Rural Fire Service" in "New South Wales Rural Fire Service")."""
    return same_person(recorded, labelled) or recorded in labelled or labelled in recorded


def _system(name: str):
    """The ``analyse`` of one attribution system: only the parse is left."""
    if name != "parse":
        raise SystemExit(f"--system is parse (the hand-written rules are gone), not {name!r}")
    from assistant.attribution import analyse

    return analyse


def measure(dataset: Path = DATASET, system: str = "parse") -> dict:
    analyse = _system(system)
    folder = corpus_files("lee", CACHE)
    analysed: dict[str, tuple] = {}  # article file → (its text, its sentences with speakers)
    rows = []
    for n, line in enumerate(dataset.read_text(encoding="utf-8").splitlines(), 1):
        item = json.loads(line)
        if item["article"] not in analysed:
            loaded, errors = load_file(folder / item["article"])
            if errors or len(loaded) != 1:
                raise SystemExit(f"{dataset}:{n}: cannot load {item['article']}: {errors}")
            analysed[item["article"]] = (loaded[0].text, analyse(loaded[0].text))
        text, sentences = analysed[item["article"]]
        found = [s for s in sentences if " ".join(text[s.start:s.end].split()) == item["sentence"]]
        if not found:
            raise SystemExit(f"{dataset}:{n}: sentence not found in {item['article']}: "
                             f"{item['sentence'][:60]!r}")
        recorded, labelled = list(found[0].speakers), item["speakers"]
        right_recorded = sum(any(_fits(r, g) for g in labelled) for r in recorded)
        right_labelled = sum(any(_fits(r, g) for r in recorded) for g in labelled)
        rows.append({"article": item["article"], "sentence": item["sentence"],
                     "labelled": labelled, "recorded": recorded,
                     "right": right_recorded == len(recorded) and right_labelled == len(labelled),
                     "right_recorded": right_recorded, "right_labelled": right_labelled})
    recorded = sum(len(r["recorded"]) for r in rows)
    labelled = sum(len(r["labelled"]) for r in rows)
    return {
        "sentences": len(rows),
        "accuracy": round(sum(r["right"] for r in rows) / len(rows), 4),
        "precision": round(sum(r["right_recorded"] for r in rows) / recorded, 4) if recorded else None,
        "recall": round(sum(r["right_labelled"] for r in rows) / labelled, 4) if labelled else None,
        "misses": [r for r in rows if not r["right"]],
    }


def main(argv: list[str]) -> int:
    system = "parse"  # what ingest uses
    if "--system" in argv:
        at = argv.index("--system")
        if at + 1 >= len(argv):
            raise SystemExit("--system needs a value: parse")
        system = argv[at + 1]
        argv = argv[:at] + argv[at + 2:]
    paths = [a for a in argv if not a.startswith("--")]
    result = measure(Path(paths[0]) if paths else DATASET, system)
    if "--json" in argv:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"{system}: {result['sentences']} labelled sentences: accuracy {result['accuracy']:.3f}, "
          f"speaker precision {result['precision']:.3f}, recall {result['recall']:.3f}")
    for miss in result["misses"]:
        print(f"  {miss['article']}: labelled {miss['labelled']}, recorded {miss['recorded']}: "
              f"{miss['sentence'][:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
