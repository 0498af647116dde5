# The two commands the README gives: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test install browser postgis lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# GDAL's GeoPackage validator; --no-deps because its `gdal` requirement would build GDAL from source
	$(PY) -m pip install -q --no-deps gdal-utils==3.13.3.0
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here).
browser:
	@test -x $(CHROMIUM) || { \
	  echo "Installing Debian chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# PostGIS for the team-backend tests: the server binaries come with postgresql-15, the extension here.
postgis:
	@test -f /usr/share/postgresql/15/extension/postgis.control || { \
	  echo "Installing Debian postgresql-15-postgis-3 for the PostGIS store tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql-15-postgis-3 >/dev/null; }

# pdftoppm (Debian poppler-utils): the site-report test renders the PDF's pages to PNG.
poppler:
	@command -v pdftoppm >/dev/null || { \
	  echo "Installing Debian poppler-utils for the report tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq poppler-utils >/dev/null; }

run: install
	$(PY) -m facilities init --quiet
	$(VENV)/bin/streamlit run app.py

test: install browser poppler postgis
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: install
	$(PY) bench/registry_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
