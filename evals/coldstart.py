"""Cold start of `assistant ask --llm none` against what no implementation can avoid, same run.

Each round starts two new processes, alternately (so machine load hits both alike):
  floor: import numpy, onnxruntime, tokenizers and chromadb, and open the index's collection;
  ask:   `python -m assistant ask QUESTION --llm none --json` on the same index.
It prints the median and the best of each and their ratio (issue 19's target: ask <= 1.6x floor).

    python evals/coldstart.py --index index/ [--runs 5] [--no-bytecode]

``--no-bytecode`` hides every compiled .pyc (an empty PYTHONPYCACHEPREFIX with
PYTHONDONTWRITEBYTECODE=1): what a venv installed without compiled bytecode pays on every start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = """
import sys, numpy, onnxruntime, tokenizers, chromadb
from chromadb.config import Settings
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
client.get_collection("passages").count()
"""


def timed(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--question", default="What did Campbell warn?")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-bytecode", action="store_true",
                        help="Hide compiled bytecode, as in a venv installed without it.")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "ANONYMIZED_TELEMETRY": "False",
           "HF_HUB_OFFLINE": "1", "ASSISTANT_INDEX_DIR": str(args.index)}
    with tempfile.TemporaryDirectory() as empty:
        if args.no_bytecode:
            env["PYTHONPYCACHEPREFIX"] = empty
        floor_cmd = [sys.executable, "-c", FLOOR, str(args.index / "chroma")]
        ask_cmd = [sys.executable, "-m", "assistant", "ask", args.question, "--llm", "none", "--json"]
        timed(ask_cmd, env)  # warm the page cache, not Python's
        floor, ask = [], []
        for _ in range(args.runs):
            floor.append(timed(floor_cmd, env))
            ask.append(timed(ask_cmd, env))
    result = {"runs": args.runs, "bytecode": not args.no_bytecode,
              "floor_median_s": round(statistics.median(floor), 2), "floor_min_s": round(min(floor), 2),
              "ask_median_s": round(statistics.median(ask), 2), "ask_min_s": round(min(ask), 2),
              "ratio_median": round(statistics.median(ask) / statistics.median(floor), 2),
              "load_average": round(os.getloadavg()[0], 2)}
    print(f"floor (numpy, onnxruntime, tokenizers, chromadb, open index): median "
          f"{result['floor_median_s']} s, best {result['floor_min_s']} s")
    print(f"assistant ask --llm none: median {result['ask_median_s']} s, best {result['ask_min_s']} s "
          f"-> {result['ratio_median']}x the floor (bytecode {'on' if result['bytecode'] else 'off'}, "
          f"load average {result['load_average']})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
