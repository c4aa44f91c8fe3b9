"""Generated mode's first token, with the prompt it waited on (issue 17).

    python evals/first_token.py [evals/lee_dev.jsonl] [--n 40]

Asks the first ``--n`` answered questions of a (training or dev) dataset through the real local
model (``--llm local``, the default Qwen), warm: the server is started and one question asked
before timing. Prints, as JSON, the first token's p50/p95 (``Answer.timings["first_token_ms"]``,
from the question to the model's first token) beside the prompt's size in the model's own tokens
(through the server's tokenizer): the system prompt, which the server keeps cached from one
question to the next, and the per-question part (the excerpts and the question), which it must
read every time. The machine's load average is printed too: on 2 shared cores it moves the times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import generate, llm  # noqa: E402
from assistant.chat import Turn  # noqa: E402
from assistant.evaluation import load_dataset, open_corpus  # noqa: E402
from assistant.settings import Settings  # noqa: E402

CACHE = ROOT / "evals" / ".cache"


def tokens(base_url: str, text: str) -> int:
    """``text``'s length in the served model's tokens (llama.cpp's /extras/tokenize)."""
    request = urllib.request.Request(base_url.removesuffix("/v1") + "/extras/tokenize",
                                     data=json.dumps({"input": text}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return len(json.load(response)["tokens"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=ROOT / "evals" / "lee_dev.jsonl")
    parser.add_argument("--n", type=int, default=40, help="answered questions to time")
    parser.add_argument("--follow-ups", action="store_true",
                        help="time the follow-ups (questions with a history) instead, as in a chat: "
                             "the previous question is asked first, then the follow-up, whose LLM "
                             "rewrite (condense) counts toward its first token")
    args = parser.parse_args()
    items = load_dataset(args.dataset)
    if args.follow_ups:
        items = [item for item in items if item.history]
    assistant = open_corpus(items[0].corpus, Settings(llm="local"), CACHE).assistant
    seen: list[list[dict]] = []
    build = generate.prompt

    def recorded(*a, **k):  # observe the messages the answer stage sends; change nothing
        seen.append(build(*a, **k))
        return seen[-1]

    generate.prompt = recorded
    first, system, asked = [], [], []
    for item in items:
        if len(first) == args.n + 1:
            break
        history = [Turn(t.question, t.answer) for t in item.history] if args.follow_ups else []
        if history:  # the chat's previous turn, answered by the model: what the server holds
            assistant.ask(history[-1].question)
        seen.clear()
        answer = assistant.ask(item.question, history=history)
        if not seen or "first_token_ms" not in answer.timings:
            continue  # refused before the model, or the model failed
        first.append(answer.timings["first_token_ms"] / 1000)
        base = next(s.base_url for s in llm._servers.values() if s.running())
        system.append(tokens(base, seen[0][0]["content"]))
        asked.append(tokens(base, seen[0][1]["content"]))
    first, asked = first[1:], asked[1:]  # the first question also read the system prompt
    print(json.dumps({
        "dataset": args.dataset.name, "follow_ups": args.follow_ups, "questions": len(first),
        "model": assistant.settings.llm_model,
        "first_token_s": {"p50": round(statistics.median(first), 2),
                          "p95": round(statistics.quantiles(first, n=20)[18], 2)},
        "prompt_tokens": {"system_cached": system[0],
                          "per_question": {"mean": round(statistics.mean(asked), 1),
                                           "p50": statistics.median(asked), "max": max(asked)}},
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }, indent=1))


if __name__ == "__main__":
    main()
