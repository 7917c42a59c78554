"""Fuzzers over the untrusted inputs: assembly source, binary images and snapshots.

`make fuzz` (`python -m tests.fuzz`) runs FUZZ_N inputs per target; `make test` runs a few
hundred of each (tests/test_fuzz_smoke.py).  Every input must end normally or with the
project's own error type (AsmError, ImageError, CoreError); anything else, an input taking more
than 5 s, or an allocation past the memory budget (RLIMIT_AS set to the process's size at start
+ 1 GiB, so a MemoryError) is a finding, printed with the seed that reproduces it.
The mutators are seeded (FUZZ_SEED) so every run is reproducible.
"""
