# Two commands for a new user: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SEED   ?= 20231
SUBJECTS ?= 140
BENCH_SUBJECTS ?= 1400
OUT    ?= build/release-dpn

.PHONY: run test synth bench clean

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

synth: $(STAMP)
	$(BIN)/cdisc-dpn synth --out build/synth-raw --subjects $(SUBJECTS) --seed $(SEED)

run: synth
	$(BIN)/cdisc-dpn run --study mappings --raw build/synth-raw --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# make bench: 1,400 subjects; make bench BENCH_SUBJECTS="1400 14000" adds the 14,000-subject size
bench: $(STAMP)
	$(BIN)/python benchmarks/run_benchmark.py --subjects $(BENCH_SUBJECTS)

clean:
	rm -rf build
