"""Passages: whole sentences, paragraph-aware, sized for the embedding model, exact offsets."""

from conftest import SEED_DIR

from assistant.articles import load_file
from assistant.chunking import sentence_spans, split_passages
from assistant.embedding import MAX_WORD_PIECES, MiniLM

MODEL = MiniLM()


def _seed_articles():
    return [load_file(p)[0][0] for p in sorted(SEED_DIR.glob("*.txt"))]


def test_passage_offsets_point_into_the_article_text():
    for article in _seed_articles():
        passages = split_passages(article, MODEL.count_tokens, 160)
        assert passages
        for passage in passages:
            assert article.text[passage.start:passage.end] == passage.text
        covered = "".join(p.text for p in passages).replace("\n", "").replace(" ", "")
        assert covered == article.text.replace("\n", "").replace(" ", "")


def test_passages_fit_the_embedding_model_with_the_title():
    for article in _seed_articles():
        for passage in split_passages(article, MODEL.count_tokens, 160):
            assert MODEL.count_tokens(f"{article.title}\n{passage.text}") + 2 <= MAX_WORD_PIECES


def test_heading_stays_with_the_paragraph_after_it():
    bgnes = _seed_articles()[0]
    passages = split_passages(bgnes, MODEL.count_tokens, 160)
    heading = [p for p in passages if "Diplomatic mission" in p.text]
    assert len(heading) == 1 and heading[0].text.startswith("Diplomatic mission\n\nLammy's visit")


def test_long_paragraph_is_split_at_sentence_ends():
    article = _seed_articles()[1]
    passages = split_passages(article, MODEL.count_tokens, 40)
    for passage in passages:
        assert passage.text.rstrip().endswith((".", "”", "\"", "’", ":"))


def test_sentences_respect_abbreviations_and_quotes():
    text = "The U.S. envoy met Mr. Wang on Tuesday. “It went well,” he said. Talks resume soon."
    sentences = [text[s.start:s.end] for s in sentence_spans(text)]
    assert sentences == ["The U.S. envoy met Mr. Wang on Tuesday.", "“It went well,” he said.",
                         "Talks resume soon."]


def test_embedding_ranks_a_paraphrase_above_an_unrelated_sentence():
    q, near, far = MODEL.embed(["What did Campbell warn China about?",
                                "Campbell warned Beijing of consequences.",
                                "The recipe needs two eggs and flour."])
    assert q @ near > q @ far + 0.3


def test_sentence_vectors_come_from_the_passage_run_and_know_their_context():
    text = ("Kurt Campbell met Wang Yi in Beijing. He warned that the ties would suffer. "
            "The talks lasted two hours.")
    spans = [(s.start, s.end) for s in sentence_spans(text)]
    whole, (pooled,) = MODEL.embed_spans([text], [spans])
    assert pooled.shape == (3, 384)
    assert abs(float(pooled[1] @ pooled[1]) - 1) < 1e-5
    alone = MODEL.embed([text[spans[1][0]:spans[1][1]]])[0]
    # the same sentence, but read in its passage: closer to the person "he" is
    campbell = MODEL.embed(["Kurt Campbell warned"])[0]
    assert pooled[1] @ campbell > alone @ campbell
    # a span the model never saw (past its word-piece limit) is left for the caller
    long_text = "word " * 400 + "The end came."
    _, (cut,) = MODEL.embed_spans([long_text], [[(0, 4), (len(long_text) - 13, len(long_text))]])
    assert cut[0].any() and not cut[1].any()
