# Every target creates the virtual environment it needs. Only Python 3.11+ and make are required.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -n 2 --dist loadgroup

.PHONY: demo test ci lint fmt types imports test-sqlite test-postgres bench db-upgrade venv clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/transit demo --serve

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

types: $(STAMP)
	$(BIN)/mypy transit api

imports: $(STAMP)
	$(BIN)/lint-imports

test-sqlite: $(STAMP)
	TRANSIT_TEST_DATABASE=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	TRANSIT_TEST_DATABASE=postgresql $(BIN)/pytest $(PYTEST_ARGS)

ci: lint types imports test-sqlite test-postgres

bench: $(STAMP)
	$(BIN)/python bench/bench_dayplan.py
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python -m bench.bench_accuracy --seeds 10
	$(BIN)/python -m bench.bench_capmetro
	$(BIN)/python -m bench.bench_detect --routes 300 --vehicles 1000 --interval 6 --runs 3
	$(BIN)/python -m bench.bench_ledger --events 100000 --runs 3
	$(BIN)/python -m bench.bench_routes_evaluate --runs 5
	$(BIN)/python -m bench.bench_routes_overlap --runs 3
	$(BIN)/python -m bench.bench_api --reuse --workers 1 2 --clients 50 --duration 15 --runs 3
	$(BIN)/python -m bench.bench_open311 --workers 1 2 --clients 50 --requests 20000 --runs 3

db-upgrade: $(STAMP)
	$(BIN)/transit db upgrade

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache
