# progress-hub: `make run` serves the hub, `make test` runs every check. Both bootstrap .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DB ?= var/progress.db
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench clean

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

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
