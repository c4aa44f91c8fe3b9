"""The Gradio chat UI: streamed answers, each followed by its sources with the quoted passages."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator

from .answering import Answer
from .chat import ChatSession
from .core import Assistant


def render_sources(answer: Answer) -> str:
    """Markdown for the sources of an answer: title, source, date, and the quoted passage."""
    if answer.refused or not answer.citations:
        return ""
    lines = ["", "---", "**Sources**", ""]
    for c in answer.citations:
        meta = " · ".join(x for x in (c.source, c.published) if x)
        lines.append(f"**[{c.n}] {html.escape(c.title)}**" + (f" — {html.escape(meta)}" if meta else ""))
        lines.append(f"> {html.escape(c.quote)}")
        lines.append("")
    return "\n".join(lines)


def build(assistant: Assistant):
    import gradio as gr

    lock = threading.Lock()  # one embedding session and one LLM: questions take turns on 2 cores
    sessions: dict[str, ChatSession] = {}  # one conversation per browser tab

    def respond(message: str, history: list, request: gr.Request) -> Iterator[str]:
        if not message or not message.strip():
            yield "Please type a question about the articles."
            return
        key = getattr(request, "session_hash", None) or "default"
        if not history or key not in sessions:  # a new tab, or "clear": a clean conversation
            sessions[key] = assistant.chat()
        session = sessions[key]
        yield "_Searching the articles…_"
        with lock:
            text = ""
            for event in session.stream(message):
                if event.kind == "sources" and event.passages:
                    titles = sorted({p.title for p in event.passages})
                    yield "_Reading: " + "; ".join(html.escape(t) for t in titles[:3]) + " …_"
                elif event.kind == "token":
                    text += event.text
                    yield text
                elif event.answer is not None:
                    answer = event.answer
        head = ""
        if answer.condensed_question:
            head += f"_Read as: {html.escape(answer.condensed_question)}_\n\n"
        if answer.notice:
            head += f"_Note: {html.escape(answer.notice)}_\n\n"
        if answer.refused:
            yield head + f"**{answer.answer}**"
            return
        if answer.mode == "extractive" and not text:
            # stream the quoted sentences one by one
            parts = re.split(r"(?<=\])\s", answer.answer)
            for i in range(1, len(parts)):
                yield head + " ".join(parts[:i])
        yield head + answer.answer + "\n" + render_sources(answer)

    return gr.ChatInterface(
        respond,
        title="News assistant",
        description="Answers come only from the indexed articles; every claim quotes its source. "
                    "⚠ marks a generated sentence the articles do not support.",
        examples=["What did Campbell warn?", "What did Lammy urge Wang Yi to do?"],
        api_name="chat",
        analytics_enabled=False,
    )


def serve(assistant: Assistant) -> None:
    """Build the index from the bundled articles if there is none, then serve the chat."""
    settings = assistant.settings
    if not assistant.has_index():
        print(f"No index at {settings.index_dir}/: indexing {settings.articles_dir} first …")
        report = assistant.ingest([settings.articles_dir])
        print(report.summary())
        for error in report.errors:
            print(f"error: {error}")
    print(f"Chat UI at http://{settings.ui_host}:{settings.ui_port}", flush=True)
    build(assistant).launch(server_name=settings.ui_host, server_port=settings.ui_port,
                            quiet=True)
