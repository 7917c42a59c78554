"""cffi build script of the C core (out-of-line API mode).

setup.py names `emulator/_build.py:ffibuilder` in `cffi_modules`, so `pip install` (editable or
wheel) compiles csrc/*.c into the extension module `emulator._nr48`.  The declarations live in
emulator/nr48.cdef.  Run this file directly to build in place for a quick experiment.
"""
from __future__ import annotations

import os
from pathlib import Path

from cffi import FFI

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
_CSRC = _ROOT / "csrc"

# -O3 for the vectorised MVM kernels; no -ffast-math (the datapath is integer and must stay
# bit-exact) and no -march=native (a wheel must run on any x86-64 / aarch64 of its platform).
CFLAGS = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter",
          "-Wno-unused-const-variable", "-Wno-unused-function"]
LDFLAGS: list[str] = []
if os.environ.get("NR48_SANITIZE"):   # `make test-asan`: a separate build in build/asan
    CFLAGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
              "-fno-sanitize-recover=undefined"] + CFLAGS[1:]
    LDFLAGS = ["-fsanitize=address,undefined"]


def _rel(p: Path) -> str:
    # setuptools wants source paths relative to the project root, where setup.py runs
    try:
        return os.path.relpath(p, Path.cwd())
    except ValueError:
        return str(p)


ffibuilder = FFI()
ffibuilder.cdef((_HERE / "nr48.cdef").read_text())
ffibuilder.set_source(
    "emulator._nr48",
    '#include "nr48.h"',
    sources=[_rel(p) for p in sorted(_CSRC.glob("*.c"))],
    include_dirs=[_rel(_CSRC)],
    depends=[_rel(p) for p in sorted(_CSRC.glob("*.h"))],
    extra_compile_args=CFLAGS,
    extra_link_args=LDFLAGS,
    libraries=["m", "pthread"],   # the analog model's log/sqrt/cos; the worker threads
)

if __name__ == "__main__":
    os.chdir(_ROOT)
    ffibuilder.compile(verbose=True)
