# galcat: `make demo` runs the main job on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.galcat-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

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
# of links laid out as it installs (pyproject's package-dir); build/ is not committed.
LINT_VIEW := build/lint
ROOMS     := catalog workers models migrations

lint: $(STAMP)
	$(BIN)/ruff check .
	rm -rf $(LINT_VIEW) && mkdir -p $(LINT_VIEW)/galcat
	for f in galcat/*; do ln -s "$(CURDIR)/$$f" $(LINT_VIEW)/galcat/; done
	for room in $(ROOMS); do ln -s "$(CURDIR)/$$room" $(LINT_VIEW)/galcat/$$room; done
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) galcat-data build .pytest_cache .mypy_cache .ruff_cache
