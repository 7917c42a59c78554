# Each target wraps one command.  `make run` and `make test` work on a fresh machine with only
# Python, gcc and make: they create .venv, install the project (building the C core) and go.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
SOURCES := pyproject.toml setup.py $(wildcard csrc/*.c csrc/*.h emulator/_build.py emulator/*.cdef)
# The ISA table and its generator: an edit regenerates the derived files (isa/gen.py writes only
# the files whose text changes) before anything is built or tested, so no build uses stale headers.
GEN_INPUTS := isa/nr48.isa isa/table.py isa/gen.py
GEN_STAMP  := $(VENV)/.gen-stamp

.PHONY: venv run test test-slow gen gen-check bench golden-update clean

$(GEN_STAMP): $(GEN_INPUTS)
	@mkdir -p $(VENV)
	$(PY) -m isa.gen
	@touch $@

$(STAMP): $(SOURCES) $(GEN_STAMP)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "installing the project into $(VENV) (log: $(VENV)/install.log) ..."
	@$(BIN)/python -m pip install -q -e '.[test]' >$(VENV)/install.log 2>&1 \
	  || { cat $(VENV)/install.log; echo "make: pip install failed (log above)"; exit 1; }
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/neurram run programs/demo.s --dump y_fwd --dump x_bwd --dump h_rec

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

gen:
	$(PY) -m isa.gen

gen-check:
	$(PY) -m isa.gen --check

bench: $(STAMP)
	$(BIN)/python -m tests.bench

golden-update: $(STAMP)
	$(BIN)/python -m tests.golden_update

clean:
	rm -rf $(VENV) build *.egg-info emulator/_nr48*.so emulator/_nr48.c
