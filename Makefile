# Scaling-law workbench.  User-facing targets: lab, test, bench (see README.md).
#
# Set-up (shared by all three) is idempotent: it creates .venv if absent, installs
# torch in its own pip step, then the workbench with its test and cluster (Ray) extras, and records
# the result in a stamp file named after pyproject.toml's hash.  When the stamp
# exists the set-up is skipped.
#
# `make lab` runs JupyterLab in the foreground until stopped (Ctrl-C); LAB_ARGS is
# passed to it (e.g. make lab LAB_ARGS='--no-browser --ip 0.0.0.0'), and --allow-root
# is added when run as root (containers, CI), since Jupyter refuses root without it.
# `make test` runs pytest with -rs (skip reasons) and --durations=15 (slowest tests).
#
# No extra index is configured here.  On a laptop, a CPU-only torch wheel can be
# had with:  PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make lab

SHELL := /bin/bash
.DEFAULT_GOAL := lab

PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV       := .venv
VENV_PY    := $(VENV)/bin/python
TORCH_SPEC := torch==2.13.0
PYTEST_ARGS ?=
LAB_ARGS ?=
# Jupyter refuses to start as root without --allow-root; add it only for root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

PYPROJECT_HASH := $(shell sha256sum pyproject.toml 2>/dev/null | cut -c1-16)
STAMP := $(VENV)/.setup-$(PYPROJECT_HASH).stamp

.PHONY: lab test bench

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ALLOW_ROOT) $(LAB_ARGS) notebooks/

test: $(STAMP)
	@if [ -x /usr/bin/chromium ]; then \
	  echo "chromium: /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "chromium: not found, installing Debian chromium + chromium-driver"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update && apt-get install -y chromium chromium-driver; \
	else \
	  echo "WARNING: /usr/bin/chromium is missing and we are not root, so it cannot be installed here." >&2; \
	  echo "         The browser tests (pytest -m browser) need it:  sudo apt-get install -y chromium chromium-driver" >&2; \
	fi
	@rc=0; $(VENV_PY) -m pytest -q -rs --durations=15 $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests (exit code 5)." >&2; fi; \
	exit $$rc

bench: $(STAMP)
	@shopt -s nullglob; files=(benchmarks/*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "bench: no benchmarks/*.py found"; exit 0; fi; \
	for f in "$${files[@]}"; do \
	  echo "== $$f"; $(VENV_PY) "$$f" || exit $$?; \
	done

# --- set-up (internal) --------------------------------------------------------

$(VENV_PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: '$(PYTHON)' not found. Install Python 3.11+ or run: make PYTHON=/path/to/python3.11" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: '$(PYTHON)' is older than Python 3.11. Run: make PYTHON=/path/to/python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): | $(VENV_PY)
	$(VENV_PY) -m pip install '$(TORCH_SPEC)'
	$(VENV_PY) -m pip install -e '.[test,cluster]'
	@rm -f $(VENV)/.setup-*.stamp
	@touch $@
