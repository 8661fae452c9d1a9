# The two commands of the README's quick start: `make serve` and `make test`.
# Both create .venv and install the project (pinned by constraints.txt) when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint types check bench-auth bench-instructions bench-graph bench-loop bench-feed clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/loopctl serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

types: $(STAMP)
	$(BIN)/mypy

# The suite, then every in-process test again with FastAPI serving every route
# (LOOPCTL_DIRECT_ROUTES=false): the fast path (kit/direct.py) must give the same answers.
test: lint types
	$(BIN)/pytest -n 2 --dist loadgroup
	LOOPCTL_DIRECT_ROUTES=false $(BIN)/pytest -n 2 --dist loadgroup -q -m "not slow" \
		--ignore=tests/test_migrations.py

bench-auth: $(STAMP)
	$(BIN)/python benchmarks/auth_read.py

bench-instructions: $(STAMP)
	$(BIN)/python benchmarks/auth_instructions.py

bench-graph: $(STAMP)
	$(BIN)/python benchmarks/graph.py

bench-loop: $(STAMP)
	$(BIN)/python benchmarks/loop.py

bench-feed: $(STAMP)
	$(BIN)/python benchmarks/feed.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .import_linter_cache
