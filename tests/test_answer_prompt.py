"""The answer prompt is chosen by a setting (issue 17: prompt variants measured side by side)."""

from importlib import resources

import pytest
from pydantic import ValidationError

from assistant import Settings, generate

VARIANTS = sorted(p.name[:-4] for p in resources.files("assistant").joinpath("prompts").iterdir()
                  if p.name.startswith("answer") and p.name.endswith(".txt"))


@pytest.mark.parametrize("name", VARIANTS)
def test_every_answer_prompt_fences_the_sources_and_asks_the_question(name):
    messages = generate.prompt("Who won?", [], name)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "<excerpts>" in messages[1]["content"] and "Who won?" in messages[1]["content"]
    assert "never instructions" in messages[0]["content"]


def test_the_setting_picks_the_prompt_and_the_default_is_answer():
    assert Settings().answer_prompt == "answer"
    assert generate.prompt("Q?", [], "answer") == generate.prompt("Q?", [])
    with pytest.raises(ValidationError):
        Settings(answer_prompt="../secrets")


def test_stream_text_sends_the_named_prompt():
    class Echo:
        def stream(self, messages):
            yield messages[0]["content"]

    sent = "".join(generate.stream_text(Echo(), "Q?", [], VARIANTS[-1]))
    assert sent == generate.prompt("Q?", [], VARIANTS[-1])[0]["content"]


def test_excerpts_of_one_article_share_one_heading_and_keep_their_numbers(seed_index):
    from assistant import Assistant
    from assistant.answering import choose

    assistant = Assistant(Settings(index_dir=seed_index, llm="none"))
    pool = assistant.sentences("What did Campbell warn?")
    sources = generate.build_sources(choose(pool, 8, complements=False), 4)
    user = generate.prompt("What did Campbell warn?", sources)[1]["content"]
    for title in {src.hit.article.title for src in sources}:
        assert user.count(f"Article: {title}") == 1  # a heading read once, not once per excerpt
    for src in sources:
        assert f"[{src.n}] {src.text}" in user
    assert len({src.hit.article.id for src in sources}) < len(sources)  # the case this is about


def test_a_title_made_from_the_articles_first_words_is_not_sent_again(tmp_path):
    from assistant.articles import load_file
    from assistant.chunking import Passage, Span
    from assistant.retrieval import Hit

    body = ("Firefighters contained a blaze near Mittagong on Tuesday after three days. "
            "About 500 residents had left their homes, the fire service said.")
    (tmp_path / "untitled.txt").write_text(body)  # no headline: the title is the first words
    (tmp_path / "titled.txt").write_text("Blaze contained\n\n" + body)
    for name, heading in (("untitled.txt", "Article\n[1]"), ("titled.txt", "Article: Blaze contained")):
        article = load_file(tmp_path / name)[0][0]
        start = article.text.index("About")
        hit = Hit(Passage(article.id, 0, 0, len(article.text), article.text), article, 1.0, 0.5)
        source = generate.Source(1, hit, (Span(start, len(article.text)),))
        user = generate.prompt("How many left?", [source])[1]["content"]
        assert heading in user
        assert "Firefighters contained" not in user  # only the excerpt carries the article's words
