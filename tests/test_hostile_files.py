"""Hostile files: one bad entry gets one error line and never stops the files after it."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.articles import iter_files, load_file

GOOD = "Officials said on Tuesday that the bridge would reopen in May after repairs.\n"


def _load_all(folder: Path) -> tuple[list, list]:
    articles, errors = [], []
    for item in iter_files([folder]):
        if isinstance(item, Path):
            found, bad = load_file(item)
            articles += found
            errors += bad
        else:
            errors.append(item)
    return articles, errors


def test_deeply_nested_json_is_an_error_line_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "a_deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "b_good.txt").write_text(GOOD)
    articles, errors = _load_all(tmp_path)
    assert [a.text for a in articles] == [GOOD.strip()]
    assert any("a_deep.json" in str(e) and "nested" in str(e) for e in errors)


def test_lone_surrogate_in_json_does_not_stop_the_ingest(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"title": "T", "text": "Bad \ud800 text said."}))
    articles, errors = load_file(tmp_path / "a.json")
    assert len(articles) == 1 and "\ufffd" in articles[0].text
    assert articles[0].id  # the stable id is computable


def test_every_skipped_entry_gets_an_error_line(tmp_path: Path) -> None:
    (tmp_path / "x.txt").mkdir()
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4 nothing")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "good.txt").write_text(GOOD)
    articles, errors = _load_all(tmp_path)
    text = "\n".join(str(e) for e in errors)
    assert len(articles) == 1
    for name in ("x.txt", "report.pdf", "loop"):
        assert name in text


def test_utf16_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "u16.txt").write_text(GOOD, encoding="utf-16")
    articles, errors = load_file(tmp_path / "u16.txt")
    assert errors == [] and "bridge would reopen" in articles[0].text


def test_oversized_file_is_skipped_with_its_size(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text(GOOD * 100)
    articles, errors = load_file(tmp_path / "big.txt", max_bytes=1000)
    assert articles == [] and "too large" in str(errors[0])


def test_citation_markers_in_article_text_are_neutralised(tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text("Exports fell by 4 percent, the figures [1][2] showed.\n")
    articles, _ = load_file(tmp_path / "m.txt")
    assert "[1]" not in articles[0].text and "[2]" not in articles[0].text
    assert "figures" in articles[0].text


def test_a_line_without_sentence_ends_gives_bounded_passages_and_quotes(tmp_path: Path) -> None:
    from assistant import Assistant, Settings
    from assistant.chunking import MAX_SENTENCE_CHARS

    words = " ".join(f"ferry{i % 97} harbour toll levy" for i in range(20_000))  # ~600 KB, no "."
    (tmp_path / "one_line.txt").write_text("Harbour levy notes\n\n" + words + "\n", encoding="utf-8")
    assistant = Assistant(Settings(index_dir=tmp_path / "index", llm="none"))
    report = assistant.ingest([tmp_path / "one_line.txt"])
    assert report.ok and report.passages > 100
    article = assistant.store.article(assistant.articles()[0]["id"])
    assert max(s.end - s.start for s in article.sentences) <= MAX_SENTENCE_CHARS
    answer = assistant.ask("What does the harbour toll levy say about ferry42?")
    assert all(len(c.quote) <= 2 * MAX_SENTENCE_CHARS for c in answer.citations)  # at most a join
    assert len(answer.model_dump_json()) < 100_000


def test_an_over_long_article_is_cut_and_the_report_says_so(tmp_path: Path) -> None:
    from assistant import Assistant, Settings

    paragraph = "The council met again on Tuesday and talked about the ferry fares for an hour.\n\n"
    (tmp_path / "long.txt").write_text("Ferry fares\n\n" + paragraph * 200, encoding="utf-8")
    (tmp_path / "short.txt").write_text("Bridge\n\n" + GOOD, encoding="utf-8")
    assistant = Assistant(Settings(index_dir=tmp_path / "index", llm="none", max_article_chars=5000))
    report = assistant.ingest([tmp_path])
    assert report.ok and len(report.added) == 2
    assert len(report.cut) == 1 and "long.txt" in report.cut[0] and "kept the first" in report.cut[0]
    assert "cut (too long)" in report.summary()
    stored = {e["title"]: assistant.store.article(e["id"]) for e in assistant.articles()}
    assert len(stored["Ferry fares"].text) <= 5000 and stored["Ferry fares"].text.endswith("hour.")


def test_the_hostile_corpus_ingests_in_one_run_and_every_good_article_answers(tmp_path: Path) -> None:
    import subprocess
    import sys

    from assistant import Assistant, Settings

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "evals"))
    from hostile_corpus import GOOD_QUESTIONS, write

    kinds = write(tmp_path / "hostile")
    run = subprocess.run([sys.executable, "-m", "assistant", "ingest", str(tmp_path / "hostile"),
                          "--index", str(tmp_path / "index"), "--json"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 1  # some files failed, the run finished
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    for name, kind in kinds.items():
        named = [line for line in errors if f"/{name}" in line]
        assert bool(named) == ("bad" in kind), (name, kind, named)
    assert len(errors) <= len(kinds) + 4  # one line per bad entry (a JSON list: one per item)
    assistant = Assistant(Settings(index_dir=tmp_path / "index", llm="none"))
    answered = 0
    for name, question, expected in GOOD_QUESTIONS:
        answer = assistant.ask(question)
        # every good article is read, indexed and found first for its question, whatever its
        # clothes; whether the fitted scorer quotes it is the answer stage's business, not this
        # test's, so most (not all) of these constructed stories must be answered
        assert answer.passages[0].path.endswith(name.split("/")[-1]), (question, answer.passages[0])
        answered += expected in answer.answer
        assert "PWNED" not in answer.answer
    assert answered >= 0.8 * len(GOOD_QUESTIONS)
