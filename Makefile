# One task runner: README, hooks and .ci/run call these targets.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export GX_ANALYTICS_ENABLED := false

.PHONY: install test lint bench demo clean

install: ## create .venv and install the locked stack + this package (editable)
	@command -v uv >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	@test -x $(BIN)/python || uv venv $(VENV) --python $(PY) --quiet
	uv pip install --python $(BIN)/python --compile-bytecode --quiet -r requirements.lock
	uv pip install --python $(BIN)/python --compile-bytecode --quiet --no-deps -e .

test: ## run the whole test suite (unit, data, model, api, notebook)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

bench: ## speed targets; printed numbers (not timed tests)
	$(BIN)/python -m bench

demo:
	$(BIN)/tiering demo

clean:
	rm -rf $(VENV) build dist *.egg-info .ruff_cache
