# The one source of commands for the README, CI and people.
# `make test` and `make demo` do all their own set-up on a fresh machine.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.installed
# Arize Phoenix lives in its own virtual environment so that its many dependencies never mix
# with ours; the integration tests start it from there.
PHOENIX_VENV ?= .venv-phoenix
PHOENIX_VERSION ?= 20.26.1


.PHONY: help install test node-deps test-unit test-integration lint format typecheck demo bench bench-quick integration-deps browser-deps docs docs-serve docs-images docs-phoenix-image docs-sdk-table clean

help:
	@echo "make demo         a real-SDK agent against a misbehaving model server: robust vs fragile (offline)"
	@echo "make test         set up everything and run the whole test suite (unit + integration)"
	@echo "make test-unit    the fast suite only"
	@echo "make lint         ruff check, ruff format --check, mypy --strict on src"
	@echo "make bench        the overhead benchmarks (writes benchmarks/results/latest.md)"
	@echo "make docs         build the documentation site into site/ (--strict: a warning fails)"
	@echo "make docs-serve   serve the documentation site on http://127.0.0.1:8000"
	@echo "make docs-images  regenerate the README pictures (report, Phoenix trace) from real runs"
	@echo "make docs-sdk-table  regenerate the docs' tables of what each SDK raises, from live runs"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml integrations/chaostoolkit/pyproject.toml
	$(PIP) install --upgrade pip
	$(PIP) install -e ".[dev]"
	$(PIP) install -e integrations/chaostoolkit
	@touch $(STAMP)

install: $(STAMP)

$(PHOENIX_VENV)/bin/phoenix:
	$(PYTHON) -m venv $(PHOENIX_VENV)
	$(PHOENIX_VENV)/bin/python -m pip --disable-pip-version-check -q install "arize-phoenix==$(PHOENIX_VERSION)"

# promtool and the prometheus server come from Debian's `prometheus` package. As root it is
# installed when either is missing; otherwise, or if that fails, this target fails: the
# integration tests must not pass by skipping (CI also sets CI=1, which turns a skip into a failure).
INTEGRATION_TOOLS ?= promtool prometheus
# 0: only check, never install (the tests of this target use it).
APT_INSTALL ?= 1
# chromium (Debian's `chromium`) renders the HTML report in the browser test (browser-deps).
integration-deps: $(PHOENIX_VENV)/bin/phoenix browser-deps
	@missing=""; for t in $(INTEGRATION_TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ] && [ "$(APT_INSTALL)" = 1 ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's 'prometheus' package for:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	fi; \
	missing=""; for t in $(INTEGRATION_TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "missing:$$missing; install Debian's 'prometheus' package (apt-get install prometheus)" >&2; exit 1; \
	fi

# The Node `openai` package the proxy's tests drive (tests/proxy/test_node.py), pinned by
# examples/node-agent's package.json and package-lock.json, installed with `npm ci` into a cache
# folder (never into the example itself). Needs node 20+ and npm, and the npm registry.
NODE_DEPS := .cache/node-agent
$(NODE_DEPS)/node_modules/.installed: examples/node-agent/package.json examples/node-agent/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "install node 20+ and npm for the proxy's Node tests" >&2; exit 1; }
	mkdir -p $(NODE_DEPS)
	cp examples/node-agent/package.json examples/node-agent/package-lock.json $(NODE_DEPS)/
	cd $(NODE_DEPS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

node-deps: $(NODE_DEPS)/node_modules/.installed

browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; \
	  else echo "install Debian's 'chromium' package (as root) for the HTML report's browser test" >&2; exit 1; fi; }

test: $(STAMP) integration-deps node-deps
	AUMAI_PHOENIX_BIN=$(abspath $(PHOENIX_VENV))/bin/phoenix $(PY) -m pytest

test-unit: $(STAMP)
	$(PY) -m pytest -m "not integration"

lint: $(STAMP)
	$(PY) -m ruff check src tests examples benchmarks scripts integrations
	$(PY) -m ruff format --check src tests examples benchmarks scripts integrations
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format src tests examples benchmarks scripts integrations
	$(PY) -m ruff check --fix src tests examples benchmarks scripts integrations

# The scripted model server, zero-code instrument() and both experiments, in one process:
# see examples/agent_openai/demo.py. No network, no API key, no collector.
demo: $(STAMP)
	$(PY) -m examples.agent_openai.demo --seed 7

# The README's Phoenix picture (docs/images/phoenix-trace.png): the demo's trace in Arize
# Phoenix, screenshotted by headless Chromium (Debian's chromium package).
docs-phoenix-image: $(STAMP) $(PHOENIX_VENV)/bin/phoenix browser-deps
	AUMAI_PHOENIX_BIN=$(abspath $(PHOENIX_VENV))/bin/phoenix $(PY) -m scripts.phoenix_image

# The peers (agentic-chaos, chaosinjector) are installed beside the venv, not into it:
# agentic-chaos registers a pytest plugin that would join every test run. The benchmarks put
# benchmarks/.peers on sys.path themselves; a peer that cannot be installed reads "unavailable".
PEERS := benchmarks/.peers/.installed
$(PEERS): benchmarks/requirements-peers.txt | $(STAMP)
	$(PIP) install --no-deps --upgrade --target benchmarks/.peers -r $< && touch $@ \
	  || echo "peers not installed: their rows will say unavailable"

bench: $(STAMP) $(PEERS)
	$(PY) -m benchmarks

# CI's quick pass: it writes beside, not over, the committed results, and --enforce fails (exit
# 1) when a budget that is stable on a shared 2-core machine is missed (see benchmarks/README).
bench-quick: $(STAMP) $(PEERS)
	$(PY) -m benchmarks --quick --enforce --output benchmarks/results/quick.md

# The README's report picture: a real run of the agent experiment, rendered and screenshotted.
# The README's pictures, from the current code: the report of a real run, and the demo's trace
# in Arize Phoenix's UI.
docs-images: $(STAMP) browser-deps docs-phoenix-image
	$(PY) -m scripts.docs_images

# The docs' tables of what the installed openai/anthropic SDKs raise for each stream fault and
# each ProviderServer disruption, observed live on loopback (tests/test_sdk_table.py fails when
# the committed tables differ from what this gives).
docs-sdk-table: $(STAMP)
	$(PY) -m scripts.sdk_table

# The documentation site (mkdocs.yml): guides, the API reference from the docstrings, the
# generated fault-type table and experiment-file JSON Schema. --strict turns every warning (a
# broken link or anchor, a page outside the navigation, a docstring that cannot be parsed)
# into a failure.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs serve --strict --dev-addr 127.0.0.1:8000

clean:
	rm -rf site $(VENV) $(PHOENIX_VENV) benchmarks/.peers .mypy_cache .pytest_cache .ruff_cache build dist
