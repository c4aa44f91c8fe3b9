"""The reliability figures (`make stress`): hostile files, kills mid-ingest, broken LLM endpoints,
many users at once, planted instructions. Writes evals/runs/stress.json and prints a summary.

    python evals/stress.py [--seconds 60] [--clients 20]

Each part is a real run: the CLI ingests the generated hostile corpus (evals/hostile_corpus.py),
an ingest of 60 Lee stories is killed with SIGKILL at three seeded moments and run again, the
fake endpoints of tests/fake_llm.py stand for a broken LLM, and client threads ask through one
Assistant while LLM questions hang on an endpoint that never answers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "evals"), str(ROOT / "tests")]

from fake_llm import FaultServer  # noqa: E402
from hostile_corpus import GOOD_QUESTIONS, write  # noqa: E402

from assistant import Assistant, Settings  # noqa: E402
from assistant.evaluation import corpus_files  # noqa: E402

CLI = [sys.executable, "-m", "assistant"]


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else (values or [0.0])[0]


def hostile(work: Path) -> dict:
    kinds = write(work / "hostile")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    run = subprocess.run([*CLI, "ingest", str(work / "hostile"), "--index", str(work / "h-index")],
                         capture_output=True, text=True)
    rss = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    assistant = Assistant(Settings(index_dir=work / "h-index", llm="none"))
    answers = [(name, expected, assistant.ask(q)) for name, q, expected in GOOD_QUESTIONS]
    found = sum(a.passages and a.passages[0].path.endswith(name.split("/")[-1])
                for name, _, a in answers)
    answered = sum(expected in a.answer for _, expected, a in answers)
    return {"entries": len(kinds), "bad": sum(k.startswith("bad") for k in kinds.values()),
            "exit_code": run.returncode, "seconds": round(time.perf_counter() - started, 1),
            "error_lines": sum(line.startswith("error:") for line in run.stderr.splitlines()),
            "good_found_first": f"{found}/{len(GOOD_QUESTIONS)}",
            "good_answered": f"{answered}/{len(GOOD_QUESTIONS)}", "peak_rss_mb": round(rss)}


def kills(work: Path, stories: int = 60) -> dict:
    folder = work / "lee60"
    folder.mkdir()
    for path in sorted(corpus_files("lee", ROOT / "evals" / ".cache").glob("lee_bg_*.txt"))[:stories]:
        shutil.copy(path, folder)
    clean = work / "clean-index"
    subprocess.run([*CLI, "ingest", str(folder), "--index", str(clean)], capture_output=True, check=True)
    want = Assistant(Settings(index_dir=clean)).store.count_passages()
    rng, results = random.Random(20261204), []
    for n in range(3):
        index = work / f"killed-{n}"
        proc = subprocess.Popen([*CLI, "ingest", str(folder), "--index", str(index)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(4.0, 20.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        again = subprocess.run([*CLI, "ingest", str(folder), "--index", str(index)], capture_output=True)
        got = Assistant(Settings(index_dir=index)).store.count_passages()
        results.append({"exit_code": again.returncode, "passages": got, "clean": want})
    return {"runs": results, "converged": all(r["passages"] == r["clean"] and r["exit_code"] == 0
                                              for r in results)}


def endpoints(index: Path) -> dict:
    out = {}
    for mode in ("garbage", "endless", "hang"):
        with FaultServer(mode) as server:
            assistant = Assistant(Settings(index_dir=index, llm="openai", llm_api_key="x",
                                           llm_base_url=server.base_url))
            started = time.perf_counter()
            answer = assistant.ask("What did Lammy urge Wang Yi to do?")
            out[mode] = {"seconds": round(time.perf_counter() - started, 1), "mode": answer.mode,
                         "cited": bool(answer.citations), "note": answer.notice}
    return out


def clients(index: Path, seconds: float, count: int) -> dict:
    """``count`` sessions on one Assistant for ``seconds``, a quarter of them asking with the LLM
    on an endpoint that never answers. Twice: as readers (each reads its answer for 2-6 s before
    the next question, seeded) -- the figure the target is about -- and flat out (no pause
    between questions: the cores' throughput, where every answer waits on CPU, not on the LLM)."""
    questions = ["What did Lammy urge Wang Yi to do?", "What did Campbell warn?",
                 "Who was Campbell speaking with?", "Which Chinese firms were sanctioned?"]
    alone = Assistant(Settings(index_dir=index, llm="none"))
    alone.warm()
    for q in questions:  # first runs fill caches a session would have filled too
        alone.ask(q)
    single = []
    for q in questions * 5:
        started = time.perf_counter()
        alone.ask(q)
        single.append(time.perf_counter() - started)
    out = {"clients": count, "seconds": seconds,
           "single_p50_ms": round(statistics.median(single) * 1000),
           "single_p95_ms": round(_p95(single) * 1000)}
    with FaultServer("hang") as hanging:
        shared = Assistant(Settings(index_dir=index, llm="openai", llm_api_key="x",
                                    llm_base_url=hanging.base_url))
        shared.warm()
        for name, pause in (("readers", (2.0, 6.0)), ("flat_out", None)):
            out[name] = _sessions(shared, questions, seconds, count, pause)
    return out


def _sessions(shared: Assistant, questions: list[str], seconds: float, count: int,
              pause: tuple[float, float] | None) -> dict:
    times, fallbacks, wrong, lock = [], [], [], threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        rng = random.Random(k)
        if pause:  # readers arrive one by one, not all in the same instant
            time.sleep(rng.uniform(*pause))
        n = 0
        while time.monotonic() < stop:
            q = questions[(k + n) % len(questions)]
            with_llm = k % 4 == 0  # a quarter of the clients want the (hanging) LLM
            started = time.perf_counter()
            answer = shared.ask(q, use_llm=with_llm)
            took = time.perf_counter() - started
            with lock:
                (fallbacks if with_llm else times).append(took)
                if answer.question != q:
                    wrong.append(q)
            n += 1
            if pause:
                time.sleep(rng.uniform(*pause))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"extractive_answers": len(times),
            "p50_ms": round(statistics.median(times) * 1000) if times else None,
            "p95_ms": round(_p95(times) * 1000) if times else None,
            "llm_questions": len(fallbacks),
            "llm_max_s": round(max(fallbacks), 1) if fallbacks else None,
            "cross_talk": len(wrong)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stress-"))
    try:
        seed_index = work / "seed-index"
        Assistant(Settings(index_dir=seed_index)).ingest([ROOT / "articles"])
        figures = {}
        for name, run in (("hostile_files", lambda: hostile(work)),
                          ("kill_mid_ingest", lambda: kills(work)),
                          ("fault_endpoints", lambda: endpoints(seed_index)),
                          ("concurrent_clients", lambda: clients(seed_index, args.seconds, args.clients))):
            started = time.perf_counter()
            figures[name] = run()
            print(f"{name} ({time.perf_counter() - started:.0f} s): {json.dumps(figures[name])}", flush=True)
        out = ROOT / "evals" / "runs" / "stress.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "cores": os.cpu_count(),
                                   **figures}, indent=1) + "\n", encoding="utf-8")
        print(f"Wrote {out.relative_to(ROOT)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
