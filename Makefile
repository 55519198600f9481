# Two commands for a newcomer: `make demo` and `make test`. Both create .venv when it is missing.
# The demo installs only what the backend runs on; the test tools (pytest, Bugsink, Playwright,
# gunicorn ...) come with the first `make test`, `make lint`, `make bench` or `make venv`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
APP_STAMP := $(VENV)/.app-stamp
STAMP := $(VENV)/.installed-stamp
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
# The scrub prefilter's hyperscan cache is the run's own (emptied by `make test`), never ~/.cache's.
TEST_ENV := SENTRY_INBOX_PATH=var/test/inbox.sqlite3 SENTRY_DSN= SENTRY_PROFILES_SAMPLE_RATE=0 \
	SENTRY_SCRUB_CACHE_DIR=$(CURDIR)/var/test/scrub-cache

.PHONY: venv demo test test-sdk-lowest lint bench inbox dashboard package clean

$(APP_STAMP): pyproject.toml django-errorwarden/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -e './django-errorwarden[all]' -e .
	@touch $(APP_STAMP)

$(STAMP): $(APP_STAMP)
	@$(PY) -m pip install -q --disable-pip-version-check -e './django-errorwarden[all]' -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(APP_STAMP)  # events go to SENTRY_DSN's server, else the local inbox; its own database, var/demo.sqlite3
	@$(PY) manage.py demo

lint: venv
	$(PY) -m ruff check .

# The whole suite runs on the newest sentry-sdk the range allows (.venv's); tests/test_sdk_lowest.py,
# part of it, runs the outbox and SDK-seam tests again on the lowest (see test-sdk-lowest).
test: lint
	rm -rf var/test/scrub-cache
	$(TEST_ENV) $(PY) -m pytest
	$(TEST_ENV) DATABASE_URL=$(PG_URL) $(PY) -m pytest -m pg_app

test-sdk-lowest: venv  # tests/test_outbox.py + test_sdk_contract.py on sentry-sdk's floor (var/test/sdk-*)
	$(TEST_ENV) $(PY) -m pytest tests/test_sdk_lowest.py

bench: venv
	$(TEST_ENV) $(PY) -m bench

inbox: $(APP_STAMP)
	@$(PY) manage.py sentry_inbox

dashboard: $(APP_STAMP)  # the local inbox at http://127.0.0.1:8000/_errors/ (DEBUG on: never expose it)
	@SENTRY_DSN= $(PY) manage.py migrate -v 0 --skip-checks
	@SENTRY_DSN= DJANGO_DEBUG=true $(PY) manage.py runserver 127.0.0.1:8000

package: venv  # the app's distribution alone: one wheel and one sdist in dist/, checked by twine
	@rm -rf dist django-errorwarden/build
	$(PY) -m build --outdir dist django-errorwarden
	$(PY) -m twine check --strict dist/*

clean:
	rm -rf var/test dist
