# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run console test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/congdoan run

console: $(STAMP)
	$(BIN)/congdoan console

# ruff, mypy, the suite on SQLite, then the suite on PostgreSQL: on $CONGDOAN_TEST_POSTGRES_URL,
# else on a throwaway server started from this machine's PostgreSQL, else "PostgreSQL pass
# SKIPPED".
# The tests run in one process per core (pytest-xdist), a test file per process at a time.
PYTEST_PARALLEL := -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	@$(BIN)/python -c "from tests.browser import missing_reason as m; print(m() or 'Browser tests: Chromium found')"
	@echo "SQLite pass"
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL)
	$(BIN)/python tests/pgserver.py pass -q $(PYTEST_PARALLEL)

# While working: ruff, mypy and the tests that need no fake server, browser or subprocess (the e2e
# marker, tests/conftest.py), on SQLite. `make test` runs everything.
test-fast: lint
	$(BIN)/python -m pytest -q -m "not e2e" $(PYTEST_PARALLEL)

bench: $(STAMP)
	$(BIN)/python -m bench.broadcast
	$(BIN)/python -m bench.reminders

clean:
	rm -rf $(VENV) data/*.db*
