# Two commands do everything on a fresh clone:
#   make run    train and evaluate the default model (SASRec) on the built-in dataset
#   make test   lint, type-check and run the test suite
# The virtual environment is created on first use; torch is installed first, pinned
# (override with `make TORCH=torch==X.Y.Z ...`), then the package (`make run`), then its extras
# (`make test`, `make install`).

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
TORCH_TAG := $(subst =,-,$(subst $() ,_,$(TORCH)))
STAMP := $(VENV)/.installed-$(TORCH_TAG)
BASE_STAMP := $(VENV)/.base-$(TORCH_TAG)
EXTRAS := dev,parquet,serve,text,explain,privacy,ann,llm,tune
RUN_ARGS ?= --config configs/quickstart.toml --audit

.PHONY: run test lint typecheck unit install clean

install: $(STAMP)

# `make run` needs equirec alone (no extra): a fresh clone installs it first and quickly, without
# compiling every module of torch to bytecode (pip's compile step is most of torch's install time;
# a run compiles what it imports). The extras, which the tests need, come on top when `make test`
# (or `make install`) first runs, and then everything is compiled, on all cores.
$(BASE_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile "$(TORCH)"
	$(BIN)/python -m pip install -q --no-compile -e .
	@rm -f $(VENV)/.installed-* $(VENV)/.base-*
	@touch $(BASE_STAMP)

$(STAMP): $(BASE_STAMP)
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	$(BIN)/python -m compileall -q -j 0 $$($(BIN)/python -c "import sysconfig; print(sysconfig.get_path('purelib'))") >/dev/null || true
	@touch $(STAMP)

run: $(BASE_STAMP)
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
