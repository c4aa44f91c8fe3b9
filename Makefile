# Two commands do everything on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export UV_LINK_MODE := copy
# Offline switches: nothing may phone home or download at run time.
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export ANONYMIZED_TELEMETRY := False
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost

.PHONY: setup run ingest test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/pip install -q uv
	$(BIN)/uv pip install --python $(BIN)/python -e '.[test,eval]'
	touch $@

ingest: setup
	$(BIN)/assistant ingest articles/

run: ingest
	$(BIN)/assistant ui

test: setup
	$(BIN)/ruff check assistant tests
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check assistant tests

clean:
	rm -rf $(VENV) index/chroma index/*.json
