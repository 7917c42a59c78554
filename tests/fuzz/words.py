"""`python -m tests.fuzz.words [N]`: N random instruction words (default 10**6) through the
decoder and the run loop — the C-facing half of `make test-asan`.

Half of the words are uniformly random (mostly illegal), half random inside the encoding of a
random instruction of the ISA table (match bits kept, the others random), so that execution is
exercised, not only the illegal-instruction fault.  Every word is pre-decoded by a load, in
programs of 1000 words; each program runs from its first word, and after every stop (fault,
halt, ebreak, the cycle cap) again from the word after the one it stopped on, so every word is
reached with whatever state the earlier ones left.  Data memory starts as random bytes.  The
chunks take turns on three machines: program checker off, warn and strict (with data symbols of
3000 bytes every 4 KiB), so the checker's C side runs under the sanitizers too.
"""
from __future__ import annotations

import sys

import numpy as np

from emulator import Machine
from emulator._native import lib
from emulator.program import LoadedProgram
from isa.tables import INSNS

CHUNK = 1000
CYCLES = 2_000
MODES = ("off", "warn", "strict")


def main(argv=None) -> int:
    n = int((argv or sys.argv[1:] or [10**6])[0])
    rng = np.random.default_rng(48)
    words = rng.integers(0, 1 << 32, size=n, dtype=np.uint64)
    match = np.array([v[1] for v in INSNS.values()], dtype=np.uint64)
    mask = np.array([v[2] for v in INSNS.values()], dtype=np.uint64)
    pick = rng.integers(0, len(match), size=n)
    shaped = rng.random(n) < 0.5
    words[shaped] = match[pick[shaped]] | (words[shaped] & ~mask[pick[shaped]] & 0xFFFFFFFF)
    words = words.astype(np.uint32)
    decoded = sum(lib.nr_decode_word(int(w)) != 0 for w in words)   # 0: NR_OP_ILLEGAL
    machines = [Machine(config={"mem_size": 1 << 16}, check=mode) for mode in MODES]
    data = rng.integers(0, 256, size=1 << 16, dtype=np.uint8).tobytes()
    symbols = {f"s{k}": ("data", k << 12) for k in range(16)}
    extents = {f"s{k}": (3000, "i8") for k in range(16)}
    issued = runs = findings = 0
    for start in range(0, n, CHUNK):
        chunk = words[start:start + CHUNK]
        m = machines[start // CHUNK % len(machines)]
        entry = 0
        while entry < 4 * len(chunk):
            # data only below 48 KiB: reads above it are never-written reads
            m.load(LoadedProgram(chunk, ((0, data[:3 << 14]),), entry, "<random words>",
                                 symbols=symbols, data=extents))
            m.run(max_cycles=CYCLES)
            findings += m.checker.total
            issued += m.instret
            runs += 1
            pc = m.pc
            entry = pc + 4 if entry < pc < 4 * len(chunk) else entry + 4
        if start // CHUNK % 100 == 0:
            print(f"  {start + len(chunk)} words, {issued} issued in {runs} runs", flush=True)
    print(f"{n} random words: {decoded} decode to an instruction; "
          f"{issued} instructions issued in {runs} runs; {findings} checker findings; no crash")
    return 0


if __name__ == "__main__":
    sys.exit(main())
