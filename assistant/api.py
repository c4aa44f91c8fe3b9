"""The HTTP API (`assistant serve`): an OpenAI-compatible chat endpoint, the `--json` contract
over HTTP, the articles, and the Gradio page at ``/`` — one FastAPI app on uvicorn.

A thin face like the CLI and the UI: every route calls the one ``Assistant`` and returns what it
returns. ``POST /v1/ask`` answers with exactly the JSON ``assistant ask --json`` prints;
``POST /v1/chat/completions`` carries the same answer as the reply's content and its citations
as an extra field (of the response, or of the last streamed chunk).

Questions are answered side by side, as in the UI (at most ``api_concurrency`` at once, each
waiting only on its own LLM call); adding or deleting articles waits for the answers under way
and runs alone. The page mounted at ``/`` shares that access. More throughput on a small machine
means more replicas (see the README's deployment notes).
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from .chat import Event, Turn
from .contracts import Answer
from .core import Assistant
from .errors import AssistantError, NoIndexError
from .ingest import IngestReport
from .limits import SharedAccess
from .store import StoreUnavailableError

log = logging.getLogger("assistant.api")

MODEL = "news-assistant"  # the configured backend (generated when an LLM is set)
EXTRACTIVE_MODEL = "news-assistant-extractive"  # always the quoted sentences, no LLM
MAX_QUESTION_CHARS = 2_000  # a question, not an article: longer ones are refused with 400


# ---------------------------------------------------------------- request bodies


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskRequest(_Strict):
    """``POST /v1/ask``: the options of ``assistant ask``."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    k: int | None = Field(default=None, ge=1, le=50, description="Passages to retrieve.")
    since: str | None = Field(default=None, max_length=40,
                              description="2024, 2024-04, 2024-04-09 or 'April 2024'.")
    until: str | None = Field(default=None, max_length=40)
    source: str | list[str] | None = Field(default=None, description="One source or several.")
    use_llm: bool = Field(default=True, description="False: the extractive answer.")


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    # Clients send fields of their own (name, tool_calls: null, …): ignored, not refused.
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class ChatRequest(_Strict):
    """``POST /v1/chat/completions``: OpenAI's request, the parameters that mean something here,
    the ones clients send by default (accepted, ignored), and the filters of ``/v1/ask``."""

    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    n: int = Field(default=1, ge=1, le=1, description="One answer per request.")
    # sampling knobs: the answer is quoted or verified, so these change nothing
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    # extensions (the openai client sends them with ``extra_body=``)
    k: int | None = Field(default=None, ge=1, le=50)
    since: str | None = Field(default=None, max_length=40)
    until: str | None = Field(default=None, max_length=40)
    source: str | list[str] | None = None


class JsonArticle(_Strict):
    text: str = Field(min_length=1)
    title: str = ""
    source: str = ""
    published: str = ""


class ArticlesRequest(_Strict):
    """``POST /v1/articles`` as JSON (files go as multipart/form-data, field ``files``)."""

    articles: list[JsonArticle] = Field(min_length=1, max_length=1_000)


# ---------------------------------------------------------------- helpers


class ApiError(Exception):
    """An error the client caused or can act on; becomes OpenAI's error JSON."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def report_json(report: IngestReport) -> dict:
    """An ingest report as ``assistant ingest --json`` prints it."""
    return {
        "added": report.added, "updated": report.updated, "unchanged": report.unchanged,
        "removed": report.removed, "passages": report.passages,
        "seconds": round(report.seconds, 3),
        "errors": [{"path": e.path, "problem": e.problem} for e in report.errors],
    }


def conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the turns before it, as a chat session keeps them.
    System messages are ignored: the answer's rules are not the client's to change."""
    said = [m for m in messages if m.role in ("user", "assistant")]
    if not said or said[-1].role != "user" or not said[-1].text.strip():
        raise ApiError(400, "The last message must be the user's question (role 'user', "
                            "non-empty content).", param="messages")
    history, asked = [], None
    for message in said[:-1]:
        if message.role == "user":
            asked = message.text
        elif asked is not None:
            history.append(Turn(asked, message.text))
            asked = None
    question = said[-1].text.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise ApiError(400, f"The question is {len(question):,} characters long; at most "
                            f"{MAX_QUESTION_CHARS:,}.", param="messages")
    return question, history


def _answer_extras(answer: Answer) -> dict:
    """What rides along with an OpenAI reply: the citations in the ``--json`` shape and the
    answer's other facts."""
    data = json.loads(answer.model_dump_json())
    return {key: data[key] for key in ("citations", "refused", "mode", "notice",
                                       "condensed_question", "timings")}


def _inline_schema(model: type[BaseModel]) -> dict:
    """A model's JSON schema with its ``$defs`` put in place (OpenAPI cannot resolve them)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return resolve(schema)


def parse_key_list(raw: str | None) -> list[str]:
    return [key.strip() for key in (raw or "").split(",") if key.strip()]


class BodyLimit:
    """ASGI middleware: a request body over its route's limit gets 413, read or announced."""

    @staticmethod
    def too_large(limit: int) -> Exception:
        """Raised while the body is read: FastAPI passes its HTTPException through unchanged
        (anything else becomes "There was an error parsing the body")."""
        return HTTPException(413, f"Request body too large: at most {limit:,} bytes.")

    def __init__(self, app, limit_for: Callable[[dict], int | None]) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope, receive, send) -> None:
        limit = self.limit_for(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise self.too_large(limit)
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(send, limit: int) -> None:
        body = json.dumps(error_body(f"Request body too large: at most {limit:,} bytes.",
                                     "invalid_request_error", "request_too_large")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------- the app


def create_app(assistant: Assistant, ui: bool = True):
    """The FastAPI app: the API under ``/v1``, ``/health``, ``/docs``, and (``ui``) the page at ``/``."""
    settings = assistant.settings
    keys = parse_key_list(settings.api_keys)
    access = SharedAccess()  # readers share, a writer (ingest, delete) is alone; the page's too
    answering = threading.BoundedSemaphore(settings.api_concurrency)
    assistant.warm()  # built once, not per thread

    app = FastAPI(title="News assistant", version="1",
                  description="Answers from news articles only, every claim quoted from its source.")

    # ---- errors: OpenAI's JSON shape, 4xx for what the client sent, never a stack trace

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.message, exc.type, exc.code, exc.param), exc.status,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            if error.get("type") == "json_invalid":
                problems.append(f"malformed JSON ({error.get('ctx', {}).get('error', 'cannot parse')})")
            else:
                problems.append(f"{where or 'body'}: {error.get('msg')}")
        first = next((e for e in exc.errors() if e.get("type") != "json_invalid"), None)
        param = ".".join(str(p) for p in first["loc"] if p != "body") if first else None
        return JSONResponse(error_body("Invalid request: " + "; ".join(problems),
                                       "invalid_request_error", "invalid_request", param or None), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
        return JSONResponse(error_body(str(exc.detail), "invalid_request_error",
                                       code.get(exc.status_code)), exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(NoIndexError)
    async def _no_index(request: Request, exc: NoIndexError):
        return JSONResponse(error_body(f"{exc} Or POST articles to /v1/articles.",
                                       "invalid_request_error", "no_index"), 409)

    @app.exception_handler(StoreUnavailableError)
    async def _store_down(request: Request, exc: StoreUnavailableError):
        return JSONResponse(error_body(str(exc), "server_error", "store_unavailable"), 503)

    @app.exception_handler(AssistantError)
    async def _assistant_error(request: Request, exc: AssistantError):
        return JSONResponse(error_body(str(exc), "invalid_request_error", "bad_request"), 400)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.exception("%s %s failed", request.method, request.url.path)
        if settings.chroma_url and (isinstance(exc, httpx.TransportError)
                                    or type(exc).__module__.startswith("chromadb")):
            return JSONResponse(error_body(f"The Chroma server at {settings.chroma_url} failed: "
                                           f"{type(exc).__name__}. Try again; the server log has "
                                           "the details.", "server_error", "store_unavailable"), 503)
        return JSONResponse(error_body("Internal error; the server log has the details.",
                                       "server_error", "internal_error"), 500)

    # ---- auth: bearer tokens from ASSISTANT_API_KEYS, on /v1 only

    def authorised(request: Request) -> None:
        if not keys:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Missing API key: send 'Authorization: Bearer <key>'.",
                           "authentication_error", "missing_api_key")
        if not any(hmac.compare_digest(token.strip().encode(), key.encode()) for key in keys):
            raise ApiError(401, "Invalid API key.", "authentication_error", "invalid_api_key")

    guarded = [Depends(authorised)]

    def reading(work: Callable[[], Any]) -> Any:
        with answering, access.reading():
            return work()

    def writing(work: Callable[[], Any]) -> Any:
        with access.writing():
            return work()

    def ask_options(body: AskRequest | ChatRequest) -> dict:
        return {"k": body.k, "since": body.since or None, "until": body.until or None,
                "source": body.source or None}

    # ---- the OpenAI-compatible endpoints

    @app.get("/v1/models", dependencies=guarded)
    def models() -> dict:
        """The two ways to answer: ``news-assistant`` (the configured backend) and
        ``news-assistant-extractive`` (quoted sentences, no LLM)."""
        return {"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "news-assistant"}
            for name in (MODEL, EXTRACTIVE_MODEL)]}

    @app.post("/v1/chat/completions", dependencies=guarded)
    def chat_completions(body: ChatRequest):
        """The conversation's last user message answered from the articles (earlier turns make
        a follow-up standalone). ``citations`` (the ``--json`` shape) rides along."""
        if body.model not in (MODEL, EXTRACTIVE_MODEL):
            raise ApiError(404, f"The model {body.model!r} does not exist: use {MODEL!r} or "
                                f"{EXTRACTIVE_MODEL!r} (GET /v1/models).", code="model_not_found",
                           param="model")
        question, history = conversation(body.messages)
        options = {**ask_options(body), "history": history, "use_llm": body.model == MODEL}
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not body.stream:
            answer = reading(lambda: assistant.ask(question, **options))
            return {"id": reply_id, "object": "chat.completion", "created": created,
                    "model": body.model,
                    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                 "message": {"role": "assistant", "content": answer.answer}}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    **_answer_extras(answer)}

        def chunk(delta: dict, finish: str | None = None, **extra) -> str:
            data = {"id": reply_id, "object": "chat.completion.chunk", "created": created,
                    "model": body.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                 "logprobs": None}], **extra}
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        def frames(events: Iterator[Event]) -> Iterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            for event in events:
                if event.kind == "token":
                    # the model's draft, before its citations are checked: not the answer's
                    # content (that is the verified text below), but progress to show
                    yield chunk({}, draft=event.text)
                elif event.answer is not None:
                    yield chunk({"content": event.answer.answer})
                    yield chunk({}, "stop", **_answer_extras(event.answer))
            yield "data: [DONE]\n\n"

        return StreamingResponse(
            streamed(lambda: frames(assistant.stream(question, **options))),
            media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    def streamed(make: Callable[[], Iterator[str]]):
        """Run ``make()``'s frames in a worker thread with read access, hand them to the client
        as they come. The worker finishes even if the client leaves, so access is never held
        by an abandoned generator."""
        frames: queue.Queue = queue.Queue()
        done = object()

        def work() -> None:
            try:
                with answering, access.reading():
                    for frame in make():
                        frames.put(frame)
            except AssistantError as exc:
                frames.put(f"data: {json.dumps(error_body(str(exc), 'invalid_request_error'))}\n\n")
            except Exception:  # noqa: BLE001 - the client gets an error event, the log the trace
                log.exception("streamed answer failed")
                frames.put(f"data: {json.dumps(error_body('Internal error.', 'server_error'))}\n\n")
            finally:
                frames.put(done)

        threading.Thread(target=work, name="answer-stream", daemon=True).start()

        async def relay():
            while (frame := await anyio.to_thread.run_sync(frames.get)) is not done:
                yield frame

        return relay()

    # ---- the --json contract and the articles

    @app.post("/v1/ask", dependencies=guarded)
    def ask(body: AskRequest):
        """One question, no conversation: exactly what ``assistant ask --json`` prints."""
        answer = reading(lambda: assistant.ask(body.question.strip(), **ask_options(body),
                                               use_llm=body.use_llm))
        return Response(answer.model_dump_json(indent=2), media_type="application/json")

    @app.get("/v1/articles", dependencies=guarded)
    def articles() -> dict:
        """The indexed articles, newest first: key, id, title, source, published, path."""
        return {"articles": reading(assistant.articles)}

    @app.post("/v1/articles", dependencies=guarded,
              openapi_extra={"requestBody": {"content": {
                  "application/json": {"schema": _inline_schema(ArticlesRequest)},
                  "multipart/form-data": {"schema": {"type": "object", "properties": {
                      "files": {"type": "array", "items": {"type": "string",
                                                           "format": "binary"}}}}}}}})
    async def add_articles(request: Request):
        """Add articles: files (multipart field ``files``: .txt .md .html .json .jsonl) or JSON
        ``{"articles": [{"text", "title", "source", "published"}]}``. The answer is the
        ``assistant ingest --json`` report, with a problem per file that could not be read."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            form = await request.form(max_files=1_000)
            values = form.getlist("files")
            uploads = [value for value in values if isinstance(value, UploadFile)]
            if not uploads or len(uploads) != len(values):
                raise ApiError(400, "Send the articles as files in the form field 'files'.",
                               param="files")
            with tempfile.TemporaryDirectory(prefix="upload-") as folder:
                paths = []
                for i, upload in enumerate(uploads):
                    name = Path(upload.filename or f"article-{i}.txt").name or f"article-{i}.txt"
                    target = Path(folder) / str(i) / name  # same names in one request stay apart
                    target.parent.mkdir()
                    target.write_bytes(await upload.read())
                    paths.append(target)
                report = await anyio.to_thread.run_sync(writing, lambda: assistant.upload(paths))
            for error in report.errors:  # where the server keeps it means nothing to the client
                error.path = Path(error.path).name
        elif kind == "application/json":
            try:
                body = ArticlesRequest.model_validate_json(await request.body())
            except ValueError as exc:
                raise RequestValidationError(getattr(exc, "errors", lambda: [])()) from exc

            def add_all() -> IngestReport:
                total = IngestReport()
                for article in body.articles:
                    one = assistant.add_text(article.text, article.title, article.source,
                                             article.published)
                    for name in ("added", "updated", "unchanged", "removed", "errors"):
                        getattr(total, name).extend(getattr(one, name))
                    total.passages += one.passages
                    total.seconds += one.seconds
                return total

            report = await anyio.to_thread.run_sync(writing, add_all)
        else:
            raise ApiError(415, "Send multipart/form-data (field 'files') or application/json "
                                "({\"articles\": [...]}).", code="unsupported_media_type")
        indexed = report.added or report.updated or report.unchanged
        return JSONResponse(report_json(report), 200 if report.ok or indexed else 400)

    @app.delete("/v1/articles/{key:path}", dependencies=guarded)
    def delete_article(key: str):
        """Take an article out of the index by its ``id`` or its ``key`` (URL-encoded), both
        from ``GET /v1/articles``."""
        def remove() -> IngestReport:
            entries = assistant.store.load_manifest().articles
            keys = [key] if key in entries else [k for k, e in entries.items() if e["id"] == key]
            return assistant.remove(keys or [key])

        report = writing(remove)
        if not report.removed:
            raise ApiError(404, f"No article with the key {key!r} (GET /v1/articles lists them).",
                           code="not_found", param="key")
        return report_json(report)

    @app.get("/health")
    def health():
        """Up, how big the index is, where it lives, and the LLM backend."""
        try:
            manifest = assistant.store.load_manifest()
            passages = assistant.store.count_passages() if manifest.articles else 0
        except Exception as exc:  # noqa: BLE001 - a store that cannot be read is the answer
            log.warning("health: the store is unavailable: %s", exc)
            return JSONResponse({"status": "unavailable", "problem": f"store: {exc}"}, 503)
        llm = {"backend": settings.llm, "model": None if settings.llm == "none" else settings.llm_model,
               "state": assistant.llm.state()}  # off, idle, building, starting, ready, failed
        return {"status": "ok", "articles": len(manifest.articles), "passages": passages,
                "store": settings.chroma_url or "embedded", "llm": llm}

    def limit_for(scope: dict) -> int | None:
        path = scope.get("path", "")
        if path.startswith("/v1/articles") and scope.get("method") == "POST":
            return settings.api_max_upload_bytes
        if path.startswith("/v1/") or path == "/health":
            return settings.api_max_request_bytes
        return None  # the page: Gradio has its own limits

    if ui:
        import gradio as gr

        from .ui import CSS, JS, build, launch_options

        auth = launch_options(settings)["auth"]
        gr.mount_gradio_app(app, build(assistant, access), path="/", auth=auth, css=CSS, js=JS)
    app.add_middleware(BodyLimit, limit_for=limit_for)
    return app


def serve(assistant: Assistant, ui: bool = True) -> None:
    """Serve the API (and the page) with uvicorn on ``api_host:api_port``."""
    import uvicorn

    settings = assistant.settings
    # as `assistant ui` does: the local model loads while the server starts; a question asked
    # before it is up is answered from the quotes, with a note
    assistant.llm.start_in_background()
    asgi = create_app(assistant, ui=ui)
    where = f"http://{settings.api_host}:{settings.api_port}"
    print(f"API at {where}/v1 (docs at {where}/docs)" + (f", chat UI at {where}/" if ui else "")
          + (" (API keys required)" if settings.api_keys else ""), flush=True)
    uvicorn.run(asgi, host=settings.api_host, port=settings.api_port, log_level="warning")
