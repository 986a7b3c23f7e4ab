# The two commands a newcomer needs: `make demo` and `make test`.
# Both set up .venv themselves from pyproject.toml; only python3 and make are assumed.
# Meltano and Airflow get virtualenvs of their own (.venv-meltano, .venv-airflow):
# their dependencies would fight the target's, and the tests run them as users do.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# uv builds the two tool environments in seconds where pip takes minutes;
# Meltano installs its plugins with its own copy of uv.
UV_VERSION := 0.13.9
UV := $(BIN)/uv
MELTANO_VENV := .venv-meltano
MELTANO_STAMP := $(MELTANO_VENV)/.installed-stamp
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-stamp
LOCKS := orchestrate/requirements

.PHONY: install lock check demo sandbox test test-fast e2e bench readme clean meltano-env airflow-env pipeline-locks

DEV_LOCK := requirements/dev.txt

# The development environment comes from a lock file, so a new release of any
# dependency cannot change what `make test` runs; `make lock` re-resolves it.
$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	touch $(UV)

# Bytecode is compiled at install, as pip does: where PYTHONDONTWRITEBYTECODE
# is set (CI machines) every start of the command would otherwise compile
# singer-sdk again, about 0.6 s of CPU each time.
# The sandbox (sandbox/, standard library only) is installed beside the target,
# as the `sandbox` extra would install it.
$(STAMP): pyproject.toml sandbox/pyproject.toml $(DEV_LOCK) | $(UV)
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r $(DEV_LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e . -e sandbox
	touch $(STAMP)

install: $(STAMP)

# Re-resolve the development lock file after changing pyproject.toml's dependencies.
lock: | $(UV)
	$(UV) pip compile --quiet --universal --python-version 3.10 --extra test --extra dev pyproject.toml -o $(DEV_LOCK)

# Each tool is installed from its lock file (resolved by `make pipeline-locks`),
# so CI gets the same versions every time: Airflow supports installs only that way.
$(MELTANO_STAMP): $(LOCKS)/meltano.txt | $(STAMP)
	rm -rf $(MELTANO_VENV)
	$(UV) venv --quiet --python $(PYTHON) $(MELTANO_VENV)
	$(UV) pip install --quiet --python $(MELTANO_VENV)/bin/python -r $(LOCKS)/meltano.txt
	touch $(MELTANO_STAMP)

$(AIRFLOW_STAMP): $(LOCKS)/airflow.txt | $(STAMP)
	rm -rf $(AIRFLOW_VENV)
	$(UV) venv --quiet --python $(PYTHON) $(AIRFLOW_VENV)
	$(UV) pip install --quiet --python $(AIRFLOW_VENV)/bin/python -r $(LOCKS)/airflow.txt
	touch $(AIRFLOW_STAMP)

meltano-env: $(MELTANO_STAMP)

airflow-env: $(AIRFLOW_STAMP)

# Re-resolve the tool lock files after changing a version in $(LOCKS)/*.in.
pipeline-locks: | $(UV)
	cd $(LOCKS) && ../../$(UV) pip compile --quiet --universal --python-version 3.10 meltano.in -o meltano.txt
	cd $(LOCKS) && ../../$(UV) pip compile --quiet --universal --python-version 3.10 airflow.in -o airflow.txt

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The local Zoho on a fixed port, for the Meltano and Airflow try-outs of orchestrate/README.md.
sandbox: $(STAMP)
	$(BIN)/python -m zoho_sandbox --port 8765

# Every test on every core. The package's own bytecode first: the tests start the
# real command hundreds of times. loadgroup keeps the Meltano/Airflow pipeline
# tests (xdist_group "pipelines") on one worker, so they never run at once.
test: $(STAMP) $(MELTANO_STAMP) $(AIRFLOW_STAMP)
	$(BIN)/python -m compileall -q target_zoho_leads sandbox/zoho_sandbox
	$(BIN)/python -m pytest -n auto --dist loadgroup

# Everything but the pipeline, chaos, crash and fuzz tests (modules marked slow
# by their pytestmark, fuzz tests by tests/conftest.py), on every core: about a
# minute on 2 quiet cores.
test-fast: $(STAMP)
	$(BIN)/python -m compileall -q target_zoho_leads sandbox/zoho_sandbox
	$(BIN)/python -m pytest -m "not slow" -n auto -q

# What CI enforces before the tests: lint, formatting, strict types and the
# layering contracts between the package's folders (pyproject.toml, [tool.importlinter]).
check: $(STAMP)
	$(BIN)/ruff check target_zoho_leads sandbox tests scripts benchmarks orchestrate
	$(BIN)/ruff format --check target_zoho_leads sandbox tests scripts benchmarks orchestrate
	$(BIN)/mypy --strict target_zoho_leads sandbox/zoho_sandbox
	$(BIN)/lint-imports

# Only the Meltano and Airflow pipelines (tests/test_pipelines.py).
e2e: $(STAMP) $(MELTANO_STAMP) $(AIRFLOW_STAMP)
	$(BIN)/python -m pytest tests/test_pipelines.py

readme: $(STAMP)
	$(BIN)/python scripts/readme_settings.py

# The figures (a) to (e) of benchmarks/README.md from one run. BENCH_FLAGS=--quick: a smoke test.
# pip compiles a regular install's bytecode; this checkout is installed
# editable, so it is compiled here: the benchmark measures what users run.
bench: $(STAMP)
	$(BIN)/python -m compileall -q target_zoho_leads sandbox/zoho_sandbox
	$(BIN)/python benchmarks/bench.py $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) $(MELTANO_VENV) $(AIRFLOW_VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache demo-output
