# Two commands: `make run` serves the product, `make test` passes the suite.
# Both create .venv and install what they need; nothing has to be installed by hand.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint fuzz bench install clean services-test

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 2; }
	@# Debian ships venv separately (python3.11-venv); install it when it is missing.
	@$(PYTHON) -c "import ensurepip" 2>/dev/null || { \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq python3.11-venv; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml requirements/embedded.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet -r requirements/embedded.txt
	touch $(STAMP)

install: $(STAMP)

## make run: start the embedded database, deploy bpmn/, serve on http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/crm serve

## make test: the whole suite against a throw-away database (and Redis when needed)
test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## make fuzz: schemathesis against /api/v1/openapi.json of a served app (bounded examples)
fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz.py

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
