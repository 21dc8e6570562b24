# progress-hub: `make run` serves the hub, `make test` runs every check. Both bootstrap .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DB ?= var/progress.db
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run demo test lint format bench bench-quick clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("progress-hub needs Python 3.11+") if sys.version_info < (3, 11) else None'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@TOKEN=$$($(BIN)/progress-hub token --role admin --sub dev --ttl 86400 --db $(DB)) && \
	echo "" && \
	echo "  progress-hub on http://$(HOST):$(PORT)" && \
	echo "  Dashboard (admin token, valid 24 h):" && \
	echo "    http://$(HOST):$(PORT)/dashboard#token=$$TOKEN" && \
	echo "" && \
	exec $(BIN)/progress-hub serve --host $(HOST) --port $(PORT) --db $(DB)

# A hub on a throwaway database and a simulated practice of therapist t1 streaming into it
# (docs/clients.md). Ctrl-C stops both and deletes the database.
DEMO_PATIENTS ?= 12
DEMO_RATE ?= 8
demo: $(STAMP)
	@dir=$$(mktemp -d -t progress-hub-demo.XXXXXX); db=$$dir/demo.db; \
	$(BIN)/progress-hub serve --host $(HOST) --port $(PORT) --db $$db --log-level warning & \
	hub=$$!; \
	trap 'kill $$hub 2>/dev/null; wait $$hub 2>/dev/null; rm -rf "$$dir"' EXIT; \
	trap 'exit 0' INT TERM; \
	until $(BIN)/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
		http://$(HOST):$(PORT)/healthz 2>/dev/null; do kill -0 $$hub 2>/dev/null || exit 1; sleep 0.2; done; \
	token=$$($(BIN)/progress-hub token --role therapist --sub t1 --ttl 86400 --db $$db); \
	echo ""; \
	echo "  progress-hub demo on http://$(HOST):$(PORT) (database $$db, deleted on Ctrl-C)"; \
	echo "  Dashboard of therapist t1 (token valid 24 h):"; \
	echo "    http://$(HOST):$(PORT)/dashboard#token=$$token"; \
	echo ""; \
	$(BIN)/progress-hub simulate --url ws://$(HOST):$(PORT)/ws --therapist t1 \
		--patients $(DEMO_PATIENTS) --rate $(DEMO_RATE) --db $$db $(if $(DEMO_SECONDS),--seconds $(DEMO_SECONDS))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The hub's suite (bench/suite.py, docs/benchmarks.md) writes bench/results.json and prints one
# table. `bench` measures the hub from a production install (a venv with a non-editable
# `pip install .`, rebuilt each run) beside the editable one and the peers; `bench-quick` runs
# the repo's code, under a minute. The component benches run alone: python bench/bench_domain.py.
BENCH_STAMP := $(VENV)/.bench-stamp
BENCH_VENV ?= var/bench-venv

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PYTHON) -m venv --clear $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet .
	$(BIN)/python bench/suite.py --hub-python $(BENCH_VENV)/bin/python

bench-quick: $(BENCH_STAMP)
	$(BIN)/python bench/suite.py --quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
