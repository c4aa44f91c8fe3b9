"""`assistant serve`: the app on a real uvicorn server, driven by the `openai` client and httpx."""

from __future__ import annotations

import json
import shutil
import threading
import time
from contextlib import contextmanager
from urllib.parse import quote

import httpx
import openai
import pytest
import uvicorn
from conftest import free_port

from assistant import Assistant, Settings
from assistant.api import EXTRACTIVE_MODEL, MODEL, create_app

QUESTION = "What did Campbell warn?"


@contextmanager
def served(assistant: Assistant, ui: bool = False):
    """The app on uvicorn on a free loopback port, for the length of the block."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(assistant, ui=ui), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture(scope="module")
def api_index(seed_index, tmp_path_factory):
    """A writable copy of the seed index (the articles tests add and delete)."""
    target = tmp_path_factory.mktemp("api") / "index"
    shutil.copytree(seed_index, target)
    return target


@pytest.fixture(scope="module")
def api_assistant(api_index) -> Assistant:
    return Assistant(Settings(index_dir=api_index))


@pytest.fixture(scope="module")
def base_url(api_assistant):
    with served(api_assistant, ui=True) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)


def _contract(answer_json: dict) -> dict:
    """An answer without its timings (the only field that differs run to run)."""
    return {k: v for k, v in answer_json.items() if k != "timings"}


def test_chat_completion_gives_the_same_answer_and_citations_as_ask(client, api_assistant):
    expected = json.loads(api_assistant.ask(QUESTION).model_dump_json())
    reply = client.chat.completions.create(model=MODEL,
                                           messages=[{"role": "user", "content": QUESTION}])
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content == expected["answer"]
    assert reply.choices[0].finish_reason == "stop"
    extra = reply.model_extra
    assert extra["citations"] == expected["citations"] and extra["citations"]
    assert extra["refused"] is False
    assert "[1]" in reply.choices[0].message.content or extra["citations"][0]["quote"]


def test_streamed_chat_completion_carries_the_cited_answer(client, api_assistant):
    expected = json.loads(api_assistant.ask(QUESTION).model_dump_json())
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected["answer"]
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == expected["citations"]
    assert len({c.id for c in chunks}) == 1


def test_a_follow_up_is_read_with_the_conversation(client):
    first = client.chat.completions.create(
        model=EXTRACTIVE_MODEL, messages=[{"role": "user", "content": QUESTION}])
    follow = client.chat.completions.create(model=EXTRACTIVE_MODEL, messages=[
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "Who was he speaking to?"},
    ])
    condensed = follow.model_extra["condensed_question"]
    assert condensed and "Campbell" in condensed


def test_models_lists_both_answer_modes(client):
    assert {m.id for m in client.models.list()} == {MODEL, EXTRACTIVE_MODEL}


def test_ask_returns_the_json_contract(base_url, api_assistant):
    body = {"question": "What did Lammy urge Wang Yi to do?", "k": 4, "source": ["BGNES"],
            "use_llm": False}
    got = httpx.post(f"{base_url}/v1/ask", json=body, timeout=120)
    assert got.status_code == 200, got.text
    expected = api_assistant.ask(body["question"], k=4, source=["BGNES"], use_llm=False)
    assert _contract(got.json()) == _contract(json.loads(expected.model_dump_json()))
    assert len(got.json()["passages"]) == 4


@pytest.mark.parametrize(("name", "send", "status", "code"), [
    ("malformed JSON", {"content": b'{"question": "What', "headers": {"content-type": "application/json"}}, 400, "invalid_request"),
    ("wrong type", {"json": {"question": "What did Campbell warn?", "k": "many"}}, 400, "invalid_request"),
    ("unknown key", {"json": {"question": "What did Campbell warn?", "temperature": 2}}, 400, "invalid_request"),
    ("missing question", {"json": {"k": 3}}, 400, "invalid_request"),
    ("not an object", {"json": ["What did Campbell warn?"]}, 400, "invalid_request"),
    ("huge body", {"content": b'{"question": "' + b"x" * 2_000_000 + b'"}', "headers": {"content-type": "application/json"}}, 413, "request_too_large"),
    ("since after until", {"json": {"question": "What did Campbell warn?", "since": "2025", "until": "2024"}}, 400, "bad_request"),
])
def test_bad_input_to_ask_is_a_clear_json_error(base_url, name, send, status, code):
    got = httpx.post(f"{base_url}/v1/ask", timeout=30, **send)
    assert got.status_code == status, (name, got.text)
    error = got.json()["error"]
    assert error["code"] == code and error["message"]
    assert "Traceback" not in got.text


def test_a_huge_chunked_body_is_refused_as_it_arrives(base_url):
    def pieces():
        yield b'{"question": "'
        for _ in range(40):
            yield b"x" * 100_000
        yield b'"}'

    got = httpx.post(f"{base_url}/v1/ask", content=pieces(), timeout=30,
                     headers={"content-type": "application/json"})
    assert got.status_code == 413 and got.json()["error"]["code"] == "request_too_large"


def test_bad_chat_requests_are_openai_errors(client):
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.BadRequestError, match="last message"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "assistant", "content": "hi"}])
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model=MODEL, messages=[])
    with pytest.raises(openai.BadRequestError, match="at most 2,000"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Why? " * 1000}])
    with pytest.raises(openai.BadRequestError, match="bogus"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}],
                                       extra_body={"bogus": 1})


def test_articles_are_added_listed_answered_from_and_deleted(base_url):
    article = {"title": "Harbour bridge closed for repairs", "source": "Test Wire",
               "published": "2024-05-02",
               "text": "The harbour bridge will close for six weeks of repairs from Monday, the "
                       "city's transport director Mara Quill said. \"The cables are older than "
                       "anyone thought,\" Quill told reporters."}
    added = httpx.post(f"{base_url}/v1/articles", json={"articles": [article]}, timeout=120)
    assert added.status_code == 200, added.text
    assert added.json()["added"] == [article["title"]] and added.json()["errors"] == []
    listed = httpx.get(f"{base_url}/v1/articles", timeout=30).json()["articles"]
    entry = next(e for e in listed if e["title"] == article["title"])
    answer = httpx.post(f"{base_url}/v1/ask", json={"question": "How long will the harbour bridge close?"},
                        timeout=120).json()
    assert answer["citations"] and answer["citations"][0]["article_id"] == entry["id"]
    deleted = httpx.delete(f"{base_url}/v1/articles/{entry['id']}", timeout=60)
    assert deleted.status_code == 200 and deleted.json()["removed"] == [article["title"]]
    assert all(e["key"] != entry["key"] for e in httpx.get(f"{base_url}/v1/articles").json()["articles"])
    again = httpx.delete(f"{base_url}/v1/articles/{entry['id']}", timeout=60)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


def test_uploaded_files_report_each_problem(base_url):
    good = ("storm.txt", b"Storm closes schools\n\nSchools in the valley closed on Tuesday after the "
                         b"storm cut power to 4,000 homes, the council said.")
    bad = ("broken.json", b'{"title": "x", "text": ')
    got = httpx.post(f"{base_url}/v1/articles", files=[("files", good), ("files", bad)], timeout=120)
    assert got.status_code == 200, got.text
    report = got.json()
    assert report["added"] == ["Storm closes schools"]
    assert [e["path"] for e in report["errors"]] == ["broken.json"] and report["errors"][0]["problem"]
    key = next(e["key"] for e in httpx.get(f"{base_url}/v1/articles").json()["articles"]
               if e["title"] == "Storm closes schools")
    # by key, URL-encoded (a key is a path, maybe with '#record')
    assert httpx.delete(f"{base_url}/v1/articles/{quote(key, safe='')}", timeout=60).status_code == 200


def test_articles_need_files_or_json(base_url):
    got = httpx.post(f"{base_url}/v1/articles", content=b"just text", timeout=30,
                     headers={"content-type": "text/plain"})
    assert got.status_code == 415 and "multipart/form-data" in got.json()["error"]["message"]


def test_health_reports_the_index_and_the_llm(base_url):
    health = httpx.get(f"{base_url}/health", timeout=30).json()
    assert health["status"] == "ok" and health["articles"] >= 2 and health["passages"] > 0
    assert health["store"] == "embedded"
    assert health["llm"] == {"backend": "none", "model": None, "state": "off"}


def test_the_page_and_the_docs_are_served_by_the_same_app(base_url):
    page = httpx.get(f"{base_url}/", timeout=30, follow_redirects=True)
    assert page.status_code == 200 and "gradio" in page.text.lower()
    assert httpx.get(f"{base_url}/docs", timeout=30).status_code == 200
    schema = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    assert {"/v1/chat/completions", "/v1/ask", "/v1/articles", "/health"} <= schema["paths"].keys()
    assert "$defs" not in json.dumps(schema)  # every $ref resolves inside the OpenAPI document


def test_api_keys_guard_the_api(api_index):
    keyed = Assistant(Settings(index_dir=api_index, api_keys="s3cret, other"))
    with served(keyed) as url:
        missing = httpx.get(f"{url}/v1/models", timeout=30)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{url}/v1", api_key="nope", max_retries=0).models.list()
        good = openai.OpenAI(base_url=f"{url}/v1", api_key="other", max_retries=0)
        reply = good.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
        assert reply.model_extra["citations"]
        assert httpx.get(f"{url}/health").status_code == 200  # for load balancers: no key


def test_concurrent_clients_each_get_the_answer_to_their_own_question(base_url, api_assistant):
    questions = [QUESTION, "What did Lammy urge Wang Yi to do?", "What is Kurt Campbell's job?",
                 "What did Campbell say about North Korea?"]
    expected = {q: api_assistant.ask(q).answer for q in questions}
    results: list[tuple[str, int, dict]] = []

    def client_loop(n: int) -> None:
        with httpx.Client(base_url=base_url, timeout=120) as client:
            for i in range(3):
                q = questions[(n + i) % len(questions)]
                reply = client.post("/v1/ask", json={"question": q})
                results.append((q, reply.status_code, reply.json()))

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert len(results) == 24
    for q, status, data in results:
        assert status == 200 and data["question"] == q and data["answer"] == expected[q]


def test_assistant_serve_starts_on_loopback(seed_index):
    import subprocess
    import sys

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--no-ui", "--index",
                               str(seed_index), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "assistant serve did not start"
                time.sleep(0.3)
        assert health.json()["status"] == "ok"
        ids = [m["id"] for m in httpx.get(f"http://127.0.0.1:{port}/v1/models").json()["data"]]
        assert ids == [MODEL, EXTRACTIVE_MODEL]
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 404  # --no-ui
    finally:
        server.terminate()
        server.wait(30)


def test_the_mounted_page_answers_through_gradio_client(base_url, api_assistant):
    from gradio_client import Client

    raw = Client(f"{base_url}/", verbose=False).predict(QUESTION, api_name="/ask")
    expected = json.loads(api_assistant.ask(QUESTION).model_dump_json())
    assert _contract(json.loads(raw)) == _contract(expected)


def test_the_mounted_page_keeps_its_login(api_index):
    with served(Assistant(Settings(index_dir=api_index, ui_auth="alice:pw1")), ui=True) as url:
        assert httpx.get(f"{url}/config", timeout=30).status_code == 401
        with httpx.Client(base_url=url, timeout=30) as browser:
            assert browser.post("/login", data={"username": "alice", "password": "pw1"}).status_code == 200
            assert browser.get("/config").status_code == 200
        assert httpx.get(f"{url}/v1/models", timeout=30).status_code == 200  # the API has its own keys
