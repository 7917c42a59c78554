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

.PHONY: venv run test test-slow gen gen-check bench golden-update fuzz test-asan clean

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

# inputs per fuzz target (FUZZ_N=100000 make fuzz for the long run; FUZZ_SEED picks the inputs)
FUZZ_N  ?= 2000
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --n $(FUZZ_N)

# the C core built with AddressSanitizer + UBSan in a copy of the tree (build/asan), so the
# normal build is untouched; Python itself is not instrumented, hence libasan preloaded
ASAN    := build/asan
ASAN_RUN = LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	   ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ASAN_WORDS ?= 1000000
test-asan:
	rm -rf $(ASAN)/src && mkdir -p $(ASAN)/src
	tar --exclude=./.venv --exclude=./build --exclude='./emulator/_nr48*' -cf - . | tar -xf - -C $(ASAN)/src
	test -x $(ASAN)/venv/bin/python || $(PY) -m venv $(ASAN)/venv
	cd $(ASAN)/src && NR48_SANITIZE=1 ../venv/bin/python -m pip install -q -e '.[test]' >../install.log 2>&1 \
	  || { cat $(ASAN)/install.log; exit 1; }
	cd $(ASAN)/src && $(ASAN_RUN) ../venv/bin/python -m pytest -q -p no:cacheprovider \
	  tests/test_core_*.py tests/test_machine.py tests/test_snapshot_untrusted.py tests/test_robustness.py \
	  tests/test_checker.py tests/test_batch.py tests/test_system.py tests/test_threads.py tests/test_batch_keys.py
	cd $(ASAN)/src && $(ASAN_RUN) ../venv/bin/python -m tests.fuzz.words $(ASAN_WORDS)
	cd $(ASAN)/src && $(ASAN_RUN) ../venv/bin/python -m tests.fuzz --n $(FUZZ_N) --only snapshots
	cd $(ASAN)/src && $(ASAN_RUN) ../venv/bin/python -m tests.fuzz --n $(FUZZ_N) --only images

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
