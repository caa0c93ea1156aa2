# The two commands a newcomer needs are `make run` and `make test`; everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in emails, SMS and notices point here; give it explicitly when HOST is 0.0.0.0 or a proxy
# sits in front (make run HOST=0.0.0.0 PORTAL_BASE_URL=http://portal.lan:8000).
PORTAL_BASE_URL ?= http://$(HOST):$(PORT)
DEV := DJANGO_SETTINGS_MODULE=portal.settings.dev PORTAL_BASE_URL=$(PORTAL_BASE_URL)
TEST := DJANGO_SETTINGS_MODULE=portal.settings.test

.PHONY: install run test lint format messages makemessages migrate seed clean

$(STAMP): requirements.lock requirements-dev.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.lock
	@touch $(STAMP)

install: $(STAMP)

messages: install
	@$(PY) manage.py compile_catalogues > /dev/null

makemessages: install
	$(PY) manage.py makemessages --locale zh_Hans --locale en --ignore '.venv/*' --ignore 'var/*' --no-obsolete --no-location
	$(PY) manage.py makemessages --domain djangojs --locale zh_Hans --locale en --ignore '.venv/*' --ignore 'var/*' --no-obsolete --no-location
	@# Sorted by msgid and without source locations, so branches that add strings rarely conflict.
	@for po in locale/*/LC_MESSAGES/*.po; do msgattrib --sort-output --no-wrap -o $$po $$po; done

migrate: install
	$(DEV) $(PY) manage.py migrate --noinput

seed: migrate messages
	$(DEV) $(PY) manage.py seed_demo

run: seed
	@echo
	@echo "  Wangrun portal: $(PORTAL_BASE_URL)/   (staff admin: $(PORTAL_BASE_URL)/admin/)"
	@echo
	$(DEV) $(PY) -m uvicorn portal.asgi:application --host $(HOST) --port $(PORT) --ws portal.websocket_protocol:FrameWritingProtocol --no-access-log

# The browser tests run in sessions of their own, beside the rest when DATABASE_URL is set
# (tests/sessions.sh says why and how).
test: messages
	@tests/sessions.sh $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m djlint templates --lint
	$(VENV)/bin/lint-imports --no-cache  # the layers and boundaries of DESIGN.md (pyproject.toml)
	$(TEST) $(PY) -m mypy $(wildcard */services.py */selectors.py)

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .
	$(PY) -m djlint templates --reformat

clean:
	rm -rf var $(VENV)
