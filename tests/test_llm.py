"""Generation through a real llama.cpp server (SmolLM2-135M for the plumbing, Qwen 1.5B once),
and the verifier every generated answer goes through."""

import pytest
from conftest import SMOL
from fake_llm import FaultServer

from assistant import Assistant, Settings
from assistant.answering import choose
from assistant.generate import build_sources, verify
from assistant.llm import LocalServer, free_port
from assistant.models import model_path


def _generated(seed_index, server, **extra) -> Assistant:
    return Assistant(Settings(index_dir=seed_index, llm="openai", llm_base_url=server.base_url,
                              llm_api_key="local", llm_model=SMOL, **extra))


def test_answer_streams_sources_first_then_text_then_a_verified_answer(seed_index, smol_server):
    assistant = _generated(seed_index, smol_server)
    events = list(assistant.stream("What did Lammy urge Wang Yi to do?"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "sources" and events[0].passages
    assert kinds[-1] == "answer" and "token" in kinds
    answer = events[-1].answer
    assert answer.mode == "generated" and not answer.refused
    assert answer.timings["first_token_ms"] > 0
    assert answer.sentences and all(s.citations for s in answer.sentences if s.supported)
    for citation in answer.citations:  # generated or not, quotes are the stored text
        article = assistant.store.article(citation.article_id)
        assert article.text[citation.start:citation.end] == citation.quote
    assert "[1]" in answer.answer


def test_verifier_corrects_a_fabricated_citation_and_catches_a_misquote(seed_assistant):
    # the verifier is under test: the sources hold the warning, whatever the scorer ranks first
    pool = seed_assistant.sentences("What did Campbell warn?")
    warning = [c for c in pool if "impact on the US-China relationship" in c.text]
    candidates = choose(warning + [c for c in pool if c not in warning], 6, complements=False)
    sources = build_sources(candidates, 3)
    right = next(s.n for s in sources if "impact on the US-China relationship" in s.text)
    generated = (
        "Campbell said his team told China directly that if this continues it will have an "
        "impact on the US-China relationship [7]. "
        "Campbell said the US would \u201cnever accept any Chinese weapons in Ukraine at all\u201d [1]. "
        "Campbell resigned from the State Department in March to join a bank [2]."
    )
    checks, support = verify(generated, sources, 0.6)
    assert len(checks) == 3
    fabricated, misquote, invented = checks
    assert fabricated.supported and fabricated.citations == [right]  # [7] was never shown
    assert "[7]" in fabricated.problem
    assert not misquote.supported and misquote.problem.startswith("misquote")
    assert not invented.supported and invented.problem == "no source supports it"
    assert [i for i, _, _ in support] == [0]


def test_a_killed_server_gives_the_extractive_answer_with_a_notice(seed_index, tmp_path):
    server = LocalServer(model_path(SMOL), SMOL, log=tmp_path / "server.log")
    server.start()
    assistant = _generated(seed_index, server)
    assert assistant.ask("What did Lammy urge Wang Yi to do?").mode == "generated"
    server.process.kill()
    server.process.wait()
    answer = assistant.ask("What did Lammy urge Wang Yi to do?")
    assert answer.mode == "extractive" and not answer.refused and answer.citations
    assert "cannot be reached" in answer.notice and "extractive answer" in answer.notice


def test_use_llm_false_answers_extractively_without_asking_the_model(seed_index, smol_server):
    events = list(_generated(seed_index, smol_server).stream("What did Lammy urge Wang Yi to do?",
                                                             use_llm=False))
    answer = events[-1].answer
    assert "token" not in [e.kind for e in events]
    assert answer.mode == "extractive" and "first_token_ms" not in answer.timings
    assert "take all measures" in answer.answer


def test_an_endpoint_that_is_down_or_too_slow_falls_back(seed_index):
    down = Assistant(Settings(index_dir=seed_index, llm="openai", llm_api_key="x",
                              llm_base_url=f"http://127.0.0.1:{free_port()}/v1"))
    answer = down.ask("What did Campbell warn?")
    assert answer.mode == "extractive" and answer.citations and "cannot be reached" in answer.notice
    with FaultServer("hang") as silent:  # accepts the request and never answers
        slow = Assistant(Settings(index_dir=seed_index, llm="openai", llm_api_key="x",
                                  llm_base_url=silent.base_url, llm_first_token_timeout=1.0))
        answer = slow.ask("What did Campbell warn?")
    assert answer.mode == "extractive" and answer.citations
    assert "did not answer within" in answer.notice


def test_below_the_refusal_threshold_the_model_writes_only_from_the_ask_threshold(seed_index,
                                                                                   smol_server):
    question = "What did Lavrov say about Taiwan?"  # the quotes refuse: Lavrov says nothing on it
    quotes = Assistant(Settings(index_dir=seed_index, llm="none"))
    assert quotes.ask(question).refused
    top = max(c.score for c in quotes.sentences(question))
    assert 0 < top < quotes.scorer.threshold
    above = _generated(seed_index, smol_server, llm_ask_threshold=top + 0.01).ask(question)
    assert above.refused and "first_token_ms" not in above.timings  # the model was not asked
    asked = _generated(seed_index, smol_server, llm_ask_threshold=top).ask(question)
    assert "first_token_ms" in asked.timings  # it was, and what it wrote went to the verifier:
    assert asked.refused or (asked.mode == "generated" and asked.citations
                             and all(s.supported for s in asked.sentences if s.citations))
    if asked.refused and asked.sentences:  # the reader saw it stream: the note says why it went
        assert "not supported by the articles; so there is no answer" in asked.notice


def test_the_shipped_ask_threshold_lies_between_the_verifier_and_the_refusal():
    from assistant.scorer import default_ask_threshold, default_scorer
    from assistant.support import default_judge
    # below the verifier's answering threshold nothing the model writes could stand; at the
    # refusal threshold the quotes answer anyway
    assert default_judge().answering <= default_ask_threshold() <= default_scorer().threshold


def test_follow_up_is_rewritten_by_the_llm_when_asked_and_shown(seed_index, smol_server):
    chat = _generated(seed_index, smol_server, condense="llm").chat()
    chat.ask("What did Campbell warn?")
    answer = chat.ask("Who was he speaking with?")
    assert answer.condensed_question and answer.condensed_question != "Who was he speaking with?"


def test_by_default_a_follow_up_is_rewritten_by_rule_even_with_an_llm(seed_index, smol_server):
    chat = _generated(seed_index, smol_server).chat()
    chat.ask("What did Campbell warn?")
    answer = chat.ask("Who was he speaking with?")
    assert answer.condensed_question == "Who was Campbell speaking with?"
    assert answer.mode in ("generated", "extractive") and "Orlins" in " ".join(
        c.quote for c in answer.citations)


def test_sessions_do_not_share_history_and_numbers_stay_stable(seed_index):
    assistant = Assistant(Settings(index_dir=seed_index, llm="none"))
    first, second = assistant.chat(), assistant.chat()
    a1 = first.ask("What did Campbell warn?")
    lone = second.ask("Who was he speaking with?")
    assert lone.condensed_question is None  # nothing to resolve "he" against in this session
    follow = first.ask("Who was he speaking with?")
    assert follow.condensed_question == "Who was Campbell speaking with?"
    assert "Orlins" in follow.answer
    assert len(first.history) == 2 and len(second.history) == 1
    again = first.ask("What did Campbell warn?")
    assert [c.n for c in again.citations] == [c.n for c in a1.citations]  # same passages, same [n]


def test_the_default_model_answers_the_campbell_question_citing_scmp(seed_index):
    assistant = Assistant(Settings(index_dir=seed_index, llm="local"))
    answer = assistant.ask("What did Campbell warn?")
    assert answer.mode == "generated" and not answer.refused
    assert answer.citations and answer.citations[0].source == "South China Morning Post"
    assert answer.citations[0].path.endswith("003_ee12390e8f92d40b.txt")


def test_stopping_the_assistant_stops_its_local_server(seed_index):
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "ASSISTANT_LLM": "local", "ASSISTANT_LLM_MODEL": SMOL}
    chat = subprocess.Popen([sys.executable, "-m", "assistant", "chat", "--index", str(seed_index)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    chat.stdin.write("What did Lammy urge Wang Yi to do?\n")
    chat.stdin.flush()
    children: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not children:
        found = subprocess.run(["pgrep", "-P", str(chat.pid)], capture_output=True, text=True)
        children = [int(p) for p in found.stdout.split()]
        time.sleep(0.5)
    assert children, "the chat never started its llama.cpp server"
    time.sleep(2)
    chat.send_signal(signal.SIGTERM)
    chat.wait(timeout=30)
    time.sleep(1)
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone


def test_the_api_streams_a_generated_answer_with_its_draft_then_the_verified_text(seed_index,
                                                                                  smol_server):
    import openai
    from test_api import served

    from assistant.api import MODEL

    assistant = _generated(seed_index, smol_server)
    with served(assistant) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        chunks = list(client.chat.completions.create(model=MODEL, stream=True, messages=[
            {"role": "user", "content": "What did Lammy urge Wang Yi to do?"}]))
    drafts = [c.model_extra["draft"] for c in chunks if "draft" in (c.model_extra or {})]
    assert drafts  # the model's words as they came
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    last = chunks[-1].model_extra
    assert last["mode"] == "generated" and text and not last["refused"]
    for citation in last["citations"]:
        article = assistant.store.article(citation["article_id"])
        assert article.text[citation["start"]:citation["end"]] == citation["quote"]


def test_the_model_starts_in_the_background_and_a_question_meanwhile_is_answered_at_once(seed_index):
    import time

    from assistant.llm import stop_local_servers

    assistant = Assistant(Settings(index_dir=seed_index, llm="local", llm_model=SMOL))
    try:
        begun = time.monotonic()
        assistant.llm.start_in_background()
        assert assistant.llm.state() == "starting"
        early = assistant.ask("What did Lammy urge Wang Yi to do?")
        waited = time.monotonic() - begun
        assert early.mode == "extractive" and early.citations and not early.refused
        assert "still starting" in early.notice and "quotes the articles" in early.notice
        while assistant.llm.state() == "starting" and time.monotonic() - begun < 180:
            time.sleep(0.2)
        assert assistant.llm.state() == "ready"
        print(f"answered {waited:.1f} s after the start began; model up after "
              f"{time.monotonic() - begun:.1f} s")
        later = assistant.ask("What did Lammy urge Wang Yi to do?")
        assert later.mode == "generated" and not (later.notice or "").count("starting")
    finally:
        stop_local_servers()


def _llama_cpp_unimportable(monkeypatch) -> None:
    import sys

    for name in ("llama_cpp", "llama_cpp.server"):
        monkeypatch.setitem(sys.modules, name, None)  # `import llama_cpp` raises ImportError


def test_while_llama_cpp_is_built_in_the_background_questions_are_answered_from_quotes(
        seed_index, tmp_path, monkeypatch):
    """`make run`'s first start: the UI is up while llama.cpp compiles; it says so, answers from the
    quotes, and uses the model as soon as the build is in, without a restart."""
    import os
    import sys
    import time

    from assistant import llm
    from assistant.llm import stop_local_servers

    monkeypatch.setattr(llm, "BUILD_DIR", tmp_path)
    pending = tmp_path / "llama-build.pending"
    pending.write_text(f"{os.getpid()}\n")  # a live pid: the build is under way
    _llama_cpp_unimportable(monkeypatch)
    assistant = Assistant(Settings(index_dir=seed_index, llm="local", llm_model=SMOL))
    try:
        assistant.llm.start_in_background()  # as the UI does: it waits for the build
        assert assistant.llm.state() == "building"
        early = assistant.ask("What did Lammy urge Wang Yi to do?")
        assert early.mode == "extractive" and early.citations and not early.refused
        assert "being built" in early.notice and "first start" in early.notice
        assert "llama-build.log" in early.notice and "quotes the articles" in early.notice
        time.sleep(2.5)  # the background start keeps waiting; nothing failed meanwhile
        assert assistant.llm.state() == "building"

        for name in ("llama_cpp", "llama_cpp.server"):  # the build installed it ...
            sys.modules.pop(name)
        pending.unlink()  # ... and is done
        begun = time.monotonic()
        while assistant.llm.state() in ("building", "starting") and time.monotonic() - begun < 180:
            time.sleep(0.2)
        assert assistant.llm.state() == "ready"
        later = assistant.ask("What did Lammy urge Wang Yi to do?")
        assert later.mode == "generated" and not (later.notice or "").count("built")
    finally:
        stop_local_servers()


@pytest.mark.parametrize("how", ["failed", "killed"])
def test_a_failed_or_killed_background_build_is_said_with_its_log(seed_index, tmp_path, monkeypatch,
                                                                   how):
    import subprocess

    from assistant import llm

    monkeypatch.setattr(llm, "BUILD_DIR", tmp_path)
    if how == "failed":
        (tmp_path / "llama-build.failed").write_text("")
    else:  # the marker of a build whose process is gone
        gone = subprocess.Popen(["true"])
        gone.wait()
        (tmp_path / "llama-build.pending").write_text(f"{gone.pid}\n")
    _llama_cpp_unimportable(monkeypatch)
    assistant = Assistant(Settings(index_dir=seed_index, llm="local", llm_model=SMOL))
    assert assistant.llm.state() != "building"
    answer = assistant.ask("What did Lammy urge Wang Yi to do?")
    assert answer.mode == "extractive" and answer.citations
    assert "build of llama-cpp-python" in answer.notice and "failed" in answer.notice
    assert str(tmp_path / "llama-build.log") in answer.notice and "make setup" in answer.notice


EXCERPT = ("Campbell, who was speaking during a discussion with Stephen Orlins, said Beijing had "
           "decided “to provide the necessary wherewithal in terms of machine tools … to basically "
           "allow Russia to retool”.")


def test_the_default_model_tells_a_claim_its_excerpt_states_from_one_it_does_not(seed_index):
    from assistant.llm import LLM
    from assistant.support import entailment

    llm = LLM(Settings(index_dir=seed_index, llm="local"))
    stated = entailment(llm, EXCERPT, "Campbell said Beijing was providing machine tools to Russia.")
    changed = entailment(llm, EXCERPT, "Stephen Orlins said Beijing was providing fighter jets to Russia.")
    assert stated > 0 > changed  # log-odds: "yes" to the first, "no" to the second
