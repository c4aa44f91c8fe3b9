"""The one way to call an LLM: an OpenAI-compatible endpoint through the ``openai`` client.

Backends (``Settings.llm``): ``local`` starts a real llama.cpp server (``llama_cpp.server``) on
127.0.0.1 with a bundled GGUF on first use, reuses it, and stops it on exit; ``openai`` talks to
any OpenAI-compatible server (OpenAI, Ollama, vLLM, a remote llama.cpp) by base URL, model and
key (``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` are respected); ``none`` never calls one.
"""

from __future__ import annotations

import atexit
import importlib
import math
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import AssistantError
from .models import model_path


class LLMError(AssistantError):
    """The LLM endpoint is down, failed, or too slow."""


class LLMStarting(LLMError):
    """The local model server is still starting in the background: answer without it for now."""


# Where `make run`'s first start builds llama-cpp-python in the background
# (scripts/llama-background.sh): the venv, which holds the marker and the log.
BUILD_DIR = Path(sys.prefix)


def llama_build() -> str | None:
    """That background build: "building" (its marker holds a live pid), "failed" (it failed or
    was killed), or None (no build of ours: llama-cpp-python is installed, or never was that way)."""
    pending = BUILD_DIR / "llama-build.pending"
    try:
        pid = pending.read_text().strip()
    except OSError:
        return "failed" if (BUILD_DIR / "llama-build.failed").exists() else None
    if pid:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return "failed"  # killed: no one will remove the marker
        except (PermissionError, ValueError):
            pass
    return "building"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalServer:
    """A llama.cpp server for one GGUF, started on demand, stopped at exit."""

    def __init__(self, model: Path, alias: str, threads: int = 2, n_ctx: int = 4096,
                 log: Path | None = None) -> None:
        self.model, self.alias, self.threads, self.n_ctx = model, alias, threads, n_ctx
        self.log = log
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 180.0) -> None:
        if self.running():
            return
        importlib.invalidate_caches()  # installed since this process looked (the background build)
        try:
            import llama_cpp.server  # noqa: F401 - only to fail early with a clear message
        except ImportError as exc:
            if llama_build() == "failed":
                raise LLMError(f"The build of llama-cpp-python for the local model failed (log: "
                               f"{BUILD_DIR / 'llama-build.log'}); `make setup` retries it.") from exc
            raise LLMError("llama-cpp-python is not installed: run `make setup` "
                           "(or use --llm none / --llm openai).") from exc
        self.port = free_port()
        if self.log:
            self.log.parent.mkdir(parents=True, exist_ok=True)  # the index may not exist yet
        log = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model),
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
             "--n_threads", str(self.threads), "--model_alias", self.alias],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LLMError(f"The local LLM server exited at start (code "
                               f"{self.process.returncode}); model {self.model}.")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise LLMError(f"The local LLM server did not come up within {timeout:.0f} s.")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_servers: dict[tuple, LocalServer] = {}
_servers_lock = threading.Lock()
# servers being started by a background thread: key -> (when it began, done event, failure)
_starting: dict[tuple, tuple[float, threading.Event, list[BaseException]]] = {}
_starting_lock = threading.Lock()  # guards ``_starting`` only: a start under way holds _servers_lock


# LLM calls under way per endpoint (``llm_concurrency``): a question beyond them waits for a
# slot, not the endpoint's queue, so the wait is bounded and said.
_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}


_slots_lock = threading.Lock()


def _slot(base_url: str, size: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        return _slots.setdefault((base_url, size), threading.BoundedSemaphore(size))


class LLM:
    """Chat completions, streamed, from the backend the settings name."""

    def __init__(self, settings) -> None:
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return self.settings.llm != "none"

    def start_in_background(self) -> None:
        """Start the local model server now, in a thread, so it is up by the time a reader has
        typed (the UI and `assistant chat` call this as they start). Until it is up, a question
        is answered without the model (``LLMStarting``) instead of waiting for it."""
        if self.settings.llm != "local":
            return
        key = self._local_key()
        with _starting_lock:
            busy = key in _starting and not _starting[key][1].is_set()
            if busy or (key in _servers and _servers[key].running()):
                return
            entry = (time.monotonic(), threading.Event(), [])
            _starting[key] = entry

        def run() -> None:
            try:
                if llama_build() == "building":  # the first start's build: the server after it
                    while llama_build() == "building":
                        time.sleep(2)
                    with _starting_lock:  # "... s so far" counts from now
                        _starting[key] = (time.monotonic(), *entry[1:])
                self._endpoint(wait=True)
            except BaseException as exc:  # noqa: BLE001 - kept and reported at the next question
                entry[2].append(exc)
            finally:
                entry[1].set()

        threading.Thread(target=run, name="llm-start", daemon=True).start()

    def state(self) -> str:
        """"off", "building" (llama-cpp-python, on a first start), "starting", "ready", "failed"
        (start failed) or "idle" (not started yet)."""
        if self.settings.llm == "none":
            return "off"
        if self.settings.llm != "local":
            return "ready"
        if llama_build() == "building":
            return "building"
        if self.starting():
            return "starting"
        key = self._local_key()
        server = _servers.get(key)
        if server is not None and server.running():
            return "ready"
        entry = _starting.get(key)
        return "failed" if entry is not None and entry[2] else "idle"

    def starting(self) -> str | None:
        """What to tell a reader while the background start is under way (else None)."""
        if self.settings.llm != "local":
            return None
        if llama_build() == "building":
            pending = BUILD_DIR / "llama-build.pending"
            try:
                so_far = f"{(time.time() - pending.stat().st_mtime) / 60:.0f} min so far; "
            except OSError:
                so_far = ""
            return (f"The local model is being built: llama.cpp is compiled once, on the first "
                    f"start ({so_far}about 10 min on 2 cores; log: {BUILD_DIR / 'llama-build.log'}).")
        entry = _starting.get(self._local_key())
        if entry is None or entry[1].is_set():
            return None
        return (f"The local model is still starting ({time.monotonic() - entry[0]:.0f} s so far; "
                f"it takes about 10-30 s).")

    def _local_key(self) -> tuple:
        s = self.settings
        return (s.llm_model, str(s.models_dir), s.llm_threads, s.llm_ctx)

    def _endpoint(self, wait: bool = False) -> tuple[str, str, str]:
        """(base URL, API key, model name), starting the local server if need be. While a
        background start is under way, ``LLMStarting`` unless ``wait``."""
        s = self.settings
        if s.llm == "openai":
            base = s.llm_base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
            key = s.llm_api_key or os.environ.get("OPENAI_API_KEY")
            if not key:
                raise LLMError("--llm openai needs an API key: set OPENAI_API_KEY "
                               "(or ASSISTANT_LLM_API_KEY).")
            return base, key, s.llm_model
        key = self._local_key()
        if not wait and (message := self.starting()):
            raise LLMStarting(message)
        entry = _starting.get(key)
        if not wait and entry is not None and entry[2]:  # the background start failed: say so once
            _starting.pop(key, None)
            raise LLMError(f"The local model did not start: {entry[2][0]}")
        # only now: while the background start assembles the model, nobody else may touch it
        path = model_path(s.llm_model, s.models_dir)
        with _servers_lock:
            server = _servers.get(key)
            if server is None or not server.running():
                server = LocalServer(path, s.llm_model, s.llm_threads, s.llm_ctx,
                                     log=Path(s.index_dir) / "llm-server.log")
                server.start()
                _servers[key] = server
        return server.base_url, "local", s.llm_model

    @contextmanager
    def _call(self, timeout_s: float) -> Iterator[tuple[object, str, str]]:
        """(client, base URL, model) for one call within a free slot; every failure of the
        endpoint comes out as an ``LLMError`` that says what happened."""
        import httpx
        import openai

        base, key, model = self._endpoint()
        s = self.settings
        asked = time.monotonic()
        slot = _slot(base, s.llm_concurrency)
        if not slot.acquire(timeout=timeout_s):
            raise LLMError(f"The LLM is busy with other questions ({s.llm_concurrency} at once) "
                           f"and had no free slot within {timeout_s:g} s.")
        # the wait for a slot counts toward the first token
        first = max(1.0, timeout_s - (time.monotonic() - asked))
        timeout = httpx.Timeout(connect=5.0, read=first, write=10.0, pool=5.0)
        client = openai.OpenAI(base_url=base, api_key=key, timeout=timeout, max_retries=0)
        try:
            yield client, base, model
        except (openai.APITimeoutError, httpx.TimeoutException) as exc:
            raise LLMError(f"The LLM did not answer within {timeout_s:g} s ({base}).") from exc
        except openai.APIConnectionError as exc:
            raise LLMError(f"The LLM at {base} cannot be reached ({exc.__cause__ or exc}).") from exc
        except openai.APIStatusError as exc:
            raise LLMError(f"The LLM at {base} failed: HTTP {exc.status_code}.") from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"The LLM at {base} broke off: {exc}.") from exc
        except (UnicodeError, ValueError, openai.OpenAIError) as exc:
            # undecodable bytes or malformed events: a failed endpoint, not a crash
            raise LLMError(f"The LLM at {base} sent an unreadable reply "
                           f"({type(exc).__name__}).") from exc
        finally:
            slot.release()

    def stream(self, messages: list[dict], max_tokens: int | None = None) -> Iterator[str]:
        """Text deltas as they come; LLMError when the endpoint is down, fails or is too slow
        (no first token within ``llm_first_token_timeout`` seconds)."""
        s = self.settings
        limit = max_tokens or s.llm_max_tokens
        deadline = time.monotonic() + s.llm_deadline
        response = None
        with self._call(s.llm_first_token_timeout) as (client, base, model):
            try:
                response = client.chat.completions.create(
                    model=model, messages=messages, stream=True, temperature=0.0, max_tokens=limit,
                )
                # Bounded on our side too: an endpoint that ignores max_tokens or streams forever
                # must not hold the answer (one streamed delta is at most one token).
                for count, chunk in enumerate(response, start=1):
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
                    if count >= limit:
                        break
                    if time.monotonic() > deadline:
                        raise LLMError(f"The LLM did not finish within the "
                                       f"{s.llm_deadline:g} s deadline ({base}).")
            finally:
                if response is not None:
                    response.close()

    def complete(self, messages: list[dict], max_tokens: int | None = None) -> str:
        return "".join(self.stream(messages, max_tokens))

    def yes_probability(self, messages: list[dict]) -> float:
        """The probability the model's one-word reply is "yes" rather than "no", read from the
        log-probabilities of its first token (one token generated)."""
        with self._call(self.settings.llm_first_token_timeout) as (client, base, model):
            response = client.chat.completions.create(
                model=model, messages=messages, temperature=0.0, max_tokens=1, logprobs=True,
                top_logprobs=10)
            content = response.choices[0].logprobs.content if response.choices[0].logprobs else None
            if not content:
                raise LLMError(f"The LLM at {base} gave no log-probabilities.")
            mass = {"yes": 0.0, "no": 0.0}
            for top in content[0].top_logprobs:
                word = top.token.strip().lower()
                if word in mass:
                    mass[word] += math.exp(top.logprob)
        total = mass["yes"] + mass["no"]
        return mass["yes"] / total if total else 0.5


def stop_local_servers() -> None:
    with _servers_lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()
    with _starting_lock:
        _starting.clear()
