# The two commands of the README. Both work on a fresh machine: they make the virtual
# environment and install what they need.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test install install-test

$(VENV)/bin/activate:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(VENV)/bin/activate
	$(PY) -m pip install --quiet -e .

install-test: $(VENV)/bin/activate
	$(PY) -m pip install --quiet -e '.[test]'
	@# The browser tests drive Debian's chromium (Playwright never downloads a browser here).
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	@# The remote-store tests also run on Debian's Virtuoso (tests/servers.py starts it; its own service stays off).
	command -v virtuoso-t >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource)

## Install, then serve the browser and SPARQL endpoint on the embedded store loaded with data/.
run: install
	$(VENV)/bin/kg serve

## Install, then run the whole test suite.
test: install-test
	$(VENV)/bin/python -m pytest
