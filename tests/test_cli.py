"""The `assistant` command: the --json contract, and clear errors without tracebacks."""

import json
import subprocess
import sys

ASSISTANT = [sys.executable, "-m", "assistant"]


def _run(*args, timeout=300):
    return subprocess.run([*ASSISTANT, *args], capture_output=True, text=True, timeout=timeout)


def test_ask_json_has_the_stable_contract(seed_index):
    run = _run("ask", "What did Campbell warn?", "--json", "--index", str(seed_index),
               "--llm", "none", "-k", "4")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert {"question", "answer", "refused", "citations", "passages", "timings"} <= data.keys()
    assert data["question"] == "What did Campbell warn?" and data["refused"] is False
    assert len(data["passages"]) == 4
    for passage in data["passages"]:
        assert {"article_id", "path", "text", "score"} <= passage.keys()
    for citation in data["citations"]:
        assert {"n", "article_id", "title", "source", "published", "path", "quote", "start",
                "end"} <= citation.keys()
        article = json.loads((seed_index / "articles" / f"{citation['article_id']}.json").read_text())
        assert article["text"][citation["start"]:citation["end"]] == citation["quote"]
        assert citation["path"].endswith("003_ee12390e8f92d40b.txt")
        assert any("Kurt Campbell" in name for name in citation["speakers"])  # "He said ..."
    assert data["timings"]["retrieve_ms"] > 0 and data["timings"]["answer_ms"] > 0


def test_ask_refusal_in_json(seed_index):
    data = json.loads(_run("ask", "What did Campbell say about North Korea?", "--json",
                           "--index", str(seed_index)).stdout)
    assert data["refused"] is True and data["citations"] == []


def test_ask_without_an_index_says_how_to_build_one(tmp_path):
    run = _run("ask", "What did Campbell warn?", "--index", str(tmp_path / "none"))
    assert run.returncode != 0
    assert "assistant ingest" in run.stderr and "Traceback" not in run.stderr


def test_ingest_of_a_missing_path_is_an_error(tmp_path):
    run = _run("ingest", str(tmp_path / "nowhere"), "--index", str(tmp_path / "index"))
    assert run.returncode == 1
    assert "nowhere: no such file or folder" in run.stderr


def test_plain_ask_prints_answer_and_sources(seed_index):
    run = _run("ask", "What did Lammy urge Wang Yi to do?", "--index", str(seed_index))
    assert run.returncode == 0
    assert "take all measures to investigate" in run.stdout
    assert "[1]" in run.stdout and "BGNES" in run.stdout
