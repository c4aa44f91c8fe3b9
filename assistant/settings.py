"""The one way to load settings: environment (ASSISTANT_*), an optional TOML file, keyword args."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict, TomlConfigSettingsSource

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Input limits (defaults of the settings below; ingest's own defaults too)
MAX_FILE_BYTES = 20_000_000  # a larger file is skipped with an error line
MAX_TITLE_CHARS = 300  # a longer title, source or author is cut with "…"
MAX_ARTICLE_CHARS = 200_000  # a longer article is cut (a long feature is ~50,000 characters)


class Settings(BaseSettings):
    """Everything a run can change. Build once at the edge (CLI, UI, tests) and pass it down."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        extra="forbid",
        toml_file="assistant.toml",
        frozen=True,
    )

    index_dir: Path = Field(default=Path("index"), description="Where the index lives.")
    articles_dir: Path = Field(
        default=PROJECT_ROOT / "articles", description="Corpus the UI indexes on first start."
    )
    top_k: int = Field(default=5, ge=1, le=50, description="Passages shown per question.")
    candidates: int = Field(default=20, ge=1, le=200, description="Passages retrieved to rank.")
    passage_tokens: int = Field(
        default=160, ge=32, le=240, description="Max word pieces of passage text."
    )
    embed_batch_size: int = Field(default=8, ge=1, le=64)
    embed_threads: int = Field(default=2, ge=1, le=64)
    llm: Literal["none", "local", "openai"] = Field(
        default="local",
        description="Answer backend: none (extractive), local (llama.cpp, bundled model), "
                    "openai (any OpenAI-compatible server).")
    llm_model: str = Field(default="qwen2.5-coder-1.5b-instruct",
                           description="Bundled model name, a .gguf path, or the remote model.")
    llm_base_url: str | None = Field(default=None, description="For llm=openai; else $OPENAI_BASE_URL.")
    llm_api_key: str | None = Field(default=None, description="For llm=openai; else $OPENAI_API_KEY.")
    llm_first_token_timeout: float = Field(
        default=20.0, gt=0,
        description="Seconds to wait for the LLM's first token (a free model slot included).")
    llm_deadline: float = Field(default=120.0, gt=0,
                                description="Seconds an LLM answer may take in all; then a note.")
    max_file_bytes: int = Field(default=MAX_FILE_BYTES, ge=1,
                                description="Larger article files are skipped with an error line.")
    max_article_chars: int = Field(default=MAX_ARTICLE_CHARS, ge=1000,
                                   description="A longer article keeps its first this many characters "
                                               "(the ingest report says so).")
    llm_max_tokens: int = Field(default=160, ge=16, le=2048)
    llm_threads: int = Field(default=2, ge=1, le=64)
    llm_concurrency: int = Field(
        default=2, ge=1, le=64,
        description="LLM calls under way at once; more wait for a slot (within the first-token "
                    "timeout), then get the extractive answer with a note.")
    answer_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 2, ge=1, le=64,
        description="Questions whose retrieval and scoring (CPU work) run at once; an answer "
                    "waiting on the LLM does not hold one.")
    llm_ctx: int = Field(default=4096, ge=512)
    condense: Literal["rule", "llm"] = Field(
        default="rule",
        description="How a follow-up is made standalone: by rule from spaCy's parse (no wait), or "
                    "by the LLM when one is on (one more call, which also evicts the answer "
                    "prompt's cached system prompt: about 3 s more to the first token).")
    llm_passages: int = Field(default=2, ge=1, le=10,
                              description="Passages (trimmed to the sentences that matter) shown to the LLM.")
    llm_ask_threshold: float | None = Field(
        default=None, ge=0, le=1,
        description="With an LLM: the model also writes when the quotes would refuse, if a "
                    "sentence scores at least this (what it writes is verified as always; if "
                    "nothing stands, the refusal stays). Default: the fitted value "
                    "(assistant/data/ask.json); 1: only when the quotes answer.")
    answer_prompt: str = Field(
        default="answer", pattern=r"^[a-z0-9_]+$",
        description="The answer prompt: prompts/<name>.txt (system, a line '---', then user).")
    unsupported: Literal["mark", "remove"] = Field(
        default="mark", description="What to do with generated sentences the articles don't support.")
    support_threshold: float = Field(default=0.8, ge=0, le=1,
                                     description="Share of a sentence's content words its passage must hold.")
    models_dir: Path | None = Field(default=None, description="Where bundled GGUFs are assembled.")
    max_quotes: int = Field(default=2, ge=1, le=10, description="Sentences in an extractive answer.")
    today: date | None = Field(
        default=None,
        description="The day 'last week' is counted from; default: the newest article's date.",
    )
    ui_host: str = Field(default="127.0.0.1", description="Address the UI binds to.")
    ui_port: int = 7860
    ui_concurrency: int = Field(
        default=32, ge=1, le=256,
        description="Questions the UI takes at once; the CPU work inside is bounded by "
                    "answer_workers and the LLM calls by llm_concurrency.")
    ui_auth: str | None = Field(
        default=None, description="Login for a shared UI: 'user:password', several comma-separated.")

    # ---- issue 18: the HTTP API (`assistant serve`) and Chroma as a server
    api_host: str = Field(default="127.0.0.1", description="Address `assistant serve` binds to.")
    api_port: int = Field(default=8000, description="Port of `assistant serve`.")
    api_concurrency: int = Field(default=32, ge=1, le=256,
                                 description="Questions the API answers at once (as ui_concurrency).")
    api_keys: str | None = Field(
        default=None, description="Bearer tokens the /v1 API accepts, comma-separated; none: open.")
    api_max_request_bytes: int = Field(default=1_000_000, ge=1_000,
                                       description="Largest JSON request body the API reads.")
    api_max_upload_bytes: int = Field(default=50_000_000, ge=1_000,
                                      description="Largest POST /v1/articles body (files).")
    chroma_url: str | None = Field(
        default=None, description="http://host:port of a Chroma server; none: embedded Chroma "
                                  "under index_dir (see README, 'Chroma as a server').")
    chroma_namespace: str = Field(
        default="news", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{1,40}$",
        description="On a Chroma server: the prefix of this index's collections (several "
                    "indexes can share one server).")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))
