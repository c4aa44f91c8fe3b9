"""Files → Article: cleaned text plus what a news reader expects (headline, source, author, date).

Supported: .txt and .md (plain news text, optional front matter in .md), .html/.htm (via
trafilatura), .json (one object or a list) and .jsonl (one object per line).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from .errors import ArticleError
from .language import Entity
from .settings import MAX_FILE_BYTES, MAX_TITLE_CHARS

log = logging.getLogger(__name__)
SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"}

# Mastheads that open a reprinted article (PressReader and similar put them on the first line).
KNOWN_SOURCES = (
    "South China Morning Post",
    "The New York Times",
    "The Washington Post",
    "The Guardian",
    "The Times",
    "Financial Times",
    "The Wall Street Journal",
    "The Economist",
    "Associated Press",
    "Reuters",
    "Agence France-Presse",
    "AFP",
    "BBC News",
    "ABC News",
    "Al Jazeera",
    "Bloomberg",
    "China Daily",
    "Global Times",
    "The Straits Times",
    "The Japan Times",
    "Nikkei Asia",
    "Deutsche Welle",
    "BGNES",
)
_SOURCE_BY_LOWER = {s.lower(): s for s in KNOWN_SOURCES}

# Reprint boilerplate: PressReader's footer and its kin. Whole paragraphs only.
_BOILERPLATE = re.compile(
    r"^(?:Newspapers (?:in|from) [A-Z][\w .-]*"
    r"|Printed and distributed by PressReader.*"
    r"|PressReader\.com.*"
    r"|Copyright \(c\) .*|©.*All rights reserved\.?)$",
    re.IGNORECASE,
)
_TRAILING_TAG = re.compile(r"\s*\|\s*([A-Z][\w.&' -]{1,40}?)\s*$")
_BYLINE = re.compile(
    r"^(?:[-–—•*]\s*|By\s+)"
    r"(?P<name>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,4}(?:\s+and\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})?)"
    r"(?:\s*,?\s*(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+))?\s*$"
)
# A pull quote repeats a sentence of the body and ends with an upper-case attribution.
_PULL_QUOTE = re.compile(r"^(?P<quote>.+?)\s+(?P<who>[A-Z][A-Z.'’ -]+(?:,\s*[A-Z][A-Z.'’ -]+)*)$")
_DATE_LINE = re.compile(r"^(?:Published|Updated|Date)?:?\s*(?P<date>.{6,40})$", re.IGNORECASE)
_WORD = re.compile(r"[\w’']+")
_FRONT_MATTER = re.compile(r"\A---\s*\n(?P<body>.*?)\n---\s*\n", re.DOTALL)

FIELD_ALIASES = {
    "title": ("title", "headline", "name"),
    "text": ("body", "text", "content", "article", "story"),
    "source": ("source", "publisher", "site", "outlet", "sitename"),
    "author": ("author", "byline", "authors"),
    "published": ("published", "date", "pubdate", "published_at", "datetime"),
    "url": ("url", "link"),
    "id": ("id", "guid", "uuid"),
}


class Sentence(BaseModel):
    """A sentence of an article's stored text, and who speaks in it (see ``attribution.analyse``)."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int
    speakers: tuple[str, ...] = ()  # full names where the article gives them
    speech: bool = False  # reported or quoted speech, whoever the speaker
    entities: tuple[Entity, ...] = ()  # names, dates, numbers ... the language model found


class Article(BaseModel):
    """One news article as stored: `text` is the cleaned text every citation offset points into."""

    model_config = ConfigDict(frozen=True)

    id: str
    key: str  # where it came from: the file, or file#record for JSON collections
    path: str
    title: str
    text: str
    source: str | None = None
    author: str | None = None
    published: date | None = None
    url: str | None = None
    sentences: tuple[Sentence, ...] = ()  # filled at ingest


def article_id(title: str, text: str) -> str:
    """A stable id from the content: the same article always gets the same id."""
    # surrogatepass: a lone surrogate in a JSON string must not kill the whole ingest
    return hashlib.sha256(f"{title}\n\n{text}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def scrub(text: str) -> str:
    """Replace lone surrogates (legal in JSON, not encodable as UTF-8) with U+FFFD."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def clean_text(text: str) -> str:
    """Normalise line ends and spaces; keep paragraphs (one blank line between them)."""
    text = scrub(text).replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = text.replace("\ufeff", "")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    paragraphs = [line for line in lines if line]
    return neutralise_markers("\n\n".join(paragraphs))


def neutralise_markers(text: str) -> str:
    """Article text's own "[2]" would pass for one of our citation markers in the answer and
    become a link to a card that does not exist: write it with full-width brackets instead."""
    return re.sub(r"\[(\d{1,3})\]", "\uff3b\\1\uff3d", text)


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path | ArticleError]:
    """Expand folders (recursively, supported suffixes, sorted); report paths that cannot work."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if hidden:
                    continue
                if child.is_symlink() and not child.exists():
                    yield ArticleError(str(child), "broken symlink or symlink loop; skipped")
                elif child.is_dir():
                    if child.suffix.lower() in SUFFIXES:
                        yield ArticleError(str(child), "a folder, not a file; its files are read")
                elif not child.is_file():
                    yield ArticleError(str(child), "not a regular file; skipped")
                elif child.suffix.lower() in SUFFIXES:
                    yield child
                else:
                    yield ArticleError(str(child), f"unsupported file type "
                                       f"{child.suffix or '(none)'!r}; skipped")
        elif path.is_file():
            if path.suffix.lower() in SUFFIXES:
                yield path
            else:
                yield ArticleError(str(path), f"unsupported file type {path.suffix or '(none)'!r}; "
                                   f"use one of {', '.join(sorted(SUFFIXES))}")
        else:
            yield ArticleError(str(path), "no such file or folder")


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The file's text, or an ArticleError saying why it is not usable text."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleError(str(path), f"file too large ({size:,} bytes > limit {max_bytes:,}; "
                               "raise ASSISTANT_MAX_FILE_BYTES to read it)")
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise ArticleError(str(path), "empty file")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ArticleError(str(path), "UTF-16 file with invalid bytes") from exc
    if b"\x00" in data[:8192]:
        raise ArticleError(str(path), "binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleError(
            str(path), f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc


def load_file(path: Path, max_bytes: int = MAX_FILE_BYTES
              ) -> tuple[list[Article], list[ArticleError]]:
    """Every article in one file, and an error for each part of it that is not an article."""
    try:
        raw = read_text(path, max_bytes)
        suffix = path.suffix.lower()
        if suffix in {".json", ".jsonl"}:
            return _load_json(path, raw, lines=suffix == ".jsonl")
        if suffix in {".html", ".htm"}:
            return [_from_html(path, raw)], []
        return [_from_plain(path, raw, markdown=suffix in {".md", ".markdown"})], []
    except ArticleError as exc:
        return [], [exc]
    except RecursionError:
        return [], [ArticleError(str(path), "nested too deeply to read; skipped")]
    except (ValueError, TypeError, UnicodeError) as exc:
        # one bad file must never stop the files after it
        return [], [ArticleError(str(path), f"cannot read as an article: {exc}")]


# ---------------------------------------------------------------- plain text and markdown


def _from_plain(path: Path, raw: str, markdown: bool = False) -> Article:
    meta: dict[str, str] = {}
    if markdown:
        match = _FRONT_MATTER.match(raw)
        if match:
            for line in match.group("body").splitlines():
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip().strip("\"'")
            raw = raw[match.end():]
    paragraphs = clean_text(raw).split("\n\n")
    paragraphs = [p for p in paragraphs if p and not _BOILERPLATE.match(p)]
    fields = _pick_fields(meta)
    title, source, author = fields["title"], fields["source"], fields["author"]
    published = _published(fields["published"], path)

    if markdown:
        paragraphs = [_strip_markdown(p) for p in paragraphs]
        if paragraphs and paragraphs[0].startswith("# "):
            title = title or paragraphs[0][2:].strip()
            paragraphs = paragraphs[1:]
    if paragraphs and (tag := _TRAILING_TAG.search(paragraphs[-1])):
        source = source or tag.group(1).strip()
        paragraphs[-1] = paragraphs[-1][: tag.start()].rstrip()
    if paragraphs and paragraphs[0].lower() in _SOURCE_BY_LOWER:
        source = source or _SOURCE_BY_LOWER[paragraphs[0].lower()]
        paragraphs = paragraphs[1:]
    if not title and len(paragraphs) > 1 and _looks_like_headline(paragraphs[0]):
        title = paragraphs.pop(0)
    for i, para in enumerate(paragraphs[:3]):
        if match := _BYLINE.match(para):
            author = author or match.group("name")
            del paragraphs[i]
            break
    if (paragraphs and published is None and len(paragraphs[0]) <= 40
            and (match := _DATE_LINE.match(paragraphs[0]))
            and (when := _parse_date(match["date"]))):
        published = when
        paragraphs = paragraphs[1:]
    paragraphs = _drop_pull_quotes(paragraphs)
    text = "\n\n".join(p for p in paragraphs if p)
    if not text.strip():
        raise ArticleError(str(path), "no article text after removing headline and boilerplate")
    return _make(path, str(path), title, text, source, author, published, fields["url"])


def _strip_markdown(paragraph: str) -> str:
    if paragraph.startswith("#"):
        level = len(paragraph) - len(paragraph.lstrip("#"))
        return ("# " if level == 1 else "") + paragraph.lstrip("#").strip()
    return re.sub(r"(\*\*|__)(.+?)\1", r"\2", paragraph)


def _looks_like_headline(paragraph: str) -> bool:
    words = paragraph.split()
    return 2 <= len(words) <= 20 and not paragraph.rstrip("”\"’'").endswith((".", ":", ";", ","))


def _drop_pull_quotes(paragraphs: list[str]) -> list[str]:
    kept: list[str] = []
    for i, para in enumerate(paragraphs):
        match = _PULL_QUOTE.match(para)
        if match and len(match["who"].split()) >= 2 and i > 0:
            words = {w.lower() for w in _WORD.findall(match["quote"])}
            body = {w.lower() for p in paragraphs[:i] for w in _WORD.findall(p)}
            if words and len(words & body) / len(words) >= 0.8:
                continue
        kept.append(para)
    return kept


def _first_sentence_title(text: str, max_words: int = 14) -> str:
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    words = first.split()
    return first if len(words) <= max_words else " ".join(words[:max_words]) + "…"


def _published(value: object, where: object) -> date | None:
    """An article's stated date; one that cannot be read is said (a warning), and the article
    is kept, undated."""
    when = _parse_date(value)
    if when is None and value not in (None, ""):
        log.warning("warning: %s: cannot read the date %r; the article is stored undated",
                    where, str(value)[:60])
    return when


def _parse_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and 19000101 <= value <= 21001231:
        value = str(int(value))
    text = str(value).strip()
    for parse in (date.fromisoformat, lambda s: datetime.fromisoformat(s).date()):
        try:
            return parse(text)
        except ValueError:
            pass
    if not re.search(r"\d", text) or len(text) > 40:
        return None
    import dateparser  # slow to import; only for dates that are not ISO

    parsed = dateparser.parse(
        text, languages=["en"], settings={"REQUIRE_PARTS": ["year"], "STRICT_PARSING": False}
    )
    return parsed.date() if parsed else None


def _make(path: Path, key: str, title: str | None, text: str, source: str | None,
          author: str | None, published: date | None, url: str | None) -> Article:
    if not re.search(r"[^\W\d_]{2}", text):  # control characters, punctuation, a bare number
        raise ArticleError(key, "no words in the article text")
    title = _short((title or "").strip() or _first_sentence_title(text))
    return Article(
        id=article_id(title, text),
        key=key,
        path=str(path),
        title=title,
        text=text,
        source=_short(source) or None,
        author=_short(author) or None,
        published=published,
        url=(url or None),
    )


def _short(field: str | None) -> str:
    """A title, source or author fits a line: a longer one is cut with "…"."""
    field = field or ""
    if len(field) <= MAX_TITLE_CHARS:
        return field
    return " ".join(field[:MAX_TITLE_CHARS * 2].split())[:MAX_TITLE_CHARS - 1].rstrip() + "…"


# ---------------------------------------------------------------- HTML


def _from_html(path: Path, raw: str) -> Article:
    import trafilatura

    doc = trafilatura.bare_extraction(
        raw, with_metadata=True, include_comments=False, include_tables=False, favor_precision=True
    )
    data = doc.as_dict() if doc is not None and hasattr(doc, "as_dict") else (doc or {})
    body = data.get("text") or ""
    if len(body.split()) < 5:
        raise ArticleError(str(path), "HTML page has no article text")
    text = clean_text(body)
    return _make(path, str(path), data.get("title"), text, data.get("sitename"),
                 data.get("author"), _parse_date(data.get("date")), data.get("url"))


# ---------------------------------------------------------------- JSON and JSONL


def _pick_fields(record: dict) -> dict[str, str | None]:
    picked: dict[str, str | None] = {}
    lowered = {str(k).lower(): v for k, v in record.items()}
    for field, aliases in FIELD_ALIASES.items():
        value = next((lowered[a] for a in aliases if lowered.get(a) not in (None, "")), None)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if isinstance(value, dict):
            value = value.get("name") or value.get("title")
        picked[field] = value if field == "published" else (scrub(str(value)) if value else None)
    return picked


def _load_json(path: Path, raw: str, lines: bool) -> tuple[list[Article], list[ArticleError]]:
    records: list[tuple[str, object]] = []
    if lines:
        for n, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                try:
                    records.append((f"line {n}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    records.append((f"line {n}", ArticleError(
                        f"{path}:{n}", f"malformed JSON: {exc.msg} (column {exc.colno})")))
    else:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ArticleError(
                str(path), f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from exc
        if isinstance(data, dict) and isinstance(data.get("articles"), list):
            data = data["articles"]
        items = data if isinstance(data, list) else [data]
        records = [(f"item {n}", item) for n, item in enumerate(items, start=1)]

    articles: list[Article] = []
    errors: list[ArticleError] = []
    for where, record in records:
        if isinstance(record, ArticleError):
            errors.append(record)
            continue
        if not isinstance(record, dict):
            errors.append(ArticleError(f"{path} ({where})", "expected a JSON object per article"))
            continue
        fields = _pick_fields(record)
        if not fields["text"] or not fields["text"].strip():
            errors.append(ArticleError(
                f"{path} ({where})", "no article text (expected a 'body' or 'text' field)"))
            continue
        ident = fields["id"] or fields["url"] or where.split()[-1]
        text = clean_text(fields["text"])
        published = _published(fields["published"], f"{path} ({where})")
        try:  # one bad record never costs the others
            articles.append(_make(path, f"{path}#{ident}", fields["title"], text, fields["source"],
                                  fields["author"], published, fields["url"]))
        except ArticleError as exc:
            errors.append(exc)
    if not articles and not errors:
        errors.append(ArticleError(str(path), "no articles in file"))
    return articles, errors
