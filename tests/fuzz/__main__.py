"""`python -m tests.fuzz [--n N] [--seed S] [--only TARGET]`: see tests/fuzz/__init__.py."""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from .targets import fuzz_assembler, fuzz_images, fuzz_snapshots

MEMORY_BUDGET = 1 << 30


def _limit_memory() -> int:
    """RLIMIT_AS = the address space in use now + 1 GiB: an input that allocates more gets a
    MemoryError, which counts as a finding."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    limit = pages * os.sysconf("SC_PAGE_SIZE") + MEMORY_BUDGET
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    return limit


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz")
    ap.add_argument("--n", type=int, default=int(os.environ.get("FUZZ_N", "2000")),
                    help="inputs per target (default: $FUZZ_N or 2000)")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "1")))
    ap.add_argument("--only", choices=["assembler", "images", "snapshots"])
    args = ap.parse_args(argv)
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        # AddressSanitizer reserves terabytes of shadow address space: no RLIMIT_AS under it
        budget = "no address space limit (AddressSanitizer)"
    else:
        budget = f"address space limit {_limit_memory() >> 20} MiB (start + 1 GiB)"
    print(f"fuzzing {args.n} inputs per target, seed {args.seed}, {budget}, 5 s per input",
          flush=True)
    reports = []
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "assembler"):
            reports.append(fuzz_assembler(args.n, args.seed, Path(tmp)))
            print(reports[-1].line(), flush=True)
        if args.only in (None, "images"):
            reports.append(fuzz_images(args.n, args.seed))
            print(reports[-1].line(), flush=True)
        if args.only in (None, "snapshots"):
            reports.append(fuzz_snapshots(args.n, args.seed))
            print(reports[-1].line(), flush=True)
    findings = [f"{r.target}: {f}" for r in reports for f in r.findings]
    for f in findings[:50]:
        print("FINDING", f)
    print(f"{sum(r.inputs for r in reports)} inputs in {time.time() - t0:.0f} s, "
          f"{len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
