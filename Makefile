# Mairie — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install lint format messages clean-demo bench

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Mairie needs Python 3.11 or newer")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Set up, load the demo collectivité (idempotent) and serve it on http://127.0.0.1:8000
demo: $(STAMP)
	$(PY) -m mairie migrate --no-input -v0
	$(PY) -m mairie demo --serve

## The whole test suite (SQLite by default, PostgreSQL when DATABASE_URL is set)
test: $(STAMP)
	MAIRIE_TESTING=1 $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: $(STAMP)
	$(PY) -m mairie makemessages -l en --ignore=.venv --ignore=var --no-obsolete
	$(PY) -m mairie compilemessages --ignore=.venv

## Benchmarks (bench/*.py; bench/_*.py are shared helpers). One group: make bench BENCH='bench/appointments_*.py'
BENCH ?= bench/[!_]*.py
bench: $(STAMP)
	@ls bench/*.py >/dev/null 2>&1 || { echo "No benchmark yet (bench/*.py)."; exit 0; }; \
	for b in $(BENCH); do echo "== $$b"; $(PY) $$b || exit 1; done

clean-demo:
	rm -rf var/
