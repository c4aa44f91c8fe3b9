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
