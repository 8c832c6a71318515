# Two commands: `make run` serves the painter, `make test` runs every test.
# The first run of each creates .venv and installs what it needs; later runs reuse it.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WEIGHTS ?= weights

.PHONY: run test benchmark train-deps browser node-tools apt-install clean

run: $(VENV)/.server-deps node_modules/.installed
	$(PY) -m backend --host $(HOST) --port $(PORT) --weights $(WEIGHTS)

test: $(VENV)/.test-deps browser node_modules/.installed
	@ls tests/frontend/*.test.mjs >/dev/null 2>&1 || { echo "no frontend tests found"; exit 1; }
	node --test tests/frontend/
	$(PY) -m pytest -q tests

benchmark: $(VENV)/.test-deps
	$(PY) -m backend.benchmark

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The server needs no torch.
$(VENV)/.server-deps: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

# Tests train and export tiny models, so they need torch: the CPU wheel, pinned by constraints/cpu.txt.
# (On a CUDA host, install your torch build first; `pip install -e .[train]` accepts any torch >= 2.2.)
$(VENV)/.test-deps: pyproject.toml constraints/cpu.txt | $(PY)
	$(PY) -m pip install --quiet -c constraints/cpu.txt torch
	$(PY) -m pip install --quiet -c constraints/cpu.txt -e '.[train,test]'
	touch $(VENV)/.server-deps $@

train-deps: $(VENV)/.test-deps

# npm packages, exactly as package-lock.json pins them: onnxruntime-web (the page's in-browser runtime),
# swagger-ui-dist (the API's /docs page) and axe-core (the tests' accessibility audit). Needs only node and
# npm, so `make run` needs no chromium. No install script runs: only the files are needed (and
# swagger-ui-dist's @scarf/scarf would report the install over the network).
node_modules/.installed: package.json package-lock.json | node-tools
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

# Browser tests drive Debian's chromium through Playwright (Playwright's own browser download is not used).
browser: node-tools
	@test -x /usr/bin/chromium || $(MAKE) --no-print-directory apt-install PKGS=chromium

node-tools:
	@command -v node >/dev/null 2>&1 || $(MAKE) --no-print-directory apt-install PKGS=nodejs
	@command -v npm >/dev/null 2>&1 || $(MAKE) --no-print-directory apt-install PKGS=npm

apt-install:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PKGS); \
	else echo "please install $(PKGS) (needs root and apt-get)"; exit 1; fi

clean:
	rm -rf $(VENV) .pytest_cache node_modules
