# MealAid: `make demo` runs a whole day of a demo city; `make test` runs every test.
# Each target sets itself up: a virtualenv in .venv, the project installed from this folder,
# and the translation catalogs compiled.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CATALOGS := $(patsubst %.po,%.mo,$(wildcard locales/*/LC_MESSAGES/messages.po))
DEMO_ARGS ?=

.PHONY: install demo test serve bench messages lint clean

install: $(STAMP) $(CATALOGS)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --domain messages --input-file $< --output-file $@ --locale $*

demo: install
	$(BIN)/mealaid demo $(DEMO_ARGS)

serve: install
	$(BIN)/mealaid serve

# Tests run in one process more than the machine has cores: many tests wait on a process they
# started (a server, a worker, a command), and the extra one keeps the cores busy meanwhile
# (2 cores: 103 s of idle CPU with two, 20 s with three). A process left without tests takes
# some from another's queue (worksteal): a few tests take half a minute, and one of them last
# must not keep a core idle.
# The tests start about two hundred Python processes (commands, servers, workers); each loads
# its modules' byte code from __pycache__ rather than compiling them again, even where the
# environment says not to write byte code (PYTHONDONTWRITEBYTECODE): pip compiled the installed
# packages when it installed them, and the project's own modules are compiled once, beside
# their sources (__pycache__ is ignored by git). A separate cache (PYTHONPYCACHEPREFIX) would
# leave pip's byte code unused and compile every installed package again on a fresh clone.
test: install
	$(BIN)/lint-imports
	$(BIN)/mypy
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $$(( $$(nproc) + 1 )) --dist worksteal

bench: install
	$(BIN)/python bench/orders.py

# Re-extract user-facing strings and merge them into the catalogs (then translate zh_CN).
messages: $(STAMP)
	$(BIN)/pybabel extract -F locales/babel.cfg -k N_ -k _ --no-location --sort-output \
		-o locales/messages.pot --project=MealAid core api mealaid bot billing kitchen routing usecases
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching \
		--ignore-obsolete

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) locales/*/LC_MESSAGES/*.mo
