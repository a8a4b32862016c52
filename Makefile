# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
# The demo tries the satisfaction-callback loop at once: a callback a minute after a repair is
# closed, at any hour (production defaults: 1440 minutes, 09:00-20:00); the SERVICEDESK_ variables
# override them.
DEMO_CALLBACK_DELAY_MINUTES ?= 1
DEMO_CALLING_HOURS ?= 00:00-23:59

.PHONY: run test lint format translations clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Migrate, load the demo data on first start, and serve on http://127.0.0.1:5000
run: $(STAMP)
	$(BIN)/servicedesk db upgrade
	$(BIN)/servicedesk demo load --if-empty
	$(BIN)/servicedesk demo logins
	@echo "servicedesk is serving on http://$(HOST):$(PORT) (Ctrl+C stops it)"
	SERVICEDESK_SCHEDULER_IN_PROCESS=1 \
	SERVICEDESK_CALLBACK_DELAY_MINUTES=$${SERVICEDESK_CALLBACK_DELAY_MINUTES:-$(DEMO_CALLBACK_DELAY_MINUTES)} \
	SERVICEDESK_CALLING_HOURS=$${SERVICEDESK_CALLING_HOURS:-$(DEMO_CALLING_HOURS)} \
	$(BIN)/waitress-serve --host $(HOST) --port $(PORT) --threads 8 --call servicedesk:create_app

## The whole suite (set SERVICEDESK_TEST_DATABASE_URL to run it on PostgreSQL)
test: $(STAMP)
	scripts/ensure-chromium
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Re-extract the messages and update both catalogs (then translate and compile)
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _l -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d translations

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis
