# Thin wrappers: the logic lives in Python, gunicorn.conf.py and the tools themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
APP    := --app ielts_service

.PHONY: install install-dev system-deps run serve test test-fast lint fmt bench rules dashboard-snapshot up down clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed            ## the service and its runtime dependencies
install-dev: $(VENV)/.installed-dev    ## plus test, lint and benchmark tools

system-deps:                           ## Debian packages the tests use (promtool, amtool, wrk, kubectl, chromium)
	@missing=""; \
	for need in promtool:prometheus amtool:prometheus-alertmanager wrk:wrk kubectl:kubectl chromium:chromium; do \
	  command -v $${need%%:*} >/dev/null || missing="$$missing $${need#*:}"; \
	done; \
	[ -z "$$missing" ] || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; }

run: install                           ## development server on embedded defaults
	@echo "ielts-question-service: listening on http://127.0.0.1:$(PORT) (docs: /docs)"
	APP_ENV=$${APP_ENV:-development} $(BIN)/flask $(APP) run --port $(PORT)

serve: install                         ## production-like: gunicorn with deploy/gunicorn.conf.py
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py ielts_service.wsgi:app

test: install-dev system-deps          ## the whole suite: unit, integration (both backends), e2e
	$(BIN)/pytest

test-fast: install-dev                 ## unit + integration on the embedded defaults (no PostgreSQL, Redis or processes)
	$(BIN)/pytest tests/unit tests/integration -m "not postgres and not redis"

lint: install-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

fmt: install-dev
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

bench: install-dev system-deps         ## every benchmark (~13 min; BENCH_QUICK=1: ~3 min), then the summary and chart
	$(BIN)/python -m bench.overhead
	$(BIN)/python -m bench.capacity
	$(BIN)/python -m bench.fanout
	$(BIN)/python -m bench.peer
	$(BIN)/python -m bench.audit_write
	$(BIN)/python -m bench.report

COMPOSE := docker compose -f deploy/docker-compose.yml --env-file deploy/.env

deploy/.env:
	@echo "deploy/.env is missing: cp deploy/compose.env.example deploy/.env and fill in the secrets" >&2
	@exit 1

up: deploy/.env                        ## the whole stack on this host (Docker Compose)
	$(COMPOSE) up --build --detach --wait

down:                                  ## stop the stack (volumes are kept)
	$(COMPOSE) down

rules: install-dev                     ## rule files with absolute links (monitoring/links.yml): Prometheus, PrometheusRule, dashboard
	$(BIN)/python -m scripts.generate_rules

dashboard-snapshot: install-dev system-deps  ## the dashboard drawn from a real run (~3 min): docs/dashboard-snapshot.png
	$(BIN)/python -m scripts.dashboard_snapshot

clean:
	rm -rf $(VENV) var build dist .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
