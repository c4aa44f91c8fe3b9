"""The fitted support judge the verifier uses for generated sentences (issue 17)."""

import pytest

from assistant import Assistant, Settings, generate
from assistant.answering import choose


@pytest.fixture(scope="module")
def lammy(seed_index):
    assistant = Assistant(Settings(index_dir=seed_index, llm="none"))
    pool = assistant.sentences("What did Lammy urge Wang Yi to do?")
    sources = generate.build_sources(choose(pool, 4, complements=False), 2)
    assert "take all measures to investigate" in sources[0].text
    return assistant, sources


def _check(assistant, sources, text, judge=True):
    checks, _ = generate.verify(text, sources, assistant.settings.support_threshold,
                                assistant.judge if judge else None, assistant.embedder.embed)
    return checks[0]


def test_the_shipped_judge_accepts_a_faithful_paraphrase_and_cites_its_source(lammy):
    assistant, sources = lammy
    assert assistant.judge is not None
    check = _check(assistant, sources,
                   "Lammy urged Wang Yi to stop Chinese companies from supplying the Russian military.")
    assert check.supported and check.citations == [1]


def test_a_date_the_source_never_gives_is_not_supported_though_its_words_are(lammy):
    assistant, sources = lammy
    text = ("The Foreign Secretary urged Wang Yi in 2019 to investigate Chinese companies "
            "supplying the Russian military.")
    assert _check(assistant, sources, text, judge=False).supported  # the word count is fooled
    assert not _check(assistant, sources, text).supported


def test_a_changed_number_or_an_invented_claim_is_not_supported(lammy):
    assistant, sources = lammy
    for text in ("Lammy urged Wang Yi to stop 40 Chinese companies from supplying the Russian military.",
                 "Wang Yi promised to close every factory in Shenzhen."):
        assert not _check(assistant, sources, text).supported


def test_a_true_sentence_whose_source_does_not_answer_the_question_is_set_apart(lammy):
    """Condition (b): a claim stands only on a source sentence the scorer rates as answering.
    Restating Lammy's old remark about the Uighurs is true to its source, not what he urged."""
    assistant, _ = lammy
    pool = assistant.sentences("What did Lammy urge Wang Yi to do?")
    aside = next(c for c in pool if "Uighur Muslims" in c.text)
    sources = generate.build_sources([pool[0], aside], 2)
    assert aside.score < assistant.judge.answering < pool[0].score
    rated = generate.ratings(pool)
    text = ("Lammy said last March that Labour would seek legal avenues to declare China's crackdown "
            "on Uighur Muslims as genocide.")
    checks, _ = generate.verify(text, sources, assistant.settings.support_threshold, assistant.judge,
                                assistant.embedder.embed)
    assert checks[0].supported  # the judge alone accepts it: every word is in the source
    checks, _ = generate.verify(text, sources, assistant.settings.support_threshold, assistant.judge,
                                assistant.embedder.embed, rated)
    assert not checks[0].supported and checks[0].problem == "its source does not answer the question"
    answer = "Lammy urged Wang Yi to stop Chinese companies from supplying the Russian military. [1]"
    checks, _ = generate.verify(answer, sources, assistant.settings.support_threshold, assistant.judge,
                                assistant.embedder.embed, rated)
    assert checks[0].supported
