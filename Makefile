# campfire: the two commands a fresh clone needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR  ?= .demo/archive
DEMO_PORT ?= 8765
DEMO_DATA ?= .demo/data
DEMO_SCALE ?= small
DEMO_ENV  ?= .demo/env
PYTEST_ARGS ?=

.PHONY: install test lint lint-js demo serve-demo bench clean

# Debian packages the browser and JavaScript tests need (Chromium driven by Playwright, Node for
# the widgets' unit tests), and PostgreSQL, which the test session starts to run the server's
# contract suite on both catalog backends (#12). Installed only when missing and only where we
# may (root).
SYSTEM_STAMP := $(VENV)/.system-packages

$(SYSTEM_STAMP):
	@mkdir -p $(VENV)
	@need=""; command -v chromium >/dev/null || need="$$need chromium"; \
	command -v node >/dev/null || need="$$need nodejs"; \
	command -v npm >/dev/null || need="$$need npm"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need="$$need postgresql"; \
	if [ -z "$$need" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages:$$need"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	else echo "note:$$need missing and not root: browser and JS tests will skip"; fi
	touch $(SYSTEM_STAMP)

$(STAMP): pyproject.toml $(SYSTEM_STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# the JS linter (eslint, pinned in widgets/package.json + package-lock.json) over widgets/*.js
# and the standalone page's script (campfire/views/htmlpage/page.js, widgets/eslint.page.mjs)
JS_STAMP := widgets/node_modules/.installed
$(JS_STAMP): widgets/package.json widgets/package-lock.json $(SYSTEM_STAMP)
	npm ci --prefix widgets --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

lint-js: $(JS_STAMP)
	cd widgets && node_modules/.bin/eslint --max-warnings=0 *.js
	widgets/node_modules/.bin/eslint --max-warnings=0 --config widgets/eslint.page.mjs \
		campfire/views/htmlpage/page.js

lint: $(STAMP) lint-js
	$(BIN)/ruff check campfire tests benchmarks binder
	$(BIN)/mypy
	$(BIN)/ruff format --check campfire tests benchmarks binder

test: $(STAMP) lint-js
	$(BIN)/ruff check campfire tests benchmarks binder
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# build the demo archive (once: later runs reuse it), serve it, sync and download one observation
# into $(DEMO_DATA), write $(DEMO_ENV) for other shells (`source .demo/env`), then JupyterLab on
# the explorer notebook (binder/demo.py; Binder's start runs the same code)
demo: $(STAMP)
	$(BIN)/python binder/demo.py lab --archive $(DEMO_DIR) --data $(DEMO_DATA) \
	  --scale $(DEMO_SCALE) --port $(DEMO_PORT) --env-file $(DEMO_ENV)

# every benchmark in quick mode (a few minutes), one table of figures, targets and same-run
# baselines; BENCH_ARGS="--full" for the long runs, "--only sync", "--markdown", "-v"
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .demo .pytest_cache .ruff_cache .mypy_cache
