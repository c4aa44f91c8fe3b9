"""The eval harness on the seed dataset: real floors, so a quality regression fails CI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Settings
from assistant.errors import AssistantError
from assistant.evaluation import EvalError, evaluate, load_dataset, normalise

ROOT = Path(__file__).resolve().parent.parent
SEED_DATASET = ROOT / "evals" / "seed_articles.jsonl"


@pytest.fixture(scope="module")
def seed_report(tmp_path_factory):
    cache = tmp_path_factory.mktemp("eval-cache")
    return evaluate(SEED_DATASET, Settings(), cache, baseline=True)


def test_datasets_are_valid():
    run = subprocess.run([sys.executable, str(ROOT / "evals" / "check_datasets.py")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "seed_articles.jsonl: " in run.stdout


def test_seed_dataset_floors(seed_report):
    ours = seed_report.systems["ours"]["overall"]
    assert ours["questions"] >= 30
    assert ours["quote_exactness"] == 1.0  # anything less is a bug in the verifier or the answer
    assert ours["article_hit@1"] >= 0.95
    assert ours["passage_hit@1"] >= 0.85
    assert ours["passage_hit@5"] >= 0.95
    # floors of the fitted scorer (issue 16): it refuses more than the old hand-tuned rules
    # (seed answer match 0.927 -> 0.68), citing right more often on questions nobody tuned for
    assert ours["refusal_accuracy"] >= 0.8
    assert ours["refused_when_unanswerable"] >= 0.85
    assert ours["answer_match"] >= 0.65
    assert ours["citation_precision"] >= 0.85


def test_ours_beats_the_baselines_where_they_differ(seed_report):
    systems = seed_report.systems
    assert set(systems) == {"ours", "llamaindex", "bm25"}
    for name in ("llamaindex", "bm25"):
        other = systems[name]["overall"]
        assert systems["ours"]["overall"]["article_hit@1"] > other["article_hit@1"]
        assert systems["ours"]["overall"]["passage_hit@1"] > other["passage_hit@1"]
        assert systems["ours"]["overall"]["passage_mrr"] > other["passage_mrr"]
        # the baselines never refuse, so they answer every unanswerable question
        assert other["refused_when_unanswerable"] == 0.0
        assert systems["ours"]["overall"]["refusal_accuracy"] > other["refusal_accuracy"]


def test_report_records_settings_and_version(seed_report):
    data = seed_report.to_json()
    assert data["settings"]["llm"] == "none" and data["version"]["news-assistant"]
    rows = data["systems"]["ours"]["rows"]
    assert len(rows) == len(load_dataset(SEED_DATASET))
    assert {"who-said-what", "unanswerable", "follow-up", "time", "multi-article", "fact"} <= set(
        data["systems"]["ours"]["tags"])


def test_cli_writes_reports_and_compares(tmp_path):
    lines = [json.loads(line) for line in SEED_DATASET.read_text().splitlines()]
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps(item) + "\n" for item in lines[:3] + lines[-2:]))
    cli = [sys.executable, "-m", "assistant", "eval"]
    for out in ("a", "b"):
        run = subprocess.run([*cli, str(small), "--out", str(tmp_path / out), "--cache",
                              str(tmp_path / "cache")], capture_output=True, text=True,
                             timeout=300, cwd=ROOT)
        assert run.returncode == 0, run.stderr
        assert "refusal_accuracy" in run.stdout
        for name in ("report.json", "report.md", "report.png"):
            assert (tmp_path / out / name).stat().st_size > 0
    run = subprocess.run([*cli, "--compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    deltas = {(r["system"], r["metric"]): r["delta"] for r in json.loads(run.stdout)}
    assert deltas[("ours", "passage_hit@1")] == 0  # same code, same data: same figures


def test_bad_dataset_line_is_named(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(SEED_DATASET.read_text().splitlines()[0] + "\n{\"id\": \"x\"}\n")
    with pytest.raises(EvalError, match=r"bad.jsonl:2"):
        load_dataset(bad)
    run = subprocess.run([sys.executable, "-m", "assistant", "eval", str(bad)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 2 and "bad.jsonl:2" in run.stderr and "Traceback" not in run.stderr


def test_answer_match_reads_number_words_as_digits():
    # "Twenty-one people including 14 Australians" answers "how many were killed? 21"
    assert normalise("21 people") in normalise("Twenty-one people including 14 Australians")
    assert normalise("Ninety nine") == "99" and normalise("seven") == "7"
    assert normalise("the seventh often") == "seventh often"  # not inside other words


def test_unsupported_shown_counts_what_the_reader_sees_marked_or_removed():
    from assistant.evaluation import aggregate

    checks = [{"text": "Campbell warned China.", "supported": True},
              {"text": "He also praised the weather.", "supported": False}]

    def row(answer):
        return {"id": "q", "answerable": True, "refused": False, "mode": "generated",
                "refusal_correct": True, "answer": answer, "sentences": checks, "timings": {},
                "tags": [], "citations": 1, "citations_precise": 1, "citations_verified": 1}

    marked = aggregate([row("Campbell warned China. [1] ⚠ He also praised the weather.")])
    removed = aggregate([row("Campbell warned China. [1]")])
    assert marked["unsupported_sentences"] == removed["unsupported_sentences"] == 0.5
    assert marked["unsupported_shown"] == 0.5
    assert removed["unsupported_shown"] == 0.0


def test_a_tag_narrows_the_run_to_its_questions(tmp_path):
    tagged = [item.id for item in load_dataset(SEED_DATASET) if "follow-up" in item.tags]
    report = evaluate(SEED_DATASET, Settings(llm="none"), tmp_path, tag="follow-up")
    assert [row["id"] for row in report.systems["ours"]["rows"]] == tagged
    with pytest.raises(AssistantError, match="no question is tagged 'no-such-tag'"):
        evaluate(SEED_DATASET, Settings(llm="none"), tmp_path, tag="no-such-tag")
