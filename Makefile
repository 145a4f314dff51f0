# Puntual. `make run` starts everything on embedded defaults; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PUNTUAL_PORT ?= 8000
# The links in the messages the worker prints must open this very server.
PUNTUAL_BASE_URL ?= http://127.0.0.1:$(PUNTUAL_PORT)
export PUNTUAL_PORT PUNTUAL_BASE_URL

.PHONY: run test lint bench install dev-install assets lock messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs are repeatable: every version comes from constraints.txt (see `make lock`).
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# The pages' JavaScript (htmx) comes from npm, pinned by package-lock.json, never from a CDN:
# `npm ci` runs again whenever the lockfile is newer than the last install, and the built
# file is copied into static/vendor/ (not committed; the Dockerfile does the same).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

static/vendor/htmx.min.js: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

assets: static/vendor/htmx.min.js

install: $(VENV)/.installed assets
dev-install: $(VENV)/.dev-installed assets

run: install
	@mkdir -p var
	$(BIN)/python manage.py compile_translations
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Puntual is starting on http://127.0.0.1:$(PUNTUAL_PORT)/  (Ctrl-C stops web, worker and beat)"
	@echo ""
	exec $(BIN)/honcho -f Procfile.dev start

test: dev-install
	@mkdir -p var
	@bash scripts/ensure-chromium.sh
	$(BIN)/python manage.py compile_translations
	$(BIN)/pytest $(PYTEST_ARGS)

lint: dev-install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Every benchmark on PostgreSQL (BENCH_DATABASE_URL, own database, seeded on first use), one
# JSON line each. BENCH_ARGS passes options, e.g. BENCH_ARGS="booking_http --seconds 20".
bench: dev-install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# Regenerate constraints.txt after changing pyproject.toml.
lock: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip freeze --exclude-editable | grep -v '^pkg_resources' > constraints.txt

# Refresh the Spanish catalogue from the source (needs GNU gettext: apt-get install gettext).
messages: dev-install
	$(BIN)/python manage.py makemessages --locale es --no-obsolete --ignore '.venv/*' --ignore 'var/*'

clean:
	rm -rf var/puntual.sqlite3 var/celery-broker.sqlite3 var/celerybeat-schedule*
