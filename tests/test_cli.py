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


# `assistant ask` analyses the question with spaCy in a forked child while it opens the index.
# The script runs the CLI in a new process (this one has numpy loaded: no fork here); with
# "fail", the child dies before answering. It reports whether the parent had to load spaCy
# itself and whether any child process was left behind.
_ASK_AHEAD = """
import os, sys
from assistant import language
from assistant.cli import app

if sys.argv[1] == "fail":
    parent, analyse = os.getpid(), language._analyse_question
    def broken(text):
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return analyse(text)
    language._analyse_question = broken
try:
    app(["ask", sys.argv[2], "--json", "--index", sys.argv[3], "--llm", "none"])
except SystemExit as exc:
    assert exc.code == 0, exc.code
try:
    left = os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    left = None
print("spacy in parent:", "spacy" in sys.modules, "child left:", left, file=sys.stderr)
"""


def _without_timings(answer: dict) -> dict:
    return {key: value for key, value in answer.items() if key != "timings"}


def test_ask_answers_the_same_with_spacy_in_a_child_process_or_without_it(seed_index, seed_assistant):
    question = "What did Campbell warn?"
    expected = _without_timings(json.loads(seed_assistant.ask(question).model_dump_json()))
    for child in ("ok", "fail"):
        run = subprocess.run([sys.executable, "-c", _ASK_AHEAD, child, question, str(seed_index)],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        assert _without_timings(json.loads(run.stdout)) == expected
        # the child's analysis was used (the parent never loaded spaCy), or after its failure
        # the parent analysed the question itself; no child is left running or unreaped
        assert f"spacy in parent: {child == 'fail'} child left: None" in run.stderr, run.stderr


def test_a_late_child_is_killed_and_reaped():
    script = """
import os, time
from assistant import language
language._analyse_question = lambda text: time.sleep(30)
started = time.monotonic()
ahead = language.analyse_ahead(["What did Campbell warn?"], timeout=0.5)
assert ahead is not None and ahead.result() == {}, "no answer from a late child"
assert time.monotonic() - started < 5
try:
    os.waitpid(-1, os.WNOHANG)
    raise AssertionError("a child is left")
except ChildProcessError:
    pass
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
