# progress-hub: `make run` serves the hub, `make test` runs every check. Both bootstrap .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DB ?= var/progress.db
HOST ?= 127.0.0.1
PORT ?= 8000
# The compiled domain, as a wheel installs it (setup.py), unpacked out of tree: the editable
# install stays pure Python, so no extension module can shadow an edited source file.
COMPILED := build/compiled
COMPILED_STAMP := $(COMPILED)/.stamp
WITH_COMPILED := PYTHONPATH=$(COMPILED):. PROGRESS_HUB_EXPECT_BUILD=compiled

.PHONY: run demo test test-compiled lint format bench clean

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
	@$(MAKE) --no-print-directory test-compiled

# Rebuilt whenever a domain source changes. PROGRESS_HUB_PURE=1, or no C compiler, gives a
# build without extension modules: the compiled pass is then skipped, loudly.
$(COMPILED_STAMP): $(STAMP) $(wildcard domain/*.py) setup.py pyproject.toml
	rm -rf $(COMPILED) build/wheel
	@# With a C compiler at hand, domain code mypyc cannot compile is an error, not a fallback.
	if [ "$$PROGRESS_HUB_PURE" != 1 ] && command -v "$${CC:-cc}" >/dev/null; then \
		export PROGRESS_HUB_STRICT_BUILD=1; fi; \
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir build/wheel .
	$(BIN)/python -c 'import sys, zipfile; wheel = zipfile.ZipFile(sys.argv[1]); \
		wheel.extractall(sys.argv[2], [name for name in wheel.namelist() \
		if name.startswith(("domain/", "progress_hub_domain__mypyc"))])' \
		build/wheel/progress_hub-*.whl $(COMPILED)
	@touch $@

# The whole suite again on the compiled domain; the plugin imports it before pytest puts the
# sources first on sys.path, and refuses a build made from other sources.
test-compiled: $(COMPILED_STAMP)
	@if [ "$$PROGRESS_HUB_PURE" != 1 ] && ls $(COMPILED)/domain/*.so >/dev/null 2>&1; then \
		echo "== the suite on the compiled domain ($(COMPILED))"; \
		$(WITH_COMPILED) $(BIN)/pytest -p tests.domain.build_plugin; \
	else \
		echo "== NO compiled domain (PROGRESS_HUB_PURE=1 or no C compiler): pure Python only"; \
	fi

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks measure the domain as installed from a wheel: compiled when it could be built.
bench: $(COMPILED_STAMP)
	@if [ "$$PROGRESS_HUB_PURE" != 1 ] && ls $(COMPILED)/domain/*.so >/dev/null 2>&1; then export $(WITH_COMPILED); fi; \
	for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
