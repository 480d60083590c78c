# evalkit: `make report` runs the assessment, `make test` checks everything.
# Both create .venv when it is missing and install evalkit with its pinned test extras.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.evalkit-installed
PARAMS ?= params/default.yaml
OUT    ?= outputs
SANITIZE := nbval_sanitize.cfg
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

.PHONY: report province test lint unit nbval refresh bench bench-province venv clean docs

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
	$(PY) -m pytest -q $(XDIST) -p no:cacheprovider $(NBVAL) tests notebooks/

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

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[test,docs]"
	touch $(STAMP)

clean:
	rm -rf $(OUT)/notebook-tables build docs/reference/generated .pytest_cache .ruff_cache
