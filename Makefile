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
  fonts-dejavu-core gettext \
  wixl msitools osslsigncode lintian gnupg dpkg-dev patchelf
# (the last line: building, signing and checking the installers, `make package` and
# tests/packaging)

.PHONY: help run demo test lint typecheck system-deps deps translations screenshots \
  bench bench-quick bench-growth reliability package package-check clean

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

$(STAMP): pyproject.toml constraints.txt installers/requirements-build.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[gui,server,dev]'
	$(PIP) install -q -r installers/requirements-build.txt
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
	$(SERVICES) $(PY) -m pytest -m "not packaging_slow" $(PYTEST_ARGS)

# The fault, tamper and abuse suite at full scale (docs/security.md; the reduced scale runs in
# `make test`): crash loops, network and disk faults, tampering, API abuse, secrets hygiene.
# Prints one table at the end: scenario, iterations, faults, lost, duplicated, wrong errors.
reliability: deps
	FIELDKIT_RELIABILITY_SCALE=full $(SERVICES) $(PY) -m pytest tests/reliability -q \
	  -o timeout=1500 $(PYTEST_ARGS)

# The demo: a central service on embedded SQLite in ./demo, a seeded team, the app opened as
# the worker (DEMO_AS=lead for the team lead). A private keyring session holds the demo
# laptops' device secrets, so each run builds the demo afresh.
run: deps
	FIELDKIT_NO_POSTGRES=1 FIELDKIT_WITH_DISPLAY=1 $(SERVICES) $(PY) -m fieldkit demo --dir demo \
	  $(if $(DEMO_AS),--as $(DEMO_AS))

demo: run

# The main screens rendered offscreen at a fixed size, in Swedish and English, from demo data.
screenshots: deps
	$(SERVICES) $(PY) -m fieldkit.ui.screenshots docs/screenshots

# The Linux package and a test-signed MSI, checksums signed with a throwaway key, all verified
# (installers/package.sh; output in dist/release).
package: deps
	installers/package.sh

# The packaging tests, including the ones that build the frozen app and the .deb with
# PyInstaller and lintian (minutes; `make test` leaves those out, CI runs this target too).
package-check: deps
	$(SERVICES) $(PY) -m pytest tests/packaging $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Benchmarks (never part of `make test`): every figure of the issues with its target, beside
# the baselines (plain SQLite, raw PostgreSQL, PouchDB replication), printed as one table and
# written as JSON to benchmarks/results/. See docs/performance.md. The peer sync engine is
# installed by npm under benchmarks/peer/ (never by the app); if npm fails the run says so.
BENCH_PEER := benchmarks/peer/node_modules/.package-lock.json

$(BENCH_PEER): benchmarks/peer/package.json benchmarks/peer/package-lock.json
	-cd benchmarks/peer && npm ci --no-audit --no-fund --loglevel=error

bench: deps $(BENCH_PEER)
	$(SERVICES) $(PY) benchmarks/run.py $(BENCH_ARGS)

bench-quick: deps $(BENCH_PEER)
	$(SERVICES) $(PY) benchmarks/run.py --quick $(BENCH_ARGS)

# How cost grows at the literal team size: search, case list and first sync at 1x, 4x and 10x
# the team (2.2 M records at 10x; about an hour). `make bench` runs the same at a tenth of it.
bench-growth: deps
	$(SERVICES) $(PY) benchmarks/run.py --only growth --growth-scale 1 $(BENCH_ARGS)
