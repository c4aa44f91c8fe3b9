"""How fast the installed llama.cpp build reads a prompt (issue 17: the first token waits on it).

    python evals/prefill.py [--tokens 140] [--runs 12]

Loads the default model (the bundled Qwen GGUF) in-process with the server's thread settings and
times ``eval`` of ``--tokens``-token prompts of plain English (from the README, each run a
different slice, the cache reset between runs), the first two runs discarded as warm-up. Prints
the median seconds and tokens/s, with the build's CPU features and the load average: on 2 shared
cores the load moves the figures, so compare builds back to back.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import llama_cpp  # noqa: E402

from assistant.models import model_path  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=140, help="prompt length (per-question p50: ~140)")
    parser.add_argument("--runs", type=int, default=12)
    args = parser.parse_args()
    model = llama_cpp.Llama(str(model_path(Settings().llm_model)), n_ctx=2048, n_threads=2,
                            n_threads_batch=2, verbose=False)
    words = (ROOT / "README.md").read_text(encoding="utf-8").split()
    seconds = []
    for i in range(args.runs):
        tokens = model.tokenize(" ".join(words[i * args.tokens:(i + 2) * args.tokens]).encode())
        model.reset()
        started = time.perf_counter()
        model.eval(tokens[:args.tokens])
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds[2:])
    features = [f.split(" = ")[0].strip() for f in llama_cpp.llama_print_system_info().decode().split("|")
                if f.strip().endswith("= 1")]
    print(f"{args.tokens}-token prompt: median {median:.3f} s, {args.tokens / median:.1f} tokens/s "
          f"(build: {' '.join(features)}; load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
