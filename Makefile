# evalkit: `make report` runs the assessment, `make test` checks everything.
# Both create .venv when it is missing and install the locked environment (requirements.lock:
# every transitive dependency pinned with its hashes), then evalkit itself.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.evalkit-installed
PARAMS ?= params/default.yaml
OUT    ?= outputs
SANITIZE := nbval_sanitize.cfg
LOCK   := requirements.lock
UV_VERSION := 0.13.8
# pytest-xdist workers for make test/unit/nbval: one per core (TEST_WORKERS=0: one process).
# Tests sharing a module-scoped fixture stay on one worker, and the notebooks run in order on
# one worker while the others take the tests (tests/conftest.py).
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS) --dist loadgroup
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with $(SANITIZE)

# Same environment for every kernel (see evalkit.run.pipeline.KERNEL_ENV_DEFAULTS): identical
# floating-point results whatever the number of cores.
export PYTHONHASHSEED = 0
export OMP_NUM_THREADS = 1
export OPENBLAS_NUM_THREADS = 1
export MKL_NUM_THREADS = 1

.PHONY: report province test lint unit nbval refresh bench bench-province venv clean docs lock

report: $(STAMP)
	$(PY) -m evalkit run $(PARAMS) --out $(OUT)

# Every county of a province params file as Dask tasks: make province PARAMS=my_province.yaml
# (add ARGS="--workers 4", ARGS="--scheduler tcp://host:8786" or ARGS=--tables-only)
province: $(STAMP)
	$(PY) -m evalkit province $(PARAMS) --out $(OUT) $(ARGS)

# tests/test_docs.py builds the reference with warnings as errors and runs the docstrings'
# examples, so a broken reference or example fails `make test` (and CI).
test: $(STAMP)
	$(PY) -m ruff check src tests bench
	$(PY) -m pytest -q $(XDIST) -p no:cacheprovider --durations=10 $(NBVAL) tests notebooks/

lint: $(STAMP)
	$(PY) -m ruff check src tests bench

unit: $(STAMP)
	$(PY) -m pytest -q $(XDIST) tests

nbval: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider $(NBVAL) notebooks/

# Re-execute the committed notebooks in place with their default parameters, when a change
# in their numbers is intended (nbval compares against these outputs).
refresh: $(STAMP)
	$(PY) -m evalkit refresh

# Each bench script prints its measurements beside its goal and exits non-zero on a miss.
bench: $(STAMP)
	$(PY) bench/bench_design.py
	$(PY) bench/first_interval.py $(if $(SVY_PYTHON),--svy-python $(SVY_PYTHON))
	$(PY) bench/bench_models.py
	$(PY) bench/bench_sampling.py
	$(PY) bench/run_timing.py --params $(PARAMS)
	$(MAKE) bench-province

# The province part only: figures to bench/results/province.json and the README's table.
# BENCH_ARGS="--full 0" measures only the 100 counties --tables-only.
bench-province: $(STAMP)
	$(PY) bench/province_timing.py --full 24 --tables 100 --json bench/results/province.json \
		--readme README.md $(BENCH_ARGS)

# The API reference from the docstrings, offline HTML: build/docs/html/index.html
docs: $(STAMP)
	$(PY) -m sphinx -b html -W --keep-going -q -d build/docs/doctrees docs/reference build/docs/html

venv: $(STAMP)

# pip refuses any package or version the lock does not name, and any file whose hash differs.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Regenerate requirements.lock after a change to pyproject.toml's dependencies (main, test and
# docs extras): uv resolves them for CPython 3.11 on x86-64 Linux and records every file's
# sha256 from the index. uv (pinned) is installed in a throwaway venv, not in .venv.
lock:
	test -x build/lock-tools/bin/uv || { $(PYTHON) -m venv build/lock-tools && \
		build/lock-tools/bin/python -m pip install --quiet uv==$(UV_VERSION); }
	build/lock-tools/bin/uv pip compile pyproject.toml --extra test --extra docs \
		--generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		--custom-compile-command "make lock" --quiet --output-file $(LOCK)

clean:
	rm -rf $(OUT)/notebook-tables build docs/reference/generated .pytest_cache .ruff_cache
