# Two commands on a fresh machine: `make demo` and `make test`. Everything else is plumbing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
LOCK := requirements/dev.lock
WHEELHOUSE := build/wheelhouse
# Airflow reads no user config from here; tests make their own AIRFLOW_HOME.
export AIRFLOW_HOME ?= $(CURDIR)/build/airflow-home
# This machine presets PYTHONDONTWRITEBYTECODE, which makes every import ~3x slower.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(CURDIR)/build/pycache
NETGUARD := .ci/netguard

.PHONY: venv install test lint typecheck pytest docs demo lock clean browser wheelhouse azcli azcli-lock
.PHONY: bench bench-lock

$(VENV)/.installed: $(LOCK) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) pip sync -q --python $(PY) $(LOCK)
	$(UV) pip install -q --python $(PY) --no-deps -e .
	touch $@

venv install: $(VENV)/.installed

# Debian's Chromium for the connection-form test (no browser download works here).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null; }

# Wheels for the packaging test's fresh venv, which installs with --no-index inside the namespace.
wheelhouse: $(VENV)/.installed
	rm -rf build/dist && $(PY) -m build -q --outdir build/dist . >/dev/null
	$(PY) -m pip download -q --disable-pip-version-check -d $(WHEELHOUSE) -c $(LOCK) build/dist/*.whl >/dev/null

# The real Azure CLI in its own venv for tests/conformance (never a dependency of the package);
# the stamp reruns the install only when its lock changes.
AZCLI := build/azcli
AZCLI_LOCK := requirements/azcli.lock
$(AZCLI)/.installed: $(AZCLI_LOCK) | $(VENV)/.installed
	test -x $(AZCLI)/bin/python || $(PYTHON) -m venv $(AZCLI)
	$(UV) pip sync -q --python $(AZCLI)/bin/python $(AZCLI_LOCK)
	touch $@

azcli: $(AZCLI)/.installed

azcli-lock: $(VENV)/.installed
	$(UV) pip compile -q --python-version 3.11 requirements/azcli.in -o $(AZCLI_LOCK) --custom-compile-command "make azcli-lock"

# `make bench`: the peers (azure and http providers) in a throwaway venv, never dependencies of
# the package; then every benchmark in one run inside the loopback-only namespace. Sizes and
# counts: BENCH_SIZES (MiB, e.g. 16,64), BENCH_WAITS (e.g. 100), BENCH_RUNS (spread runs).
BENCH_VENV := build/bench-venv
BENCH_LOCK := requirements/bench.lock
$(BENCH_VENV)/.installed: $(BENCH_LOCK) $(VENV)/.installed
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(UV) pip sync -q --python $(BENCH_VENV)/bin/python $(BENCH_LOCK)
	touch $@

bench: $(VENV)/.installed $(BENCH_VENV)/.installed azcli
	$(NETGUARD) $(PY) benchmarks/run_all.py

bench-lock: $(VENV)/.installed
	$(UV) pip compile -q --python-version 3.11 requirements/bench.in -o $(BENCH_LOCK) --custom-compile-command "make bench-lock"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check airflow_provider_appservice tests example_dags benchmarks docs scripts
	$(VENV)/bin/ruff format --check airflow_provider_appservice tests example_dags benchmarks scripts

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# Stage 1 installs everything (network allowed); stage 2 runs inside a loopback-only namespace.
# One pytest worker per core (pytest-xdist), a test file per worker at a time: module fixtures
# (a real Airflow cluster, parsed DAGs) are built once; each worker has its own Airflow home.
TEST_WORKERS ?= 2
test: $(VENV)/.installed browser wheelhouse azcli lint typecheck docs
	$(NETGUARD) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

pytest: $(VENV)/.installed
	$(NETGUARD) $(PY) -m pytest $(PYTEST_ARGS)

docs: $(VENV)/.installed
	$(NETGUARD) $(VENV)/bin/sphinx-build -q -W --keep-going -b html docs build/docs

demo: $(VENV)/.installed
	$(NETGUARD) $(PY) scripts/demo.py $(DEMO_ARGS)

lock:
	test -x $(UV) || { $(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q "uv==$(UV_VERSION)"; }
	$(UV) pip compile -q --python-version 3.11 --extra testing --extra dev pyproject.toml -o $(LOCK)

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache
