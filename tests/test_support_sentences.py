"""evals/support_sentences.py: the generated sentences a labeller sees, and what the code
computed about them, kept apart."""

import sys
from pathlib import Path

from assistant import generate
from assistant.answering import choose

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "evals"))
from support_sentences import recording, sentences  # noqa: E402

QUESTION = "What did Campbell warn?"


def test_every_judged_sentence_goes_to_the_labeller_with_its_source_and_no_verdict(seed_assistant):
    pool = seed_assistant.sentences(QUESTION)
    warning = [c for c in pool if "impact on the US-China relationship" in c.text]
    calls: list[dict] = []
    with recording(calls):
        sources = generate.build_sources(
            choose(warning + [c for c in pool if c not in warning], 6, complements=False), 3)
        warning = next(s.n for s in sources if "impact on the US-China relationship" in s.text)
        generated = (f"Campbell said it will have an impact on the US-China relationship [{warning}]. "
                     "Campbell resigned from the State Department in March to join a bank [1].")
        checks, _ = generate.verify(generated, sources, 0.8)
    assert [c.supported for c in checks] == [True, False]

    records = sentences([{"id": "q1", "dataset": "d.jsonl", "story": "s", "question": QUESTION,
                          "answerable": True, "mode": "generated", "refused": False,
                          "calls": calls}])
    assert [r["features"]["supported"] for r in records] == [True, False]
    for record in records:
        label = record["label"]
        assert set(label) == {"question", "sentence", "cited", "passage", "article_title"}
        assert label["cited"] and label["cited"] in label["passage"]
        assert "[" not in label["sentence"]
    assert "impact on the US-China relationship" in records[0]["label"]["cited"]
    assert records[1]["features"]["support"] < 0.8  # the invented one keeps its lexical value
