# Two commands for a fresh machine:
#   make demo   - install into .venv and start the console with a demo registry (SQLite, outbox)
#   make test   - install into .venv and run the whole test suite
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed
TEST_STAMP = $(VENV)/.installed-test

.PHONY: demo test install install-test translations extract-messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP) $(TEST_STAMP)

install: $(STAMP) translations

install-test: $(TEST_STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d emergency/translations

demo: install
	EMERGENCY_ENV=development DATABASE_URL=$${DATABASE_URL:-sqlite:///$(CURDIR)/instance/demo.db} \
	  $(BIN)/emergency demo

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -k lazy_gettext -o emergency/translations/messages.pot .
	$(BIN)/pybabel update -i emergency/translations/messages.pot -d emergency/translations -l fr --no-fuzzy-matching
