"""`make bench`: every benchmark of the project in one run, figures printed side by side.

Speed goals are checked here, never by timed tests.  Each module's main() prints its own table.
"""
from __future__ import annotations

import importlib
import platform
import sys
import time

BENCHES = ["tests.bench.asm_bench", "tests.bench.core_bench", "tests.bench.trace_bench", "tests.bench.batch_bench",
           "tests.bench.scale_bench", "tests.bench.sweep_bench", "tests.bench.system_bench"]


def main() -> int:
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    t0 = time.perf_counter()
    for name in BENCHES:
        print(f"\n== {name.rsplit('.', 1)[-1]} ==")
        importlib.import_module(name).main()
    print(f"\nall benchmarks: {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
