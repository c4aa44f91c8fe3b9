"""Chroma as a server: a real `chroma run` on loopback; one process ingests, another answers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import SEED_DIR, free_port
from test_api import QUESTION, served

from assistant import Assistant, Settings

CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    """A Chroma server on a free loopback port, its data in a temporary folder."""
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = (folder / "chroma.log").open("wb")
    server = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(folder / "data"), "--host", "127.0.0.1",
         "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, (folder / "chroma.log").read_text()
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "chroma run did not start"
        time.sleep(0.2)
    yield url
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()


def _cli(*args, env: dict, timeout=600):
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **env})


def _contract(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "timings"}


def test_one_process_ingests_and_another_answers_at_once(chroma_url, tmp_path, seed_assistant):
    env = {"ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_CHROMA_NAMESPACE": "handoff"}
    reader = Assistant(Settings(index_dir=tmp_path / "reader", chroma_url=chroma_url,
                                chroma_namespace="handoff"))
    with served(reader) as url:
        empty = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=60)
        assert empty.status_code == 409 and empty.json()["error"]["code"] == "no_index"

        ingest = _cli("ingest", str(SEED_DIR), "--index", str(tmp_path / "writer"), "--json", env=env)
        assert ingest.returncode == 0, ingest.stderr
        assert len(json.loads(ingest.stdout)["added"]) == 2
        # the writer kept nothing that matters on its own disk: the server holds it all
        assert not (tmp_path / "writer" / "manifest.json").exists()
        assert not (tmp_path / "writer" / "articles").exists()

        got = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=120)
        assert got.status_code == 200, got.text
        embedded = json.loads(seed_assistant.ask(QUESTION).model_dump_json())
        assert _contract(got.json()) == _contract(embedded)

        fresh = tmp_path / "new" / "ferry.txt"
        fresh.parent.mkdir()
        fresh.write_text("Ferry strike ends\n\nThe ferry strike ended on Friday after the union "
                         "accepted a 4 per cent pay rise, union secretary Dana Whitlow said.",
                         encoding="utf-8")
        assert _cli("ingest", str(fresh), "--index", str(tmp_path / "writer"), env=env).returncode == 0
        answer = httpx.post(f"{url}/v1/ask", json={"question": "Why did the ferry strike end?"},
                            timeout=120).json()
        assert answer["citations"] and answer["citations"][0]["title"] == "Ferry strike ends"
        assert len(httpx.get(f"{url}/v1/articles").json()["articles"]) == 3


def test_a_killed_ingest_leaves_a_consistent_committed_set(chroma_url, tmp_path):
    env = {"ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_CHROMA_NAMESPACE": "crash"}
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(16):
        (folder / f"story{i:02d}.txt").write_text(
            f"Council vote number {i}\n\nThe council voted {i} times on the budget for district "
            f"{i}, said clerk Number{i}. " + "The meeting ran late. " * 30, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "reader", chroma_url=chroma_url, chroma_namespace="crash")
    writer = subprocess.Popen([sys.executable, "-m", "assistant", "ingest", str(folder), "--index",
                               str(tmp_path / "writer")], env={**os.environ, **env},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = Assistant(settings).store
    deadline = time.monotonic() + 300
    while len(store.load_manifest().articles) < 3 and writer.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    writer.kill()
    writer.wait(30)

    manifest = store.load_manifest()
    assert 0 < len(manifest.articles) < 16  # killed mid-batch, after some commits
    for article_id in manifest.article_ids:  # every committed article is whole
        assert store.article(article_id).text
        assert store.sentence_vectors(article_id) is not None
    owned = {p.article_id for p, _, _ in store.passages()}
    assert manifest.article_ids <= owned
    reader = Assistant(settings)
    some = next(iter(manifest.articles.values()))
    answer = reader.ask(f"What did the council vote on in {some['title'].split()[-1]}?")
    assert all(c.article_id in manifest.article_ids for c in answer.citations)

    # the next ingest finishes the job and drops what the killed one left half-written
    rerun = _cli("ingest", str(folder), "--index", str(tmp_path / "writer"), env=env)
    assert rerun.returncode == 0, rerun.stderr
    store = Assistant(settings).store
    final = store.load_manifest()
    assert len(final.articles) == 16
    assert {p.article_id for p, _, _ in store.passages()} == final.article_ids


def test_the_seed_eval_gives_the_same_figures_against_the_server(chroma_url, tmp_path):
    from assistant.evaluation import evaluate

    dataset = Path(__file__).resolve().parent.parent / "evals" / "seed_articles.jsonl"
    embedded = evaluate(dataset, Settings(llm="none"), tmp_path / "embedded")
    served_ = evaluate(dataset, Settings(llm="none", chroma_url=chroma_url, chroma_namespace="eval"),
                       tmp_path / "server")
    figures = [{k: v for k, v in report.systems["ours"]["overall"].items() if k != "latency_ms"}
               for report in (embedded, served_)]
    assert figures[0] == figures[1]
    assert figures[0]["questions"] >= 30
    rows = [[{k: v for k, v in row.items() if k != "timings"} for row in report.systems["ours"]["rows"]]
            for report in (embedded, served_)]
    assert rows[0] == rows[1]  # the same answer to every question, not only the same averages


def test_a_chroma_server_that_is_down_is_a_503_that_says_what_to_do(tmp_path):
    down = f"http://127.0.0.1:{free_port()}"
    with served(Assistant(Settings(index_dir=tmp_path, chroma_url=down))) as url:
        health = httpx.get(f"{url}/health", timeout=60)
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        ask = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=60)
        assert ask.status_code == 503
        assert ask.json()["error"]["code"] == "store_unavailable"
        assert "chroma run" in ask.json()["error"]["message"]


def test_two_serve_processes_on_one_chroma_server_see_the_same_articles(chroma_url, tmp_path):
    """`assistant serve` in a subprocess takes an article; another serve answers from it at once,
    and no longer lists it once the first deleted it."""
    env = {**os.environ, "ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_CHROMA_NAMESPACE": "pair",
           "ASSISTANT_LLM": "none"}
    port = free_port()
    writer = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--no-ui", "--index",
                               str(tmp_path / "writer"), "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    writer_url = f"http://127.0.0.1:{port}"
    reader = Assistant(Settings(index_dir=tmp_path / "reader", chroma_url=chroma_url,
                                chroma_namespace="pair"))
    try:
        deadline = time.monotonic() + 120
        while True:
            assert writer.poll() is None
            try:
                httpx.get(f"{writer_url}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.3)
        article = {"title": "Library reopens after flood", "source": "Test Wire",
                   "text": "The city library reopened on Saturday, eight months after the flood "
                           "that ruined 12,000 books, head librarian Ana Okafor said."}
        added = httpx.post(f"{writer_url}/v1/articles", json={"articles": [article]}, timeout=120)
        assert added.status_code == 200 and added.json()["added"] == [article["title"]]
        with served(reader) as url:
            answer = httpx.post(f"{url}/v1/ask", json={"question": "How many books did the flood ruin?"},
                                timeout=120).json()
            assert answer["citations"][0]["title"] == article["title"]
            entry = httpx.get(f"{url}/v1/articles").json()["articles"][0]
            assert httpx.delete(f"{writer_url}/v1/articles/{entry['id']}", timeout=60).status_code == 200
            assert httpx.get(f"{url}/v1/articles").json()["articles"] == []
    finally:
        writer.terminate()
        writer.wait(30)
