# campfire: the two commands a fresh clone needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR  ?= .demo/archive
DEMO_PORT ?= 8765
PYTEST_ARGS ?=

.PHONY: install test lint demo serve-demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check campfire tests benchmarks
	$(BIN)/ruff format --check campfire tests benchmarks

test: $(STAMP)
	$(BIN)/ruff check campfire tests benchmarks
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/campfire serve --demo --scale small --archive $(DEMO_DIR) --port $(DEMO_PORT)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .ruff_cache
