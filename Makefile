# galcat: `make demo` runs the main job on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.galcat-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
# Real data beside the repository (Parks+2018 files, BOSS spectra): see catalog/settings.py.
export GALCAT_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/galcat demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# mypy and import-linter read packages from folders, so they read `galcat` through a view
# laid out as it installs (pyproject's package-dir): hard links to the sources, rebuilt on
# every run; build/ is not committed. import-linter checks the layering (pyproject).
LINT_VIEW := build/lint
ROOMS     := cli catalog workers models migrations

lint: $(STAMP)
	$(BIN)/ruff check .
	rm -rf $(LINT_VIEW) && mkdir -p $(LINT_VIEW)
	cp -rl galcat $(LINT_VIEW)/galcat
	for room in $(ROOMS); do cp -rl $$room $(LINT_VIEW)/galcat/$$room; done
	find $(LINT_VIEW) -name __pycache__ -prune -exec rm -rf {} +
	$(BIN)/mypy
	cd $(LINT_VIEW) && PYTHONPATH=. $(CURDIR)/$(BIN)/lint-imports --no-cache $(CURDIR)/pyproject.toml

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) galcat-data build .pytest_cache .mypy_cache .ruff_cache
