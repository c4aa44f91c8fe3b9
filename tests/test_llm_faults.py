"""Our LLM client against broken endpoints: every fault is an LLMError within bounds."""

from __future__ import annotations

import time

import pytest
from fake_llm import FaultServer

from assistant.llm import LLM, LLMError
from assistant.settings import Settings

MESSAGES = [{"role": "user", "content": "What did Campbell warn?"}]


def _llm(server: FaultServer, **extra) -> LLM:
    return LLM(Settings(llm="openai", llm_base_url=server.base_url, llm_api_key="x",
                        llm_model="fake", **extra))


def test_undecodable_bytes_are_a_failed_endpoint_not_a_crash() -> None:
    with FaultServer("garbage") as server, pytest.raises(LLMError):
        _llm(server).complete(MESSAGES)


def test_endless_stream_stops_at_max_tokens_counted_on_our_side() -> None:
    with FaultServer("endless") as server:
        started = time.monotonic()
        text = _llm(server, llm_max_tokens=32).complete(MESSAGES)
        assert len(text.split()) <= 32
        assert time.monotonic() - started < 10


def test_endless_stream_stops_at_the_total_deadline() -> None:
    with FaultServer("endless") as server:
        started = time.monotonic()
        with pytest.raises(LLMError, match="deadline"):
            _llm(server, llm_max_tokens=2048, llm_deadline=1.0).complete(MESSAGES)
        assert time.monotonic() - started < 5


def test_silent_endpoint_fails_at_the_first_token_timeout() -> None:
    with FaultServer("hang") as server:
        started = time.monotonic()
        with pytest.raises(LLMError, match="did not answer within 1"):
            _llm(server, llm_first_token_timeout=1.0).complete(MESSAGES)
        assert time.monotonic() - started < 5


def test_default_first_token_timeout_is_at_most_30_seconds() -> None:
    assert Settings().llm_first_token_timeout <= 30


def test_a_question_beyond_the_models_slots_waits_boundedly_and_is_told_why() -> None:
    import threading

    with FaultServer("hang") as server:
        first = _llm(server, llm_first_token_timeout=6.0, llm_concurrency=1)
        holder = threading.Thread(target=lambda: pytest.raises(LLMError, first.complete, MESSAGES))
        holder.start()
        time.sleep(0.5)  # the first call holds the only slot, waiting on the silent endpoint
        started = time.monotonic()
        with pytest.raises(LLMError, match="busy"):
            _llm(server, llm_first_token_timeout=1.0, llm_concurrency=1).complete(MESSAGES)
        assert time.monotonic() - started < 4  # bounded by its own 1 s, not the other's 6 s
        holder.join()
