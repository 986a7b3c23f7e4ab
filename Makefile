# The two commands a newcomer needs: `make demo` and `make test`.
# Both set up .venv themselves from pyproject.toml; only python3 and make are assumed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench readme clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest

readme: $(STAMP)
	$(BIN)/python scripts/readme_settings.py

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check target_zoho_leads tests scripts

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis demo-output
