# Two commands: `make run` serves the product, `make test` passes the suite.
# Both create .venv and install what they need; nothing has to be installed by hand.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fault lint fuzz bench install clean services-test assets soak

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 2; }
	@# Debian ships venv separately (python3.11-venv); install it when it is missing.
	@$(PYTHON) -c "import ensurepip" 2>/dev/null || { \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq python3.11-venv; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml requirements/embedded.txt
	@# PDF reports are drawn with the DejaVu TrueType font (Debian's fonts-dejavu-core).
	@[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || { \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq fonts-dejavu-core; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet -r requirements/embedded.txt
	touch $(STAMP)

install: $(STAMP) assets

## make assets: the UI's front-end packages from npm (package-lock.json) and its translations
VENDOR := admin_ui/static/vendor
ASSETS := $(VENDOR)/.built
MO     := admin_ui/translations/ru/LC_MESSAGES/messages.mo

assets: $(ASSETS) $(MO)

$(ASSETS): package.json package-lock.json
	@command -v npm >/dev/null || { \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bpmn-js
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js \
	   node_modules/bpmn-js/dist/bpmn-modeler.production.min.js $(VENDOR)/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets/. $(VENDOR)/bpmn-js/
	touch $(ASSETS)

$(MO): admin_ui/translations/ru/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d admin_ui/translations -D messages

## make run: start the embedded database, deploy bpmn/, serve on http://127.0.0.1:8000
run: $(STAMP) assets
	$(BIN)/crm serve

## make test: the whole suite against a throw-away database (and Redis when needed)
test: $(STAMP) assets
	bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## make test-fault: the fault and security tests alone, in full (`make test` runs them too:
## SIGKILL of `crm serve` and of the database under load, the 100-branch join); docs/reliability.md
test-fault: $(STAMP)
	CRM_CRASH_TESTS=1 CRM_JOIN_BRANCHES=100 $(BIN)/pytest tests/fault tests/security

## make fuzz: schemathesis against /api/v1/openapi.json of a served app (bounded examples)
fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz.py

bench: $(STAMP)
	$(BIN)/python -m bench

## make soak: 10 minutes of mixed load on a served app with a Celery worker (not in CI);
## CRM_SOAK_SECONDS shortens it. Errors, each process's RSS, job backlog: docs/reliability.md
soak: $(STAMP)
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
