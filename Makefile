# fieldkit — the two commands: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
SERVICES := tests/env/with-services.sh

# Debian packages the tests and the demo need: the keyring (Secret Service), D-Bus, PDF tools,
# Qt's runtime libraries for the offscreen platform, PostgreSQL, a fixed font set.
SYSTEM_PACKAGES := gnome-keyring dbus dbus-x11 libsecret-tools poppler-utils qpdf \
  postgresql-15 libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libxcb-cursor0 \
  fonts-dejavu-core gettext

.PHONY: help run demo test lint typecheck system-deps deps translations screenshots \
  bench bench-quick reliability package clean

help:
	@echo "make run    start the central service with demo data and open the app"
	@echo "make test   install what is needed and run the whole test suite"

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages: $$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[gui,server,dev]'
	touch $(STAMP)

deps: system-deps $(STAMP) translations

translations: $(STAMP)
	$(PY) -m fieldkit.i18n compile

lint: deps
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports

typecheck: deps
	$(VENV)/bin/mypy

test: deps
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(SERVICES) $(PY) -m pytest $(PYTEST_ARGS)

# The demo: a central service on embedded SQLite in ./demo, a seeded team, the app opened as
# the worker (DEMO_AS=lead for the team lead). A private keyring session holds the demo
# laptops' device secrets, so each run builds the demo afresh.
run: deps
	FIELDKIT_NO_POSTGRES=1 FIELDKIT_WITH_DISPLAY=1 $(SERVICES) $(PY) -m fieldkit demo --dir demo \
	  $(if $(DEMO_AS),--as $(DEMO_AS))

demo: run

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
