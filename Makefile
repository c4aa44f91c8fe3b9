# Two commands do everything on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export UV_LINK_MODE := copy
# llama.cpp built for this machine's CPU (-march=native: AVX-512 where there is one): prompt
# reading 94 tokens/s against 73 for the portable AVX2 build (evals/prefill.py). The wheel is
# cached per CPU (scripts/llama-wheel.sh), so another machine builds its own. Without AMX: on a
# machine whose CPU lists AMX but whose hypervisor does not enable it, -march=native built code
# that died on its first tile instruction ("trap invalid opcode" in libggml-cpu, 2026-12-06).
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=ON -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'
# The version pinned in pyproject.toml (one place to change it).
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python\[server\]==\([0-9.]*\)".*/\1/p' pyproject.toml)
# Offline switches: nothing may phone home or download at run time.
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export ANONYMIZED_TELEMETRY := False
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost

# Debian's chromium for the browser tests (Playwright's own browser download is not possible here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: setup browser run serve ingest test lint fit stress bench clean

setup: $(VENV)/.installed

# Each step prints what it does and how long it took. llama-cpp-python is compiled once per machine
# into a wheelhouse outside the venv (~/.cache/assistant-wheels, or $ASSISTANT_WHEELHOUSE; keyed by
# its version and the CMake flags) and installed from there: a new venv takes seconds, not minutes.
# setup.sh touches the stamp when all is in: `make run` on a machine without that wheel builds it in
# the background (scripts/llama-background.sh) and the stamp waits for it.
$(VENV)/.installed: Makefile pyproject.toml requirements/language-model.txt scripts/setup.sh scripts/llama-wheel.sh \
		scripts/llama-background.sh
	scripts/setup.sh $(VENV) $(PY) $(LLAMA_VERSION) "$(LLAMA_CMAKE_ARGS)"

ingest: setup
	$(BIN)/assistant ingest articles/

# A first start does not wait for llama.cpp's compile: the UI answers from quotes meanwhile.
run: export ASSISTANT_LLAMA_BUILD := background
run: ingest
	$(BIN)/assistant ui

# The HTTP API (OpenAI-compatible) and the chat page from one process, on http://127.0.0.1:8000
serve: export ASSISTANT_LLAMA_BUILD := background
serve: ingest
	$(BIN)/assistant serve

browser:
	test -x $(CHROMIUM) || $(SUDO) apt-get install -y -qq chromium \
		|| { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

test: setup browser
	$(BIN)/ruff check assistant tests evals
	$(BIN)/python -m pytest

# Refit the answer stage's weights on the training questions (evals/fit.py); prints the
# weights and the cross-validated and dev figures, writes assistant/data/{ranker,scorer}.json.
fit: setup
	$(BIN)/python evals/fit.py

# The reliability figures: hostile files, kill -9 mid-ingest, broken LLM endpoints, 20 clients
# for a minute with the LLM hanging (evals/stress.py; writes evals/runs/stress.json; ~5 min).
stress: setup
	$(BIN)/python evals/stress.py

# Cost against collection size: 1x, 4x, 16x, 64x the Lee corpus (64x: ~19,000 articles, hours on
# 2 cores). Prints a table; writes evals/bench/bench.json and bench.png. `make bench SIZES=1,4`.
SIZES ?= 1,4,16,64
bench: setup
	$(BIN)/python evals/bench.py --sizes $(SIZES)

lint: setup
	$(BIN)/ruff check assistant tests evals

clean:
	rm -rf $(VENV) index/chroma index/lexical index/*.json index/*.log
