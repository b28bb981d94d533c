# Thin wrappers: the logic lives in Python, gunicorn.conf.py and the tools themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
APP    := --app ielts_service

.PHONY: install install-dev install-bench lock system-deps run serve test image-test test-fast lint fmt bench profile gameday rules dashboard-snapshot up down clean

# Installs come from the hash-locked requirements/*.txt (make lock writes them from
# pyproject.toml): runtime ⊂ dev ⊂ bench, synced exactly with uv, then checked with pip freeze.
UV     := $(VENV)/uv/bin/uv
LOCK   := $(UV) pip compile -q --universal --python-version 3.11 --generate-hashes \
          $(if $(UPGRADE),--upgrade) pyproject.toml requirements/build.in

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): requirements/uv.txt | $(BIN)/python
	$(BIN)/pip install -q --require-hashes --no-deps --upgrade --target $(VENV)/uv -r requirements/uv.txt
	touch $@

# $(call sync,LOCK): make the venv exactly requirements/LOCK.txt plus the project (editable).
define sync
	$(UV) pip sync -q --python $(BIN)/python --require-hashes requirements/$(1).txt
	$(UV) pip install -q --python $(BIN)/python --no-deps --no-build-isolation -e .
	$(BIN)/python -m scripts.lockcheck requirements/$(1).txt
	rm -f $(VENV)/.installed-*
	touch $(VENV)/.installed-$(1)
endef

$(VENV)/.installed-runtime: requirements/runtime.txt | $(UV)
	$(call sync,runtime)
$(VENV)/.installed-dev: requirements/dev.txt | $(UV)
	$(call sync,dev)
$(VENV)/.installed-bench: requirements/bench.txt | $(UV)
	$(call sync,bench)

# The runtime set is part of the dev and bench sets: run/serve do not re-sync a dev venv.
install:                               ## the service and its runtime dependencies (locked)
	@[ -n "$$(find $(VENV) -maxdepth 1 -name '.installed-*' -newer requirements/runtime.txt 2>/dev/null)" ] \
	  || $(MAKE) --no-print-directory $(VENV)/.installed-runtime
install-dev: $(VENV)/.installed-dev    ## plus test and lint tools
install-bench: $(VENV)/.installed-bench ## plus benchmark-only tools (charts, profiler)

lock: | $(UV)                          ## refresh requirements/*.txt after editing pyproject.toml (UPGRADE=1: newest allowed versions)
	$(LOCK) --extra dev --extra bench -o requirements/bench.txt
	$(LOCK) --extra dev -c requirements/bench.txt -o requirements/dev.txt
	$(LOCK) -c requirements/bench.txt -o requirements/runtime.txt
	$(UV) pip compile -q --universal --python-version 3.11 --generate-hashes \
	  $(if $(UPGRADE),--upgrade) requirements/uv.in -o requirements/uv.txt

system-deps:                           ## Debian packages the tests use (promtool, amtool, wrk, kubectl, chromium, buildah, debootstrap)
	@missing=""; \
	for need in promtool:prometheus amtool:prometheus-alertmanager wrk:wrk kubectl:kubectl chromium:chromium \
	            buildah:buildah debootstrap:debootstrap; do \
	  command -v $${need%%:*} >/dev/null || missing="$$missing $${need#*:}"; \
	done; \
	[ -z "$$missing" ] || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; }

run: install                           ## development server on embedded defaults
	@echo "ielts-question-service: listening on http://127.0.0.1:$(PORT) (docs: /docs)"
	APP_ENV=$${APP_ENV:-development} LOG_FORMAT=$${LOG_FORMAT:-console} $(BIN)/flask $(APP) run --port $(PORT)

serve: install                         ## production-like: gunicorn with deploy/gunicorn.conf.py
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py ielts_service.wsgi:app

# The suite mostly waits (processes starting, scrapes, sleeps), so it runs on more workers than
# cores (pytest-xdist); a file's tests share a worker, so a module's process stack starts once.
# TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 4
PARALLEL := -n $(TEST_WORKERS) --dist loadfile

test: install-dev system-deps          ## the whole suite: unit, integration (both backends), e2e
	$(BIN)/python -m scripts.lockcheck requirements/dev.txt
	$(BIN)/pytest $(PARALLEL)

test-fast: install-dev                 ## unit + integration on the embedded defaults (no PostgreSQL, Redis or processes)
	$(BIN)/pytest $(PARALLEL) tests/unit tests/integration -m "not postgres and not redis"

# Builds the stand-in base (cached) and deploy/Dockerfile with buildah, then runs the image
# against the real PostgreSQL and Redis (~3 min when the base is cached, ~5 more to make it).
image-test: install-dev system-deps    ## build the image and prove it serves (buildah; root)
	@if command -v buildah >/dev/null && command -v debootstrap >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  $(BIN)/pytest -m image tests/e2e/image; \
	elif [ "$${CI:-}" = true ]; then \
	  echo "image-test: buildah, debootstrap and root are required under CI=true" >&2; exit 1; \
	else \
	  echo "image-test: SKIPPED: needs buildah and debootstrap (make system-deps) and root"; \
	fi

gameday: install-dev system-deps       ## reliability drills on 127.0.0.1 (kill -9, Redis, PostgreSQL, upstream, slow clients; ~3 min)
	$(BIN)/python -m bench.gameday

lint: install-dev
	$(BIN)/deptry src
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

fmt: install-dev
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

bench: install-bench system-deps         ## every benchmark (~40 min; BENCH_QUICK=1: ~14 min), then the summary and chart
	$(BIN)/python -m bench.overhead
	$(BIN)/python -m bench.log_cost
	$(BIN)/python -m bench.capacity
	$(BIN)/python -m bench.slow_clients
	$(BIN)/python -m bench.worker_models
	$(BIN)/python -m bench.fanout
	$(BIN)/python -m bench.audit_write
	$(BIN)/python -m bench.audit_verify
	$(BIN)/python -m bench.report

profile: install-bench                 ## flame graphs of the full stack at 100 connections: bench/results/flame-*-after.svg
	$(BIN)/python -m bench.profile --label after

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
