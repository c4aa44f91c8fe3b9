"""The Gradio UI: a chat whose answers stream with clickable [n], a sources panel beside it (each
cited passage with the quoted spans highlighted), filters and settings, "new chat", and an
Articles tab to upload or paste articles, list them and delete them.

Everything goes through the one ``Assistant``: the UI only renders what it returns. One
conversation per browser tab lives in a ``gr.State``.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .chat import ChatSession
from .contracts import Answer, Citation, verify_citation
from .core import Assistant
from .errors import AssistantError, SettingsError
from .generate import UNSUPPORTED_MARK
from .ingest import IngestReport
from .limits import LoginThrottle, SharedAccess

log = logging.getLogger(__name__)

EXAMPLES = ["What did Campbell warn?", "What did Lammy urge Wang Yi to do?"]
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"]

CSS = """
.answer .cite { font-weight: 600; text-decoration: none; cursor: pointer; }
.answer .unsupported { background: #fff3cd; border-bottom: 2px dotted #b58100; }
.answer .read-as, .answer .notice { color: #555; font-style: italic; margin-bottom: .4em; }
.answer .refusal { border-left: 4px solid #6c8ebf; padding: .2em .6em; background: #eef3fb; }
.answer .error { border-left: 4px solid #c0392b; padding: .2em .6em; background: #fdecea; }
.answer .cited-list { font-size: .85em; color: #555; margin-top: .5em; }
.answer .mode { font-style: italic; margin-top: .2em; }
#sources-panel .card { border: 1px solid #ddd; border-radius: 8px; padding: .6em .8em;
  margin-bottom: .7em; transition: box-shadow .3s, border-color .3s; }
#sources-panel .card.flash { border-color: #f0a500; box-shadow: 0 0 0 3px #f7d88a; }
#sources-panel .card .meta { font-size: .85em; color: #555; }
#sources-panel .card .passage { font-size: .92em; line-height: 1.45; margin: .4em 0 0;
  white-space: pre-wrap; }
#sources-panel mark { background: #ffe58a; padding: 0 .1em; }
#sources-panel .verified { color: #217a3c; font-size: .8em; }
#sources-panel .hint { color: #666; font-size: .9em; }
"""

# [n] in an answer scrolls the sources panel to passage n and flashes it.
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a.cite, a[href^="#source-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const n = (link.getAttribute('href') || '').replace('#source-', '');
    const card = document.getElementById('source-' + n);
    if (!card) return;
    const folded = card.closest('details');
    if (folded) folded.open = true;
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
    card.classList.add('flash');
    setTimeout(() => card.classList.remove('flash'), 1600);
  }, true);
}
"""


@dataclass
class Card:
    """One passage cited in this conversation, with every span the answers quoted from it."""

    n: int
    citation: Citation  # the first citation of it (title, source, date, copies)
    text: str  # the passage (or, if it was not retrieved, the quote alone)
    start: int  # offset of ``text`` in the article
    spans: set[tuple[int, int]] = field(default_factory=set)  # article offsets
    verified: bool = True
    speakers: list[str] = field(default_factory=list)  # who speaks in the highlighted quotes


@dataclass
class Conversation:
    """What one browser tab holds: the chat session and the passages cited so far."""

    session: ChatSession
    cards: dict[int, Card] = field(default_factory=dict)
    latest: list[int] = field(default_factory=list)  # the numbers the last answer cited
    retrieved: int = 0  # passages the last answer chose from

    def add(self, answer: Answer, assistant: Assistant) -> None:
        self.latest, self.retrieved = [], len(answer.passages)
        for c in answer.citations:
            card = self.cards.get(c.n)
            article = assistant.store.article(c.article_id)
            if card is None:
                around = [p for p in answer.passages if p.article_id == c.article_id
                          and p.start < c.end and c.start < p.end]
                if around:  # the passages it lies in; it may start before them, at the speaker
                    start = min(c.start, *(p.start for p in around))
                    text = article.text[start:max(c.end, *(p.end for p in around))]
                else:
                    text, start = c.quote, c.start
                card = self.cards[c.n] = Card(c.n, c, text, start)
            if c.n not in self.latest:
                card.spans, card.speakers = set(), []  # highlight what this answer quotes
            card.spans.add((c.start, c.end))
            card.speakers += [name for name in c.speakers if name not in card.speakers]
            card.verified = card.verified and verify_citation(c, article)
            if c.n not in self.latest:
                self.latest.append(c.n)


# ---------------------------------------------------------------- rendering


def cite_links(escaped: str) -> str:
    """[n] → a link to source card n (on already escaped text)."""
    return re.sub(r"\[(\d+)\]", r'<a class="cite" href="#source-\1">[\1]</a>', escaped)


def answer_html(answer: Answer) -> str:
    """The chat message of a finished answer."""
    parts = ['<div class="answer">']
    if answer.condensed_question:
        parts.append(f'<div class="read-as">Read as: {html.escape(answer.condensed_question)}</div>')
    if answer.notice:
        parts.append(f'<div class="notice">Note: {html.escape(answer.notice)}</div>')
    if answer.refused:
        parts.append(f'<div class="refusal">{html.escape(answer.answer)}</div></div>')
        return "".join(parts)
    body = html.escape(answer.answer)
    for s in answer.sentences:
        if not s.supported:  # "⚠ sentence" → a marked span that says why
            marked = html.escape(f"{UNSUPPORTED_MARK} {s.text}")
            why = html.escape(s.problem or "not supported by the cited articles", quote=True)
            body = body.replace(marked, f'<span class="unsupported" title="{why}">{marked}</span>', 1)
    parts.append(f'<div class="text">{cite_links(body)}</div>')
    by_article: dict[str, list[Citation]] = {}  # [1] [2] Title — Source · date
    for c in sorted(answer.citations, key=lambda c: c.n):
        by_article.setdefault(c.article_id, []).append(c)
    items = []
    for cs in by_article.values():
        links = " ".join(dict.fromkeys(f'<a class="cite" href="#source-{c.n}">[{c.n}]</a>'
                                       for c in cs))
        items.append(f"{links} {html.escape(cs[0].title)} — {html.escape(_meta(cs[0]))}")
    how = ("Written by the LLM; each sentence checked against the passage it cites."
           if answer.mode == "generated" else "Quoted from the articles.")
    parts.append('<div class="cited-list">' + "<br>".join(items)
                 + f'<div class="mode">{how}</div></div></div>')
    return "".join(parts)


def _meta(c) -> str:
    return f"{c.source or 'source unknown'} · {c.published or 'undated'}"


def _highlighted(card: Card) -> str:
    out, at = [], 0
    for start, end in sorted(card.spans):
        a, b = max(start - card.start, at), min(end - card.start, len(card.text))
        if a >= b:
            continue
        out += [html.escape(card.text[at:a]), f"<mark>{html.escape(card.text[a:b])}</mark>"]
        at = b
    out.append(html.escape(card.text[at:]))
    return "".join(out)


def _card_html(card: Card) -> str:
    c = card.citation
    meta = _meta(c)
    details = ""  # other printings, who speaks in the quotes
    if c.copies:
        details = '<div class="meta">Also printed in: ' + "; ".join(
            html.escape(_meta(cp))
            for cp in c.copies) + "</div>"
    if card.speakers:
        details += f'<div class="meta">Said by: {html.escape("; ".join(card.speakers))}</div>'
    check = ('<span class="verified">✓ quote matches the stored article</span>' if card.verified
             else '<span class="unsupported">quote does not match the stored article</span>')
    return (f'<div class="card" id="source-{card.n}"><div><b>[{card.n}] {html.escape(c.title)}</b>'
            f"</div><div class=\"meta\">{html.escape(meta)}</div>{details}"
            f'<blockquote class="passage">{_highlighted(card)}</blockquote>{check}</div>')


def sources_html(conversation: Conversation | None, reading: list | None = None) -> str:
    """The sources panel: the last answer's passages, then those cited earlier in this chat."""
    if reading is not None:
        titles = list(dict.fromkeys(f"{p.title} — {p.source or ''}".rstrip(" —") for p in reading))
        items = "".join(f"<li>{html.escape(t)}</li>" for t in titles)
        return f'<div class="hint">Reading {len(reading)} passages from:</div><ul>{items}</ul>'
    if conversation is None or not conversation.retrieved:
        return ('<div class="hint">Sources appear here: each cited passage with the quoted words '
                "highlighted. Click a [n] in an answer to jump to it.</div>")
    latest = [conversation.cards[n] for n in conversation.latest]
    earlier = [c for n, c in sorted(conversation.cards.items()) if n not in conversation.latest]
    count = conversation.retrieved
    out = [f'<div class="hint" id="retrieved">The last answer chose from {count} retrieved '
           f"passage{'s' if count != 1 else ''}.</div>"]
    if latest:
        out.append('<div class="latest"><h4>Sources of the last answer</h4>'
                   + "".join(map(_card_html, latest)) + "</div>")
    if earlier:
        out.append(f"<details><summary>Cited earlier in this chat ({len(earlier)})</summary>"
                   + "".join(map(_card_html, earlier)) + "</details>")
    return "".join(out)


def ask_options(since: str | None, until: str | None, sources: list[str] | None, k: float,
                use_llm: bool) -> dict:
    """The page's filter and setting inputs as ``Assistant.ask``/``stream`` options."""
    return {"since": (since or "").strip() or None, "until": (until or "").strip() or None,
            "source": sources or None, "k": int(k), "use_llm": bool(use_llm)}


def report_markdown(report: IngestReport) -> str:
    """An ingest report for the page: the summary, then one line per file that failed."""
    lines = [report.summary()]
    for error in report.errors:
        where = Path(error.path).name  # with where in the file: "feed.jsonl:3", "x.json (item 2)"
        lines.append(f"- **{html.escape(where)}**: {html.escape(error.problem)}")
    return "\n".join(lines)


# ---------------------------------------------------------------- the page


def build(assistant: Assistant, access: SharedAccess | None = None):
    import gradio as gr

    settings = assistant.settings
    # Questions are answered side by side (an extractive answer never waits for another user's
    # LLM call); an upload or a delete waits for the answers under way and runs alone.
    access = access or SharedAccess()  # `assistant serve` passes the HTTP API's
    assistant.warm()  # built once, not per thread
    llm_available = settings.llm != "none"

    def listing() -> tuple[list[list[str]], list[tuple[str, str]], list[str]]:
        """From one read of the index: the table's rows, the delete choices, the sources."""
        entries = assistant.articles()
        rows = [[e["title"], e.get("source") or "", e.get("published") or "", Path(e["path"]).name]
                for e in entries]
        choices = [(f"{e['title']} — {e.get('source') or 'no source'}"
                    + (f" ({e['published']})" if e.get("published") else ""), e["key"])
                   for e in entries]
        return rows, choices, sorted({e["source"] for e in entries if e.get("source")})

    def listing_updates(clear_choice: bool = False) -> tuple:
        rows, choices, sources = listing()
        return (gr.update(value=rows),
                gr.update(choices=choices, **({"value": []} if clear_choice else {})),
                gr.update(choices=sources))

    def respond(message: str, chat: list, conversation: Conversation | None, since: str,
                until: str, sources: list[str] | None, k: float, use_llm: bool) -> Iterator:
        chat = list(chat or [])
        if not message or not message.strip():
            yield chat, gr.skip(), conversation, ""
            return
        conversation = conversation or Conversation(assistant.chat())
        chat += [{"role": "user", "content": message},
                 {"role": "assistant", "content": '<div class="answer"><i>Searching the articles…</i></div>'}]
        yield chat, gr.skip(), conversation, ""
        options = ask_options(since, until, sources, k, use_llm)
        text, answer = "", None
        with access.reading():
            try:
                for event in conversation.session.stream(message, **options):
                    if event.kind == "sources":
                        yield chat, sources_html(conversation, event.passages), conversation, ""
                    elif event.kind == "token":
                        text += event.text
                        chat[-1] = {"role": "assistant", "content":
                                    f'<div class="answer">{cite_links(html.escape(text))}</div>'}
                        yield chat, gr.skip(), conversation, ""
                    elif event.answer is not None:
                        answer = event.answer
            except Exception as exc:  # a date the filter cannot read, no index yet, a bug
                problem = str(exc)
                if not isinstance(exc, AssistantError):
                    log.exception("answering %r failed", message)
                    problem = f"Something went wrong while answering: {exc!r}"
                chat[-1] = {"role": "assistant", "content": '<div class="answer"><div class="error">'
                                                            f"{html.escape(problem)}</div></div>"}
                yield chat, sources_html(conversation), conversation, ""
                return
        conversation.add(answer, assistant)
        chat[-1] = {"role": "assistant", "content": answer_html(answer)}
        yield chat, sources_html(conversation), conversation, ""

    def new_chat():
        return [], None, sources_html(None), ""

    def after_change(report: IngestReport):
        return (report_markdown(report), *listing_updates(clear_choice=True))

    def upload(files: list[str] | None, progress=gr.Progress()):  # noqa: B008 (Gradio injects it)
        if not files:
            return "Choose one or more article files first.", gr.skip(), gr.skip(), gr.skip()

        def step(done: int, total: int, current: str) -> None:
            progress((done, total), desc=f"Indexing {Path(current).name}" if current else "Indexing",
                     unit="files")

        with access.writing():
            report = assistant.upload(files, progress=step)
        return after_change(report)

    def paste(title: str, source: str, published: str, text: str):
        if not text or not text.strip():
            return "Paste the article's text first.", gr.skip(), gr.skip(), gr.skip()
        with access.writing():
            report = assistant.add_text(text, title, source, published)
        return after_change(report)

    def delete_chosen(keys: list[str] | None):
        if not keys:
            return "Choose the articles to delete first.", gr.skip(), gr.skip(), gr.skip()
        with access.writing():
            report = assistant.remove(keys)
        return after_change(report)

    def ask_api(question: str, since: str = "", until: str = "", sources: list[str] | None = None,
                k: int = settings.top_k, use_llm: bool = True) -> str:
        """One question, no conversation: the Answer as JSON, as the CLI's --json prints it."""
        with access.reading():
            try:
                answer = assistant.ask(question, **ask_options(since, until, sources, k, use_llm))
            except AssistantError as exc:
                raise gr.Error(str(exc)) from exc
        return answer.model_dump_json()

    def delete_api(keys: list[str]) -> str:
        """Take articles out of the index by key; the summary of what was removed."""
        with access.writing():
            return assistant.remove(keys).summary()

    def articles_api() -> str:
        """The indexed articles as JSON: key, id, title, source, published, path."""
        return json.dumps(assistant.articles())

    rows, choices, known_sources = listing()  # refreshed on each page load (demo.load)
    with gr.Blocks(title="News assistant", analytics_enabled=False) as demo:
        conversation = gr.State(None)  # one per browser tab
        gr.Markdown("## News assistant\nAnswers come only from the indexed articles, and every "
                    "claim quotes its source. ⚠ marks a generated sentence the articles do not "
                    "support.")
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=520, elem_id="chat",
                                     sanitize_html=True, buttons=["copy"])
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask about the articles…", show_label=False,
                                     scale=5, autofocus=True, elem_id="question")
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                with gr.Row():
                    fresh = gr.Button("New chat", size="sm", elem_id="new-chat")
                gr.Examples(EXAMPLES, inputs=box, label="Try")
                with gr.Accordion("Filters and settings", open=False, elem_id="filters"):
                    with gr.Row():
                        since = gr.Textbox(label="Published since", elem_id="since",
                                           placeholder="2024, 2024-04, April 2024")
                        until = gr.Textbox(label="Published until", elem_id="until",
                                           placeholder="2024-12-31")
                    sources = gr.Dropdown(choices=known_sources, value=[], multiselect=True,
                                          label="Sources (all when empty)", elem_id="sources")
                    k = gr.Slider(1, 20, value=settings.top_k, step=1, elem_id="k",
                                  label="Passages to retrieve")
                    use_llm = gr.Checkbox(
                        value=llm_available, interactive=llm_available, elem_id="use-llm",
                        label="Write the answer with the LLM (off: quote the best sentences)",
                        info=None if llm_available else "No LLM backend is set (llm = none).")
            with gr.Column(scale=2):
                panel = gr.HTML(sources_html(None), elem_id="sources-panel",
                                label="Sources")
        with gr.Tab("Articles"):
            status = gr.Markdown(elem_id="ingest-status")
            with gr.Row():
                with gr.Column():
                    files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES,
                                    label="Upload articles (.txt .md .html .json .jsonl)",
                                    elem_id="upload")
                    add_files = gr.Button("Add the files", variant="primary", elem_id="add-files")
                with gr.Column():
                    p_title = gr.Textbox(label="Title", elem_id="paste-title")
                    with gr.Row():
                        p_source = gr.Textbox(label="Source", elem_id="paste-source")
                        p_date = gr.Textbox(label="Published", placeholder="2024-04-09",
                                            elem_id="paste-date")
                    p_text = gr.Textbox(label="Article text", lines=6, elem_id="paste-text")
                    add_text = gr.Button("Add the article", elem_id="add-text")
            table = gr.Dataframe(rows, headers=["Title", "Source", "Published", "File"],
                                 interactive=False, label="Indexed articles", elem_id="articles")
            with gr.Row():
                doomed = gr.Dropdown(choices=choices, value=[], multiselect=True,
                                     label="Articles to delete", scale=4, elem_id="delete-choice")
                remove = gr.Button("Delete", variant="stop", scale=1, elem_id="delete")

        ask_inputs = [box, chatbot, conversation, since, until, sources, k, use_llm]
        ask_outputs = [chatbot, panel, conversation, box]
        # questions from every tab and the API share one pool of workers (answers run side by side)
        asking = {"concurrency_limit": settings.ui_concurrency, "concurrency_id": "ask"}
        box.submit(respond, ask_inputs, ask_outputs, api_visibility="private", **asking)
        send.click(respond, ask_inputs, ask_outputs, api_visibility="private", **asking)
        fresh.click(new_chat, None, [chatbot, conversation, panel, box], api_visibility="private")
        chatbot.clear(new_chat, None, [chatbot, conversation, panel, box], api_visibility="private")
        changed = [status, table, doomed, sources]
        add_files.click(upload, files, changed, api_visibility="private")
        add_text.click(paste, [p_title, p_source, p_date, p_text], changed, api_visibility="private")
        remove.click(delete_chosen, doomed, changed, api_visibility="private")
        demo.load(lambda: listing_updates(), None, [table, doomed, sources],
                  api_visibility="private")
        gr.api(ask_api, api_name="ask", **asking)
        gr.api(articles_api, api_name="articles")
        gr.api(delete_api, api_name="delete")
    return demo


def launch_options(settings) -> dict:
    """How ``serve`` launches the page: host, port, optional login, our CSS and JS."""
    auth = None
    if settings.ui_auth:
        pairs = [pair.strip() for pair in settings.ui_auth.split(",") if pair.strip()]
        if not all(re.fullmatch(r"[^:]+:.+", pair) for pair in pairs):
            raise SettingsError("ui_auth (ASSISTANT_UI_AUTH) must be 'user:password', "
                                "several separated by commas.")
        auth = LoginThrottle([tuple(pair.split(":", 1)) for pair in pairs])
    return {"server_name": settings.ui_host, "server_port": settings.ui_port, "auth": auth,
            "quiet": True, "css": CSS, "js": JS}


def serve(assistant: Assistant) -> None:
    """Build the index from the bundled articles if there is none, then serve the page."""
    settings = assistant.settings
    # the local model loads while the page starts and the reader types; a question asked before
    # it is up is answered from the quotes, with a note, instead of waiting
    assistant.llm.start_in_background()
    if not assistant.has_index():
        if Path(settings.articles_dir).is_dir():
            print(f"No index at {settings.index_dir}/: indexing {settings.articles_dir} first …")
            report = assistant.ingest([settings.articles_dir])
            print(report.summary())
            for error in report.errors:
                print(f"error: {error}")
        else:  # installed from a wheel, away from a checkout's articles/: start empty
            print(f"No index at {settings.index_dir}/ and no folder {settings.articles_dir}: "
                  "starting empty. Add articles in the Articles tab or with `assistant ingest FOLDER`.")
    print(f"Chat UI at http://{settings.ui_host}:{settings.ui_port}"
          + (" (login required)" if settings.ui_auth else ""), flush=True)
    build(assistant).launch(**launch_options(settings))
