"""The chat UI, served by `assistant ui` and asked through gradio_client."""

import os
import subprocess
import sys
import time

import pytest
from conftest import SEED_DIR, free_port
from gradio_client import Client


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """`assistant ui` on a fresh index dir: it must build the index from the articles itself."""
    index = tmp_path_factory.mktemp("ui-index") / "index"
    port = free_port()
    env = {**os.environ, "ASSISTANT_ARTICLES_DIR": str(SEED_DIR)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ui", "--index", str(index), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    client = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            client = Client(url, verbose=False)
            break
        except Exception:
            time.sleep(0.5)
    if client is None:
        proc.kill()
        pytest.fail(f"UI did not start: {proc.stdout.read()}")
    yield client, index
    proc.terminate()
    proc.wait(timeout=30)


def test_ui_builds_the_index_on_first_start(ui):
    _, index = ui
    assert (index / "manifest.json").is_file()


def test_ui_answers_with_sources(ui):
    client, _ = ui
    reply = client.predict("What did Campbell warn?", api_name="/chat")
    assert "if this continues" in reply or "We will not sit by" in reply
    assert "**Sources**" in reply
    assert "South China Morning Post" in reply
    assert "Closer Beijing ties with Moscow" in reply


def test_ui_streams_the_answer(ui):
    client, _ = ui
    job = client.submit("What did Campbell warn?", api_name="/chat")
    job.result(timeout=120)
    updates = job.outputs()
    assert len(updates) >= 3
    assert "Sources" not in updates[1] and "Sources" in updates[-1]


def test_ui_refusal_is_plain(ui):
    client, _ = ui
    reply = client.predict("What did Campbell say about North Korea?", api_name="/chat")
    assert "don't contain the answer" in reply and "Sources" not in reply


def test_ui_filters_restrict_the_articles(ui):
    client, _ = ui
    question = "What did Lammy urge Wang Yi to do?"
    only_scmp = client.predict(question, "", "", ["South China Morning Post"], api_name="/chat")
    assert "don't contain the answer" in only_scmp
    only_bgnes = client.predict(question, "", "", ["BGNES"], api_name="/chat")
    assert "take all measures" in only_bgnes
    bad_date = client.predict("What did Campbell warn?", "someday", "", [], api_name="/chat")
    assert "Cannot read the date" in bad_date
