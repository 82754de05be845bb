# The two commands a newcomer needs: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PIP     := $(BIN)/python -m pip
MYPY_TARGETS := -p interlock.risk -p interlock.nodes -p interlock.graphs -p interlock.runtime -p interlock.ui
export INTERLOCK_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: demo test bench torture console install install-demo install-postgres lint typecheck pytest postgres chromium clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=77" wheel

# Strict editable mode keeps mypy able to follow the package-dir mapping; it links each
# file, so re-run it whenever a module is added (every target below does). Setuptools
# announces that mode on every install; the filter keeps that notice (and only it) quiet.
EDITABLE := PYTHONWARNINGS="ignore:Editable installation" $(PIP) install -q \
	--config-settings editable_mode=strict -e

# Everything: the library with every extra, and the test, lint and notebook tools.
install: $(BIN)/python
	$(EDITABLE) ".[dev]"

# What the demo needs: the core (embedded SQLite) and the console it offers at the end.
install-demo: $(BIN)/python
	$(EDITABLE) ".[console]"

# The demo's install plus the Postgres driver and LangGraph's Postgres saver.
install-postgres: $(BIN)/python
	$(EDITABLE) ".[console,postgres]"

# Ends by offering the console; without a terminal (CI) it just says how to open it.
demo: install-demo
	$(BIN)/interlock demo
	@if [ -t 0 ] && [ -t 1 ]; then printf 'Open the reviewer console now? [y/N] '; read a; \
	  case "$$a" in [yY]*) $(BIN)/interlock console;; *) echo "Later: make console";; esac; \
	else echo "Review it in the browser: make console"; fi

postgres:
	@bash .ci/ensure-postgres

# The console's browser test and benchmark drive Debian's Chromium (never a Playwright download).
chromium:
	@bash .ci/ensure-chromium

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy $(MYPY_TARGETS)

pytest: install postgres chromium
	$(BIN)/pytest

test: install postgres chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(MYPY_TARGETS)
	$(BIN)/pytest

bench: install postgres chromium
	$(EDITABLE) ".[dev,bench]"
	$(BIN)/python -m bench

# The long crash-injection run: 500 SIGKILLs per backend, and the 8-process race.
torture: install postgres
	INTERLOCK_CRASH_RUNS=500 INTERLOCK_RACE_REVIEWS=50 $(BIN)/pytest -s \
	  tests/runtime/test_crash.py tests/runtime/test_decisions_race.py

console: install-demo
	$(BIN)/interlock console

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
