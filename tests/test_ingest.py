"""Ingest: incremental and idempotent, one bad file spoils nothing, a crash leaves a usable index."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import chromadb

from assistant import Assistant, Settings

ASSISTANT = [sys.executable, "-m", "assistant"]


def _assistant(index: Path) -> Assistant:
    return Assistant(Settings(index_dir=index))


def _stored_passages(index: Path) -> dict[str, str]:
    client = chromadb.PersistentClient(path=str(index / "chroma"))
    data = client.get_collection("passages").get()
    return dict(zip(data["ids"], data["documents"], strict=True))


def test_reingest_skips_unchanged_articles(corpus, tmp_path):
    index = tmp_path / "index"
    first = _assistant(index).ingest([corpus])
    assert len(first.added) == 2 and first.passages > 0
    again = _assistant(index).ingest([corpus])
    assert again.added == [] and len(again.unchanged) == 2 and again.passages == 0
    assert "2 unchanged (skipped)" in again.summary()


def test_new_who_said_what_rules_reanalyse_stored_articles_without_re_embedding(corpus, tmp_path):
    index = tmp_path / "index"
    _assistant(index).ingest([corpus])
    before = _stored_passages(index)
    # an index built by older analysis: no speakers or entities found, an older version
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["signature"]["speech"] -= 1
    (index / "manifest.json").write_text(json.dumps(manifest))
    for path in (index / "articles").glob("*.json"):
        article = json.loads(path.read_text())
        article["sentences"] = [{**s, "speakers": [], "entities": []} for s in article["sentences"]]
        path.write_text(json.dumps(article))
    stale = _assistant(index).ask("What did Campbell warn?")
    assert not any(c.speakers for c in stale.citations)  # nobody known to speak

    report = _assistant(index).ingest([corpus])
    assert report.passages == 0 and len(report.unchanged) == 2  # nothing embedded again
    assert _stored_passages(index) == before
    answer = _assistant(index).ask("What did Campbell warn?")
    assert not answer.refused and answer.citations[0].speakers == ["Kurt Campbell"]


def test_changed_article_replaces_its_old_passages(corpus, tmp_path):
    index = tmp_path / "index"
    assistant = _assistant(index)
    assistant.ingest([corpus])
    before = _stored_passages(index)
    scmp = corpus / "003_ee12390e8f92d40b.txt"
    scmp.write_text(scmp.read_text().replace("Stephen Orlins", "Jane Marsh"))
    report = assistant.ingest([corpus])
    assert len(report.updated) == 1 and len(report.unchanged) == 1
    after = _stored_passages(index)
    assert not any("Stephen Orlins" in text for text in after.values())
    assert any("Jane Marsh" in text for text in after.values())
    assert len(after) == len(before)
    answer = assistant.ask("Who was Campbell speaking with?")
    assert "Jane Marsh" in answer.citations[0].quote


def test_prune_removes_articles_whose_files_are_gone(corpus, tmp_path):
    index = tmp_path / "index"
    assistant = _assistant(index)
    assistant.ingest([corpus])
    (corpus / "000_19993ad7f36235d9.txt").unlink()
    kept = assistant.ingest([corpus])
    assert kept.removed == []
    assert assistant.ask("What did Lammy urge Wang Yi to do?").refused is False
    pruned = assistant.ingest([corpus], prune=True)
    assert len(pruned.removed) == 1
    assert assistant.ask("What did Lammy urge Wang Yi to do?").refused is True
    assert not any("Lammy" in text for text in _stored_passages(index).values())


def test_folder_with_bad_files_ingests_the_good_ones_and_fails_the_exit_code(corpus, tmp_path):
    (corpus / "empty.txt").write_text("")
    (corpus / "image.txt").write_bytes(b"\x00\x01\x02\x03binary")
    (corpus / "broken.jsonl").write_text('{"title": "ok", "body": "A fine story."}\n{oops\n')
    index = tmp_path / "index"
    run = subprocess.run([*ASSISTANT, "ingest", str(corpus), "--index", str(index)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert any("empty.txt: empty file" in e for e in errors)
    assert any("image.txt: binary file" in e for e in errors)
    assert any("broken.jsonl:2: malformed JSON" in e for e in errors)
    assert "3 added" in run.stdout and "3 failed" in run.stdout
    answer = _assistant(index).ask("What did Campbell warn?")
    assert not answer.refused


def test_an_article_the_language_analysis_fails_on_spoils_nothing_else(corpus, tmp_path,
                                                                       monkeypatch):
    """The articles of a batch are parsed together; one that the analysis fails on is reported by
    its file and the others are indexed."""
    from assistant import attribution

    analyse = attribution.analyse

    def fragile(text, *args, **kwargs):
        if "Unparseable" in text:
            raise ValueError("the parser gave up")
        return analyse(text, *args, **kwargs)

    monkeypatch.setattr(attribution, "analyse", fragile)
    (corpus / "odd.txt").write_text("A story\n\nIts one Unparseable paragraph trips the parser.\n")
    report = _assistant(tmp_path / "index").ingest([corpus])
    assert len(report.added) == 2
    assert [str(e) for e in report.errors] == [
        f"{corpus / 'odd.txt'}: article not indexed: the parser gave up"]
    assert not _assistant(tmp_path / "index").ask("What did Campbell warn?").refused


def _many_articles(folder: Path, seeds: Path, count: int) -> None:
    folder.mkdir()
    texts = [p.read_text() for p in sorted(seeds.glob("*.txt"))]
    for i in range(count):
        body = texts[i % 2].replace("\n\n", f"\n\nDispatch {i} adds this line.\n\n", 1)
        (folder / f"copy_{i:03d}.txt").write_text(body)


def test_killed_ingest_leaves_previous_index_usable_and_rerun_converges(corpus, tmp_path):
    index = tmp_path / "index"
    _assistant(index).ingest([corpus])
    more = tmp_path / "more"
    _many_articles(more, corpus, 40)

    proc = subprocess.Popen([*ASSISTANT, "ingest", str(corpus), str(more), "--index", str(index)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = index / "manifest.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if len(json.loads(manifest.read_text())["articles"]) >= 6:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = len(json.loads(manifest.read_text())["articles"])
    assert 6 <= committed < 42

    usable = _assistant(index).ask("What did Campbell warn?")
    assert not usable.refused and usable.citations

    report = _assistant(index).ingest([corpus, more])
    assert report.ok and len(report.unchanged) >= committed
    clean = tmp_path / "clean"
    _assistant(clean).ingest([corpus, more])
    assert _stored_passages(index) == _stored_passages(clean)
    assert json.loads(manifest.read_text())["articles"] == json.loads(
        (clean / "manifest.json").read_text())["articles"]


def test_uploaded_and_pasted_articles_are_kept_searchable_and_removable(corpus, tmp_path):
    index = tmp_path / "index"
    assistant = _assistant(index)
    assistant.ingest([corpus])
    ferry = Path(__file__).parent / "data" / "harbour_ferry.md"
    report = assistant.upload([ferry])
    assert len(report.added) == 1 and (index / "uploads" / "harbour_ferry.md").is_file()
    pasted = assistant.add_text("Head librarian Omar Castell said 3,200 residents signed the petition.",
                                title="Library opens on Sundays", source="Town Gazette",
                                published="2024-06-01")
    assert len(pasted.added) == 1
    entries = {e["title"]: e for e in assistant.articles()}
    assert entries["Library opens on Sundays"]["published"] == "2024-06-01"
    answer = assistant.ask("What did Marta Ilves say about the night service?")
    assert not answer.refused and answer.citations[0].source == "Coastal Courier"

    removed = assistant.remove([entries["Harbour ferry operator halts night crossings after "
                                         "engine-room fire"]["key"], "no-such-key"])
    assert len(removed.removed) == 1 and "not in the index" in str(removed.errors[0])
    assert assistant.ask("What did Marta Ilves say about the night service?").refused
    assert not (index / "uploads" / "harbour_ferry.md").exists()  # it would come back otherwise
    assert not any("Ilves" in text for text in _stored_passages(index).values())
    assert len(assistant.articles()) == 3
    # the seed articles' own files are left alone when they are deleted from the index
    lammy = next(e for e in assistant.articles() if "000_" in e["path"])
    assistant.remove([lammy["key"]])
    assert Path(lammy["path"]).is_file() and len(assistant.articles()) == 2


def _derived(index: Path) -> tuple[dict, dict]:
    """The duplicate groups and every passage's BM25 scores for a few questions."""
    store = _assistant(index).store
    lexical = store.lexical(store.committed(), _assistant(index).retriever.split)
    scores = {q: dict(zip(lexical.ids, lexical.scores(q).round(5).tolist(), strict=True))
              for q in ("What did Campbell warn?", "Lammy Wang Yi", "Dispatch adds line")}
    return store.duplicates(), scores


def test_derived_state_kept_across_ingests_equals_a_rebuild_and_old_indexes_open(
        corpus, tmp_path, caplog):
    """BM25 terms and MinHashes are kept between ingests and only new articles are analysed;
    what that builds equals building everything at once, and an index whose derived files were
    written by an older version is rebuilt once, with a note, not a crash."""
    more = tmp_path / "more"
    _many_articles(more, corpus, 3)
    (more / "copy_000_again.txt").write_text((more / "copy_000.txt").read_text() + "\nOne more.\n")
    step = tmp_path / "step"
    assistant = _assistant(step)
    assistant.ingest([corpus])
    assistant.ingest([corpus, more])  # the copies come in a second ingest
    whole = tmp_path / "whole"
    _assistant(whole).ingest([corpus, more])
    groups, scores = _derived(step)
    assert any(groups.values()) and (groups, scores) == _derived(whole)
    assert [p.name for p in (step / "lexical").iterdir()] == [p.name for p in (whole / "lexical").iterdir()]

    # an article leaves: its passages and its pairs go, the rest stays as a rebuild would make it
    (more / "copy_000_again.txt").unlink()
    _assistant(step).ingest([corpus, more], prune=True)
    whole = tmp_path / "whole-2"  # (a folder Chroma has open in this process is not removed)
    _assistant(whole).ingest([corpus, more])
    assert _derived(step) == _derived(whole)

    # derived files as an older version wrote them: no kept terms, MinHashes inside the groups
    for folder in (step / "lexical").iterdir():
        (folder / "terms.json").unlink()
        (folder / "terms.npz").unlink()
    (step / "duplicates.npz").unlink()
    old = json.loads((step / "duplicates.json").read_text())
    (step / "duplicates.json").write_text(json.dumps({"groups": old["groups"], "minhash": {}}))
    (more / "copy_001.txt").write_text((more / "copy_001.txt").read_text() + "\nA late line.\n")
    with caplog.at_level("WARNING"):
        report = _assistant(step).ingest([corpus, more])
    assert report.ok and len(report.updated) == 1
    notes = " ".join(r.getMessage() for r in caplog.records)
    assert "BM25 index on disk" in notes and "duplicate groups on disk" in notes
    whole = tmp_path / "whole-3"
    _assistant(whole).ingest([corpus, more])
    assert _derived(step) == _derived(whole)


def test_stored_passages_are_read_whole_in_pages(corpus, tmp_path, monkeypatch):
    """Chroma's SQLite refuses one request for tens of thousands of passages ("too many SQL
    variables" at 34,000): the store reads them in pages, and loses or repeats none."""
    import assistant.store as store_module

    index = tmp_path / "index"
    assistant = _assistant(index)
    assistant.ingest([corpus])
    stored = _stored_passages(index)
    monkeypatch.setattr(store_module, "_PAGE", 3)  # a few passages per page, as 5,000 are at scale
    read = assistant.store.passages()
    assert sorted(p.text for p, _, _ in read) == sorted(stored.values())
    ids = sorted(stored)[:7]
    by_id = assistant.store.passages(ids)
    assert sorted(p.text for p, _, _ in by_id) == sorted(stored[i] for i in ids)  # any order
    assert all(vector is not None and vector.shape == (384,) for _, _, vector in by_id)


def test_bm25_read_without_bm25s_scores_as_bm25s_does(seed_index):
    """The lexical index is stored in bm25s's layout and scored with numpy alone (a cold `ask`
    does not import bm25s): bm25s itself reads the same folder and gives the same scores."""
    import bm25s
    import numpy as np

    from assistant.terms import index_terms

    store = _assistant(seed_index).store
    lexical = store.lexical(store.committed(), _assistant(seed_index).retriever.split)
    folder = next(p for p in (seed_index / "lexical").iterdir() if not p.name.startswith("."))
    reference = bm25s.BM25.load(str(folder))
    for question in ("What did Campbell warn?", "Lammy Wang Yi Russia Russia", "zzz unknown"):
        query = [t for t in index_terms(question) if t in reference.vocab_dict]
        expected = reference.get_scores(query) if query else np.zeros(len(lexical.ids))
        assert np.allclose(lexical.scores(question), expected, atol=1e-6)
        assert lexical.scores(question).any() == bool(query)
