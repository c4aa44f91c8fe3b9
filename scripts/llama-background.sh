#!/usr/bin/env bash
# `make run`'s first start on a machine without the llama-cpp-python wheel: build it and install it
# into the venv in the background, so the UI opens (answering from quotes) instead of waiting for
# the compile. While it runs, VENV/llama-build.pending holds its pid (assistant/llm.py reads it and
# tells the reader); the log is VENV/llama-build.log. When it ends the marker goes: on success the
# venv is complete (VENV/.installed), on failure it becomes VENV/llama-build.failed and the terminal
# says so. Usage: scripts/llama-background.sh VENV LLAMA_VERSION "LLAMA_CMAKE_ARGS"
set -euo pipefail
venv=$1 version=$2 cmake_args=$3
bin=$venv/bin
pending=$venv/llama-build.pending log=$venv/llama-build.log
if [ -s "$pending" ] && kill -0 "$(cat "$pending")" 2>/dev/null; then
    echo "    already under way (pid $(cat "$pending")); log: $log"
    exit 0
fi
rm -f "$venv/llama-build.failed"
: >"$pending"
(
    echo "$BASHPID" >"$pending"
    started=$SECONDS
    # niced: the ingest and the first questions come first
    if wheels=$(nice -n 10 scripts/llama-wheel.sh "$bin/python" "$version" "$cmake_args") &&
        "$bin/uv" pip install --python "$bin/python" --compile-bytecode --find-links "$wheels" \
            "llama-cpp-python[server]==$version"; then
        touch "$venv/.installed"
        rm -f "$pending"
        printf '\n==> llama-cpp-python is built and installed (%d s): the next question uses the local model\n' \
            $((SECONDS - started)) >&3
    else
        mv "$pending" "$venv/llama-build.failed"
        printf '\n==> the llama-cpp-python build FAILED (log: %s); answers stay extractive.\n    `make setup` retries it in the foreground.\n' \
            "$log" >&3
        exit 1
    fi
) 3>&2 >"$log" 2>&1 </dev/null &
echo "    building in the background (pid $!, niced); log: $log"
