"""Reading articles: metadata a news reader expects, and a clear error for each bad file."""

import json

import pytest
from conftest import SEED_DIR

from assistant.articles import article_id, load_file

SCMP = SEED_DIR / "003_ee12390e8f92d40b.txt"
BGNES = SEED_DIR / "000_19993ad7f36235d9.txt"


def test_pressreader_reprint_yields_masthead_headline_and_byline():
    [article], errors = load_file(SCMP)
    assert errors == []
    assert article.source == "South China Morning Post"
    assert article.title == "Closer Beijing ties with Moscow risk crossing ‘red line’, Washington warns"
    assert article.author == "Robert Delaney"
    assert "Newspapers in English" not in article.text
    assert "Newspapers from China" not in article.text
    assert "robert.delaney@scmp.com" not in article.text
    assert article.text.startswith("China’s closer ties with Russia")


def test_pull_quote_repeating_the_body_is_dropped():
    [article], _ = load_file(SCMP)
    assert "KURT CAMPBELL, U.S. DEPUTY SECRETARY OF STATE" not in article.text
    assert article.text.count("We will not sit by") == 1


def test_trailing_source_tag_becomes_the_source():
    [article], _ = load_file(BGNES)
    assert article.source == "BGNES"
    assert not article.text.rstrip().endswith("BGNES")
    assert article.text.endswith("artificial intelligence, it added.")
    assert article.title.startswith("Britain's foreign secretary has called on China")


def test_article_id_is_stable_and_content_based(tmp_path):
    [first], _ = load_file(BGNES)
    copy = tmp_path / "copy.txt"
    copy.write_bytes(BGNES.read_bytes())
    [second], _ = load_file(copy)
    assert first.id == second.id == article_id(first.title, first.text)
    copy.write_text(BGNES.read_text() + "\nA correction was appended.")
    [changed], _ = load_file(copy)
    assert changed.id != first.id


def test_json_and_jsonl_fields_are_mapped(tmp_path):
    record = {"headline": "Dam opens", "body": "The dam opened on Monday, officials said.",
              "publisher": "Daily Planet", "byline": "Lois Lane", "date": "2024-04-09",
              "link": "https://example.org/dam"}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(record))
    [article], errors = load_file(path)
    assert errors == []
    assert (article.title, article.source, article.author, article.url) == (
        "Dam opens", "Daily Planet", "Lois Lane", "https://example.org/dam")
    assert article.published.isoformat() == "2024-04-09"
    lines = tmp_path / "many.jsonl"
    lines.write_text("\n".join(json.dumps({**record, "title": f"T{i}", "text": f"Story {i}."})
                               for i in range(3)))
    articles, errors = load_file(lines)
    assert [a.title for a in articles] == ["T0", "T1", "T2"] and errors == []


def test_markdown_front_matter_and_heading(tmp_path):
    path = tmp_path / "story.md"
    path.write_text("---\nsource: Harbour Times\npublished: 9 April 2024\n---\n"
                    "# Ferry strike ends\n\nThe ferry strike ended on **Tuesday**, the union said.\n")
    [article], _ = load_file(path)
    assert article.title == "Ferry strike ends"
    assert article.source == "Harbour Times"
    assert article.published.isoformat() == "2024-04-09"
    assert article.text == "The ferry strike ended on Tuesday, the union said."


def test_html_article_text_and_metadata(tmp_path):
    body = " ".join(f"<p>Paragraph {i} of the report says the council voted to close the old "
                    f"bridge after engineers warned it was unsafe.</p>" for i in range(4))
    path = tmp_path / "page.html"
    path.write_text(f"<html><head><title>Bridge closes</title>"
                    f"<meta property='og:site_name' content='City News'>"
                    f"<meta name='date' content='2024-03-02'></head>"
                    f"<body><nav>Home | Sport</nav><article><h1>Bridge closes</h1>{body}</article>"
                    f"</body></html>")
    [article], errors = load_file(path)
    assert errors == []
    assert article.title == "Bridge closes"
    assert "engineers warned it was unsafe" in article.text
    assert "Home | Sport" not in article.text


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"  \n\n ", "empty file"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary file"),
    ("latin1.txt", "Caf\u00e9 owners said the tax was unfair.".encode("latin-1"), "not valid UTF-8"),
    ("broken.json", b'{"title": "x", "body": ', "malformed JSON"),
    ("nobody.json", b'{"title": "Only a title"}', "no article text"),
    ("nav.html", b"<html><body><nav>Home</nav></body></html>", "no article text"),
])
def test_bad_file_gets_an_error_naming_file_and_problem(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    articles, errors = load_file(path)
    assert articles == []
    assert len(errors) == 1
    assert name in str(errors[0]) and problem in str(errors[0])


def test_malformed_jsonl_line_is_reported_and_other_lines_kept(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text('{"title": "A", "body": "Alpha story text."}\n{"title": "B", "body"\n'
                    '{"title": "C", "body": "Gamma story text."}\n')
    articles, errors = load_file(path)
    assert [a.title for a in articles] == ["A", "C"]
    assert len(errors) == 1 and "feed.jsonl:2" in str(errors[0]) and "malformed JSON" in str(errors[0])


def test_an_unreadable_date_is_said_and_the_article_kept_undated(tmp_path, caplog):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"title": "Fares", "published": "sometime soon",
                                "text": "The council cut fares by 20 per cent."}))
    articles, errors = load_file(path)
    assert not errors and len(articles) == 1 and articles[0].published is None
    assert "cannot read the date 'sometime soon'" in caplog.text and "a.json" in caplog.text


def test_a_huge_title_is_cut_to_a_line(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"title": "Gondola " * 10_000, "source": "S" * 5_000,
                                "text": "The council cut fares by 20 per cent."}))
    article = load_file(path)[0][0]
    assert len(article.title) <= 300 and article.title.endswith("…")
    assert len(article.source) <= 300
