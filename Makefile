# agent_release — two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export AGENT_RELEASE_HOME := $(CURDIR)
export HF_HUB_OFFLINE := 1
export TLDEXTRACT_CACHE := $(CURDIR)/.dagster_home/tldextract

.PHONY: install run test test-all ui bench clean instance celery-worker

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,scale]"
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || cp deploy/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	touch $(STAMP)

install: $(STAMP)

## Materialize the whole pipeline on the embedded default and print a summary.
run: $(STAMP)
	$(PY) -m agent_release.cli run

## Fast suite (well under 15 minutes on 2 cores).
test: $(STAMP)
	$(PY) -m pytest -m "not slow" -q

## Everything, slow suites included.
test-all: $(STAMP)
	$(PY) -m pytest -q

## Dagster UI on the same persistent instance `make run` writes to.
ui: $(STAMP)
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## Instance storage: `make instance INSTANCE=postgres` (set DAGSTER_PG_HOST/PORT/DB/USERNAME/PASSWORD;
## see deploy/dagster.postgres.yaml); `make instance` goes back to local SQLite storage.
INSTANCE ?= default
instance: $(STAMP)
	cp deploy/dagster.$(if $(filter postgres,$(INSTANCE)),postgres.,)yaml $(DAGSTER_HOME)/dagster.yaml
	@echo "$(DAGSTER_HOME)/dagster.yaml ← deploy/dagster.$(if $(filter postgres,$(INSTANCE)),postgres.,)yaml"

## One Celery worker for AGENT_RELEASE_EXECUTOR=celery (start as many as you like, on any machine
## that reaches the broker, the instance and the lake). WORKER=name CONCURRENCY=processes.
WORKER ?= worker1
CONCURRENCY ?= 1
celery-worker: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" AGENT_RELEASE_EXECUTOR=celery \
	AGENT_RELEASE_CELERY_BROKER="$${AGENT_RELEASE_CELERY_BROKER:-redis://127.0.0.1:6379/0}" \
	AGENT_RELEASE_CELERY_BACKEND="$${AGENT_RELEASE_CELERY_BACKEND:-redis://127.0.0.1:6379/1}" \
	$(VENV)/bin/dagster-celery worker start -A dagster_celery.app -y deploy/celery.yaml -n $(WORKER) -- --concurrency=$(CONCURRENCY)

bench: $(STAMP)
	$(PY) bench/masking.py

clean:
	rm -rf $(VENV) .dagster_home data/lake data/warehouse.duckdb data/synthetic data/reports data/flags data/baselines data/checkpoints
