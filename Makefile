# The two commands a new user needs: `make run` and `make test`. Everything else is a step they call.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run worker test test-postgres lint migrate seed browser-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt package.json package-lock.json
	$(BIN)/pip install --quiet -r requirements-dev.txt
	npm ci --ignore-scripts --no-audit --no-fund --silent
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# Sets up, loads demo data and serves http://127.0.0.1:8000 with the task worker, the scheduler and the provider
# simulator. Ctrl-C stops them all. Data persists in db.sqlite3 between runs. On Redis instead of the database
# backend: `TASK_BACKEND=rq REDIS_URL=redis://127.0.0.1:6379/0 make run` (docs/DEPLOY.md for production).
run: seed
	$(PY) manage.py run_all

# One task worker on every queue (otp first), for TASK_BACKEND (database or rq); QUEUE=send serves one queue only.
worker: install
	$(PY) manage.py task_worker $(if $(QUEUE),--queue $(QUEUE))

# Debian's chromium drives the browser tests (Playwright cannot download a browser here).
browser-deps:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| (echo "chromium is needed for the browser tests: apt-get install chromium" && exit 1)

# Runs the whole suite on SQLite, or on PostgreSQL when DATABASE_URL points at it.
test: install browser-deps
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install  # MILLION=1 adds the reads and exports at a million messages (bench/seed_million.py, seeded once)
	$(PY) bench/run_all.py $(if $(filter-out 0,$(MILLION)),--million,)

clean:
	rm -rf $(VENV) node_modules staticfiles
