# The project's front door. `make run` and `make test` work on a fresh machine.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# The engine's tests train in sandboxes: two at a time (pytest-xdist) take about 0.6 of the time.
ENGINE_JOBS ?= 2
# The platform's tests wait on processes, browsers and sockets more than on a core: two at a time
# take about 0.6 of the time too (each pytest-xdist process gets its own test database).
PLATFORM_JOBS ?= 2

.PHONY: install run test test-engine test-platform lint format bench soak screenshots worker \
	evaluation-worker migrate clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

# Web (http://127.0.0.1:8000) + Celery worker + beat in the foreground; Ctrl-C stops them all.
run: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_demo_benchmarks
	$(PY) manage.py ensure_admin
	$(PY) manage.py worker_token local-cpu --queues cpu --file "$${CRUCIBLE_VAR_DIR:-var}/worker-token"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho --procfile platform/Procfile.dev --app-root . start

# The platform's own tasks (webhooks, GitHub answers, honours); needs the platform's settings.
worker: install
	$(BIN)/celery -A config.celery_app worker -Q default --loglevel INFO

# An evaluation worker on this machine: PLATFORM_URL, CRUCIBLE_WORKER_TOKEN, CELERY_BROKER_URL
# and nothing else of the platform's (README, "Add a GPU worker").
evaluation-worker: install
	$(PY) -m evaluation.agent

# The whole suite: the engine's tests (no database), then the platform's.
test: test-engine test-platform

test-engine: install
	$(PY) -m pytest -n $(ENGINE_JOBS) tests/evaluation/engine

test-platform: install
	$(PY) -m pytest -n $(PLATFORM_JOBS) --ignore=tests/evaluation/engine $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	@set -e; for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script; done

# The production topology under mixed traffic while its parts fail, then checked
# (benchmarks/soak.py): SOAK_MINUTES of traffic (default 10), then up to five minutes to drain.
SOAK_MINUTES ?= 10
soak: install
	SOAK_MINUTES=$(SOAK_MINUTES) $(PY) benchmarks/soak.py

# Pictures of every main page from a fresh demo (trains the demo submissions first: minutes).
screenshots: install
	$(PY) -m tests.browser.screenshots

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
