# The two commands the README gives: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test install browser postgis report-tools fonts test-locale lint bench bench-app bench-compare mutate clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# GDAL's GeoPackage validator; --no-deps because its `gdal` requirement would build GDAL from source
	$(PY) -m pip install -q --no-deps gdal-utils==3.13.3.0
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need, installed only when missing (sudo when not root).
# $(call apt-need,CHECK,PACKAGES,WHY)
define apt-need
	@$(1) || { \
	  echo "Installing Debian $(2) $(3)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(2) >/dev/null; }
endef

# Chromium for the browser tests (Playwright cannot download its own browser here).
browser:
	$(call apt-need,test -x $(CHROMIUM),chromium,for the browser tests)

# PostGIS for the team-backend tests: the server binaries come with postgresql-15, the extension here.
postgis:
	$(call apt-need,test -f /usr/share/postgresql/15/extension/postgis.control,postgresql-15-postgis-3,for the PostGIS store tests)

# pdftoppm renders report PDFs to PNG in the tests; Nanum fonts draw Korean names in figures and PDFs.
report-tools:
	$(call apt-need,command -v pdftoppm >/dev/null && fc-list | grep -qi nanum,poppler-utils fonts-nanum,for the site reports)

# Nanum fonts for `make run` as `make test` has them (report-tools), but never a failed run for want of them: where
# apt (or a password-less sudo) is missing, one line says what the reports will lack.
fonts:
	@fc-list 2>/dev/null | grep -qi nanum || { command -v apt-get >/dev/null && { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo "sudo -n" ); echo "Installing Debian fonts-nanum for Korean in reports"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-nanum >/dev/null; \
	  }; } 2>/dev/null || true
	@fc-list 2>/dev/null | grep -qi nanum || echo "No Korean font (fonts-nanum could not be installed): Hangul in report figures and PDFs is drawn as empty boxes."

# The app answers this computer only; `make run LISTEN=0.0.0.0` opens it to the network (set up a sign-in
# first, docs/login.md: without one anyone who reaches the port can edit the registry).
LISTEN ?= 127.0.0.1

run: install fonts
	$(PY) -m tracker init --quiet
	$(VENV)/bin/streamlit run app.py --server.address $(LISTEN)

# The suite runs far from UTC and in a language other than English (CI too: .ci/run is `make test`), so that
# nothing passes only on a UTC, English machine: capture dates are UTC dates, whatever the machine's zone.
TEST_TZ ?= America/Los_Angeles
TEST_LOCALE ?= de_DE.UTF-8

# The tests' time zone (tzdata) and locale (generated with localedef when missing).
test-locale:
	$(call apt-need,command -v localedef >/dev/null && test -f /usr/share/zoneinfo/$(TEST_TZ),locales tzdata,for the tests' time zone and locale)
	@want=$$(echo '$(TEST_LOCALE)' | tr A-Z a-z | tr -d -); \
	locale -a 2>/dev/null | tr A-Z a-z | tr -d - | grep -qx "$$want" || { \
	  echo "Generating the $(TEST_LOCALE) locale for the tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO localedef -i $(firstword $(subst ., ,$(TEST_LOCALE))) -c -f UTF-8 $(TEST_LOCALE); }

# Two pytest-xdist workers (the CI machine has two cores): about half the time of one. The project's modules are
# compiled once first: every `python -m tracker` and Streamlit server a test starts would otherwise compile them
# again where PYTHONDONTWRITEBYTECODE is set (0.4 s a process).
TEST_WORKERS ?= 2

test: install browser report-tools postgis test-locale
	$(PY) -m compileall -q facilities imagery tracker ui app.py >/dev/null
	TZ=$(TEST_TZ) LANG=$(TEST_LOCALE) LC_ALL=$(TEST_LOCALE) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# The quick variant of every bench (small sizes, one or two repeats); `$(PY) -m bench.<name>` for full figures.
bench: install browser postgis report-tools
	$(PY) -m bench.registry_bench --quick
	$(PY) -m bench.frames_bench --quick
	$(PY) -m bench.postgis_bench --quick
	$(PY) -m bench.imagery_chip_bench --quick
	$(PY) -m bench.imagery_network_bench --quick
	$(PY) -m bench.report_bench --quick
	$(PY) -m bench.text_bench --quick
	$(PY) -m bench.app_bench --quick
	$(PY) -m bench.compare_bench --quick
	$(PY) -m bench.dating_bench --quick
	$(PY) -m bench.timelapse_bench --quick
	$(PY) -m bench.watch_bench --quick

# Mutation testing of the pure core ([tool.mutmut] in pyproject.toml): minutes per module, so on demand or
# nightly, never on every push. MUTANTS narrows it, e.g. make mutate MUTANTS='facilities.dates* imagery.tiles*'.
# Prints killed/run per module (exit 1 under 85 %); the survivors are explained in tests/MUTATION.md.
MUTANTS ?=
mutate: install
	$(VENV)/bin/mutmut run $(foreach m,$(MUTANTS),'$(m)')
	$(PY) -m tests.support.mutation_scores

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache mutants

bench-app: install browser
	$(PY) -m bench.app_bench

# Switching the compared date in the browser (fake Wayback on 127.0.0.1) vs a re-mounting map.
bench-compare: install browser
	$(PY) -m bench.compare_bench
