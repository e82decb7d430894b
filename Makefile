# Two commands for a new user: `make run` and `make test`.
# Every install goes through requirements.txt (exact versions with their file hashes); `make lock` refreshes it.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements.txt
# Tools pinned beside the application: the installer, the build backend (the package is installed
# without build isolation, so its build is pinned too) and the lock tool itself.
LOCK_TOOLS := pip setuptools wheel uv
SEED   ?= 20231
SUBJECTS ?= 140
BENCH_SUBJECTS ?= 1400
OUT    ?= build/release-dpn

.PHONY: run test synth bench clean lock lock-check browser

$(STAMP): setup.cfg pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cdisc-dpn needs Python 3.11 or newer: rm -rf .venv; make PYTHON=/path/to/python3.11")'
	awk '/^pip==/{p=1} p{print} p && !/\\$$/{exit}' $(LOCK) > $(VENV)/pip-lock.txt
	$(BIN)/python -m pip install --quiet -r $(VENV)/pip-lock.txt
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

synth: $(STAMP)
	$(BIN)/cdisc-dpn synth --out build/synth-raw --subjects $(SUBJECTS) --seed $(SEED)

run: synth
	$(BIN)/cdisc-dpn run --study mappings --raw build/synth-raw --out $(OUT)

# The browser tests need Chromium: installed from Debian's packages when missing (the same script CI uses).
browser:
	@sh .ci/ensure-chromium

# Two workers, one test file each at a time (module fixtures run once): about half the serial time.
test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# make bench: 1,400 subjects; make bench BENCH_SUBJECTS="1400 14000" adds the 14,000-subject size
bench: $(STAMP)
	$(BIN)/python benchmarks/run_benchmark.py --subjects $(BENCH_SUBJECTS)

# Re-resolve the lock after a change to setup.cfg, keeping every pin that still fits;
# `make lock UPGRADE=--upgrade` moves every package to its newest allowed version.
lock: $(STAMP)
	printf '%s\n' $(LOCK_TOOLS) | $(BIN)/uv pip compile setup.cfg - --extra test --universal \
	    --python-version 3.11 --no-annotate --generate-hashes --custom-compile-command 'make lock' --quiet -o $(LOCK) $(UPGRADE)

# Fails when setup.cfg and the lock disagree (also checked by tests/test_lock.py).
lock-check: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_lock.py

clean:
	rm -rf build
