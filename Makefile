# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint typecheck unit bench bench-growth clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# The main job: one trade through the message standard (files in var/demo), then the platform itself —
# portal and API on http://127.0.0.1:8000 over var/cbec.db with a demo dataset; the first start prints the
# generated passwords once. Runs in the foreground until Ctrl+C.
run: $(STAMP)
	$(BIN)/cbec demo var/demo
	$(BIN)/cbec start --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check src tests tools bench
	$(BIN)/ruff format --check src tests tools bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck unit

# About 10 minutes on a quiet 2-core machine: the message standard, then end-to-end intake — one message a
# transaction (the earlier method, for comparison), in chunks of 200, with two PostgreSQL workers, over HTTP.
bench: $(STAMP)
	$(BIN)/python bench/run.py --write BENCHMARKS.md
	$(BIN)/cbec bench --db sqlite --lists 1000 --write BENCHMARKS.md
	$(BIN)/cbec bench --db postgresql --lists 1000 --write BENCHMARKS.md
	$(BIN)/cbec bench --db sqlite --lists 10000 --batch 200 --write BENCHMARKS.md
	$(BIN)/cbec bench --db postgresql --lists 10000 --batch 200 --write BENCHMARKS.md
	$(BIN)/cbec bench --db postgresql --lists 10000 --batch 200 --workers 2 --write BENCHMARKS.md
	$(BIN)/cbec bench --db postgresql --lists 3000 --http --workers 2 --write BENCHMARKS.md

# Growth: throughput and memory at 10 k and 100 k lists (about 20 minutes); 1 M lists by hand (17 GB of
# files, about half an hour to write, over an hour to ingest), sampled every minute:
#   cbec simulate --lists 1000000 --seed 7 --faults 0 --out /tmp/g1m
#   cbec bench --db postgresql --set /tmp/g1m --batch 200 --workers 2 --timeline t1m.jsonl --write BENCHMARKS.md
bench-growth: $(STAMP)
	$(BIN)/cbec bench --db postgresql --lists 10000 --batch 200 --workers 2 --write BENCHMARKS.md
	$(BIN)/cbec bench --db postgresql --lists 100000 --batch 200 --workers 2 --write BENCHMARKS.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var
