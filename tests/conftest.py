import os
import shutil
import socket
from pathlib import Path

import pytest

# Offline switches, before anything imports gradio or chromadb.
os.environ.update({
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    # Extractive unless a test asks for an LLM (tests/test_llm.py starts real llama.cpp servers).
    "ASSISTANT_LLM": "none",
})

from assistant import Assistant, Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "articles"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory) -> Path:
    """An index of the bundled seed articles, built once for the session (read-only in tests)."""
    index = tmp_path_factory.mktemp("seed-index")
    report = Assistant(Settings(index_dir=index)).ingest([SEED_DIR])
    assert report.ok and len(report.added) == 2
    return index


SMOL = "smollm2-135m-instruct"  # the small bundled model: real generation, quickly


@pytest.fixture(scope="session")
def smol_server(tmp_path_factory):
    """A real llama.cpp server with the small model, spoken to as an 'openai' endpoint."""
    from assistant.llm import LocalServer
    from assistant.models import model_path

    server = LocalServer(model_path(SMOL), SMOL, log=tmp_path_factory.mktemp("llm") / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def seed_assistant(seed_index) -> Assistant:
    return Assistant(Settings(index_dir=seed_index))


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the seed articles."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEED_DIR, folder)
    return folder


@pytest.fixture
def one_article(tmp_path):
    """A factory: an assistant over one article written from ``text`` as ``name``."""
    def make(name: str, text: str) -> Assistant:
        article = tmp_path / name
        article.write_text(text, encoding="utf-8")
        assistant = Assistant(Settings(index_dir=tmp_path / "index"))
        assert assistant.ingest([article]).ok
        return assistant
    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
