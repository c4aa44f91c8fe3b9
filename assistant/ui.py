"""The Gradio chat UI: streamed answers, each followed by its sources with the quoted passages."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator

from .answering import Answer
from .chat import ChatSession
from .core import Assistant
from .errors import AssistantError


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

    def respond(message: str, history: list, since: str = "", until: str = "",
                sources: list[str] | None = None, request: gr.Request = None) -> Iterator[str]:
        if not message or not message.strip():
            yield "Please type a question about the articles."
            return
        key = getattr(request, "session_hash", None) or "default"
        if not history or key not in sessions:  # a new tab, or "clear": a clean conversation
            sessions[key] = assistant.chat()
        session = sessions[key]
        yield "_Searching the articles…_"
        options = {"since": since.strip() or None, "until": until.strip() or None,
                   "source": sources or None}
        text, answer = "", None
        with lock:
            try:
                for event in session.stream(message, **options):
                    if event.kind == "sources" and event.passages:
                        titles = sorted({p.title for p in event.passages})
                        yield "_Reading: " + "; ".join(html.escape(t) for t in titles[:3]) + " …_"
                    elif event.kind == "token":
                        text += event.text
                        yield text
                    elif event.answer is not None:
                        answer = event.answer
            except AssistantError as exc:  # e.g. a date the filter cannot read
                yield f"**{html.escape(str(exc))}**"
                return
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

    known_sources = sorted({e.get("source") for e in assistant.store.load_manifest().articles.values()
                            if e.get("source")})
    filters = [
        gr.Textbox(value="", label="Published since",
                   placeholder="2024, 2024-04, 2024-04-09, April 2024"),
        gr.Textbox(value="", label="Published until", placeholder="2024-12-31"),
        gr.Dropdown(choices=known_sources, value=[], multiselect=True,
                    label="Sources (all when empty)"),
    ]
    return gr.ChatInterface(
        respond,
        additional_inputs=filters,
        additional_inputs_accordion=gr.Accordion("Filters", open=False),
        title="News assistant",
        description="Answers come only from the indexed articles; every claim quotes its source. "
                    "⚠ marks a generated sentence the articles do not support.",
        examples=[["What did Campbell warn?", "", "", []],
                  ["What did Lammy urge Wang Yi to do?", "", "", []]],
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
