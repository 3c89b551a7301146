# Two commands do everything on a fresh clone:
#   make run    train and evaluate the default model (SASRec) on the built-in dataset
#   make test   lint, type-check and run the test suite
# The virtual environment is created on first use; torch is installed first, pinned
# (override with `make TORCH=torch==X.Y.Z ...`), then the package with its extras.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(subst =,-,$(subst $() ,_,$(TORCH)))
RUN_ARGS ?= --epochs 15 --audit

.PHONY: run test lint typecheck unit install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev,parquet,serve,text,explain,privacy,ann,llm,tune]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/equirec run $(RUN_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
