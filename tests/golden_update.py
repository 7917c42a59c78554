"""`make golden-update`: rewrite the golden traces of every program and say what changed.

Each program gets its functional trace (tests/golden/NAME.ftrace.xz) and the SHA-256 of its timed
trace (NAME.timed.sha256).  Run it when a change to a program, the ISA or the model is meant to
change what programs do, and commit the result with the change.
"""
from __future__ import annotations

import lzma
import sys
import tempfile
from pathlib import Path

from emulator.trace.diff import diff_traces, render
from emulator.trace.textfmt import read_trace

from .golden_support import GOLDEN, PROGRAMS, body_hash, golden_paths, trace_text


def main() -> int:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    changed = 0
    wanted = set()
    for prog in PROGRAMS:
        ftrace, thash = golden_paths(prog)
        wanted |= {ftrace.name, thash.name}
        func = trace_text(prog, "functional")
        timed = body_hash(trace_text(prog, "timed")) + "\n"
        old_func = lzma.decompress(ftrace.read_bytes()).decode() if ftrace.exists() else None
        old_timed = thash.read_text(encoding="utf-8") if thash.exists() else None
        if old_func is None:
            print(f"{prog.name}: new golden trace ({func.count(chr(10))} lines)")
        elif old_func != func:
            with tempfile.TemporaryDirectory() as tmp:
                new = Path(tmp) / "new.ftrace"
                new.write_text(func, encoding="utf-8")
                res = diff_traces(read_trace(str(ftrace)), read_trace(str(new)))
            print(f"{prog.name}: functional trace changed")
            print("\n".join("    " + line for line in render(res, context=2)))
        elif old_timed != timed:
            print(f"{prog.name}: timing changed (functional trace identical)")
        else:
            continue
        changed += 1
        # no file name or time inside the .xz, so the same trace gives the same bytes
        ftrace.write_bytes(lzma.compress(func.encode(), preset=9))
        thash.write_text(timed, encoding="utf-8")
    for stale in sorted(p for p in GOLDEN.iterdir() if p.name not in wanted):
        print(f"{stale.name}: no such program any more, removed")
        stale.unlink()
        changed += 1
    total = sum(p.stat().st_size for p in GOLDEN.iterdir())
    print(f"golden traces: {len(PROGRAMS)} programs, {changed} updated, {total / 1024:.1f} KiB in tests/golden")
    return 0


if __name__ == "__main__":
    sys.exit(main())
