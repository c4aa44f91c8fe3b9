"""How fast is an answer through `assistant serve` next to the Python API, and does the server
hold up under concurrent clients?

    python evals/bench_api.py [--index DIR] [--clients 20] [--seconds 60] [--chroma-url URL]

1./2. The Python API (``Assistant.ask(q, use_llm=False)``, in-process) and one HTTP client
   (``POST /v1/ask`` to an `assistant serve` subprocess on loopback), interleaved question by
   question over the seed questions, so both see the same load on a shared machine.
3. ``--clients`` threads for a bounded ``--seconds``: each asks random seed questions and checks
   that the reply is the answer to *its* question (no answer returned to the wrong client).

Extractive answers (no LLM). Prints a table; writes evals/runs/bench_api.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant, Settings  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, latencies: list[float], **extra) -> dict:
    return {"name": name, "requests": len(latencies),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1), **extra}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=ROOT / "evals" / ".cache" / "bench-api-index")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3, help="Passes over the questions, 1 and 2.")
    parser.add_argument("--chroma-url", default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "runs" / "bench_api.json")
    args = parser.parse_args()

    env = {**os.environ, "ASSISTANT_LLM": "none", "GRADIO_ANALYTICS_ENABLED": "False",
           "ANONYMIZED_TELEMETRY": "False", "NO_PROXY": "127.0.0.1,localhost"}
    if args.chroma_url:
        env["ASSISTANT_CHROMA_URL"] = args.chroma_url
    settings = Settings(index_dir=args.index, llm="none", chroma_url=args.chroma_url)
    assistant = Assistant(settings)
    if not assistant.has_index():
        print(assistant.ingest([ROOT / "articles"]).summary())
    questions = [json.loads(line)["question"]
                 for line in (ROOT / "evals" / "seed_articles.jsonl").read_text().splitlines() if line]
    expected = {q: assistant.ask(q, use_llm=False).answer for q in questions}  # also warms up

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--no-ui", "--index",
                               str(args.index), "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=120) as client:
            for q in questions:  # warm the server up
                client.post("/v1/ask", json={"question": q, "use_llm": False}).raise_for_status()
            # Interleaved, question by question: on a shared machine both see the same load.
            python_api, one_client = [], []
            for _ in range(args.rounds):
                for q in questions:
                    started = time.perf_counter()
                    assistant.ask(q, use_llm=False)
                    python_api.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    client.post("/v1/ask", json={"question": q, "use_llm": False}).raise_for_status()
                    one_client.append(time.perf_counter() - started)

        latencies: list[float] = []
        errors: list[str] = []
        wrong: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds

        def client_loop(n: int) -> None:
            rng = random.Random(n)
            with httpx.Client(base_url=url, timeout=300) as client:
                while time.monotonic() < stop_at:
                    q = rng.choice(questions)
                    started = time.perf_counter()
                    try:
                        reply = client.post("/v1/ask", json={"question": q, "use_llm": False})
                        took = time.perf_counter() - started
                        data = reply.json()
                    except (httpx.HTTPError, ValueError) as exc:
                        with lock:
                            errors.append(repr(exc))
                        continue
                    with lock:
                        if reply.status_code != 200:
                            errors.append(f"{reply.status_code}: {reply.text[:200]}")
                        elif data["question"] != q or data["answer"] != expected[q]:
                            wrong.append(q)
                        else:
                            latencies.append(took)

        began = time.monotonic()
        threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - began
    finally:
        server.terminate()
        server.wait(30)

    rows = [summary("Python API (in-process)", python_api),
            summary("HTTP /v1/ask, 1 client", one_client),
            summary(f"HTTP /v1/ask, {args.clients} clients, {args.seconds:.0f} s", latencies,
                    errors=len(errors), wrong_answers=len(wrong),
                    per_second=round(len(latencies) / wall, 2))]
    ratio = rows[1]["p95_ms"] / rows[0]["p95_ms"]
    print(f"\n{'':44} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for row in rows:
        print(f"{row['name']:44} {row['requests']:>5} {row['p50_ms']:>8} {row['p95_ms']:>8} "
              f"{row['max_ms']:>8}")
    print(f"HTTP p95 / Python p95: {ratio:.2f}x; concurrent: {len(errors)} errors, "
          f"{len(wrong)} wrong answers, {rows[2]['per_second']} answers/s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, "http_over_python_p95": round(ratio, 3),
                                    "store": args.chroma_url or "embedded",
                                    "load_average": os.getloadavg(),
                                    "errors": errors[:20], "cpus": os.cpu_count()}, indent=1))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
