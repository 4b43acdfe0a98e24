# NovaCart: `make run` serves the demo shop on http://127.0.0.1:8000, `make test` runs the suite.
# Settings come from the environment and .env; an exported variable always wins.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
DEMO_CATALOG ?= fixtures/demo_catalog.json

CHROMIUM ?= /usr/bin/chromium

.PHONY: run test test-fast test-browser lint format install install-dev worker beat superuser bench bench-quick clean

$(BIN)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: requirements.txt requirements-dev.txt $(BIN)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed
install-dev: $(BIN)/.installed-dev

# NOVACART_DEV=1 only changes defaults (DEBUG on, dev secret key, dummy payment gateway);
# anything set in the environment or in .env still wins. HOST and PORT (default 127.0.0.1:8000)
# come from the environment or .env too.
run: export NOVACART_DEV ?= 1
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_products $(DEMO_CATALOG) --quiet
	$(PY) manage.py seed_checkout_demo --quiet
	$(PY) manage.py runserver "$$($(PY) -c 'from novacart.settings.env import dev_server_address; print(dev_server_address())')"

test: install-dev
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The edit-run loop: everything but the schema fuzzing and the tests marked slow in pyproject.toml
# (subprocesses, the whole OpenAPI document). `make test` and CI still run the whole suite.
test-fast: install-dev
	$(PY) -m pytest -q -m "not fuzz and not slow" $(PYTEST_ARGS)

# The browser suite (tests/browser/): Playwright drives Debian's chromium (installed here with apt-get
# when missing, never downloaded) against a live test server; screenshots land in browser-screenshots/.
test-browser: install-dev
	.ci/install-chromium "$(CHROMIUM)"
	NOVACART_BROWSER_TESTS=1 NOVACART_CHROMIUM="$(CHROMIUM)" $(PY) -m pytest -q tests/browser $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Local helpers share `make run`'s development defaults (production runs its own commands, render.yaml).
worker beat superuser: export NOVACART_DEV ?= 1

worker: install
	$(BIN)/celery -A novacart worker --loglevel=INFO

beat: install
	$(BIN)/celery -A novacart beat --loglevel=INFO

superuser: install
	$(PY) manage.py createsuperuser

# The load benchmark (bench/README.md): PostgreSQL when DATABASE_URL points at it, else SQLite under
# bench/results/. Needs wrk (apt-get install -y wrk). Never part of `make test`.
bench: install-dev
	$(PY) -m bench $(BENCH_ARGS)

bench-quick: install-dev
	$(PY) -m bench --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles
