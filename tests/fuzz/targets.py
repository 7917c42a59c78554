"""The three fuzz targets and their mutators (see tests/fuzz/__init__.py)."""
from __future__ import annotations

import random
import signal
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asm import AsmError, assemble, assemble_file
from asm.image import Image, ImageError
from emulator import Machine
from emulator._native import CoreError, ffi
from emulator.machine import Snapshot

ROOT = Path(__file__).resolve().parents[2]
TIME_LIMIT_S = 5.0
RUN_CYCLES = 20_000          # an accepted image or snapshot runs this long at most

# pieces the assembler mutator splices in: the shapes that once broke it, and ordinary syntax
TOKENS = [
    "0x1_", "0b_", "1__0", "0x", "-", "~", "(", ")", "<<", ">>", "%", "/", "*", "'", '"', "\\",
    "9" * 5000, "(1<<63)*(1<<63)*", "+a" * 1200, ".equ q, q+1\n", ".macro m a\n \\a\n.endm\n",
    ".include \"" + "a" * 300 + "\"\n", ".include \"inc.s\"\n", ".npy \"huge.npy\"\n",
    ".npy \"small.npy\"\n", ".zero 67108864\n", ".zero 4294967296\n", ".org 0xfffffff0\n",
    ".align 1048576\n", ".data\n", ".text\n", ".word ", ".byte ", ".ascii \"", "x1", "c47",
    "x99", "c48", "li x1, ", "la x2, ", "mvm.fwd x1\n", "sync x1\n", "halt\n", "\n", ":", ",",
    "\0", "\udcff", "é", "\t", "#", ";", "\r\n", ".", "_start:", "label:", "= ",
]


@dataclass
class Report:
    target: str
    inputs: int = 0
    rejected: int = 0            # ended with the project's own error
    slowest_s: float = 0.0
    findings: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.target:9s} {self.inputs:7d} inputs, {self.rejected:7d} refused with the "
                f"project's error, slowest {self.slowest_s:.2f} s, {len(self.findings)} findings")


class _Timeout(BaseException):
    pass


def _alarm(_sig, _frame):
    raise _Timeout()


def _guarded(report: Report, seed: int, fn, expected) -> None:
    """Run one input under the time limit; classify how it ended."""
    report.inputs += 1
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    t0 = time.perf_counter()
    try:
        fn()
    except expected:
        report.rejected += 1
    except _Timeout:
        report.findings.append(f"seed {seed}: took more than {TIME_LIMIT_S} s")
    except BaseException as e:     # MemoryError, RecursionError, anything unexpected
        if isinstance(e, KeyboardInterrupt):
            raise
        report.findings.append(f"seed {seed}: {type(e).__name__}: {str(e)[:200]}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        report.slowest_s = max(report.slowest_s, time.perf_counter() - t0)


# ---------------------------------------------------------------- assembler

def _corpus() -> list[str]:
    texts = [p.read_text() for p in sorted((ROOT / "programs").glob("*.s"))]
    return [t for t in texts if len(t) < 20_000] or texts


def _mutate_text(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 6)):
        i = rng.randrange(len(text) + 1)
        j = min(len(text), i + rng.randint(0, 40))
        k = rng.random()
        if k < 0.4:
            text = text[:i] + rng.choice(TOKENS) + text[i:]
        elif k < 0.6:
            text = text[:i] + text[j:]
        elif k < 0.75:
            text = text[:i] + text[i:j] * rng.randint(2, 50) + text[j:]
        elif k < 0.9:
            text = text[:i] + chr(rng.randrange(1, 0x3000)) + text[i + 1:]
        else:
            lines = text.split("\n")
            rng.shuffle(lines)
            text = "\n".join(lines)
    return text


def fuzz_assembler(n: int, seed: int, workdir: Path) -> Report:
    """Mutated programs, assembled from a file in `workdir` (which holds .include and .npy
    files, among them a .npy header declaring 2**40 elements)."""
    (workdir / "inc.s").write_text("        nop\n")
    np.save(workdir / "small.npy", np.arange(8, dtype=np.int8))
    head = b"{'descr': '<i1', 'fortran_order': False, 'shape': (1099511627776,), }"
    head += b" " * (63 - len(head) % 64) + b"\n"
    (workdir / "huge.npy").write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head)
    corpus = _corpus()
    report = Report("assembler")
    src = workdir / "fuzz.s"
    for k in range(n):
        rng = random.Random(seed * 1_000_003 + k)
        text = _mutate_text(rng, rng.choice(corpus))

        def one():
            if rng.random() < 0.5:
                assemble(text, "fuzz.s", include_dirs=[ROOT / "programs"])
            else:
                src.write_text(text, encoding="utf-8", errors="surrogateescape")
                assemble_file(src, include_dirs=[ROOT / "programs"])
        _guarded(report, k, one, AsmError)
    return report


# ---------------------------------------------------------------- images

def _mutate_bytes(rng: random.Random, data: bytes, hot: int) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(min(len(buf), hot)) if rng.random() < 0.7 else rng.randrange(len(buf))
        k = rng.random()
        if k < 0.5:
            buf[i] = rng.randrange(256)
        elif k < 0.8:
            struct.pack_into("<I", buf, min(i, len(buf) - 4),
                             rng.choice([0, 1, 0xFFFFFFFF, 0x80000000, rng.getrandbits(32)]))
        else:
            del buf[i:i + rng.randint(1, 16)]
            if len(buf) < 8:
                buf += bytes(8)
    return bytes(buf)


def fuzz_images(n: int, seed: int) -> Report:
    """Mutated images (header, segment table, payload), checksum fixed up half of the time so
    that the loader's later checks are reached, and loaded and run when accepted."""
    images = [assemble_file(p).image.to_bytes() for p in sorted((ROOT / "programs").glob("*.s"))[:8]]
    machine = Machine()
    report = Report("images")
    for k in range(n):
        rng = random.Random(seed * 1_000_033 + k)
        data = _mutate_bytes(rng, rng.choice(images), 24 + 16 * 4)
        if rng.random() < 0.5 and len(data) >= 24:
            import zlib
            buf = bytearray(data)
            buf[20:24] = bytes(4)
            struct.pack_into("<I", buf, 20, zlib.crc32(bytes(buf)))
            data = bytes(buf)

        def one():
            image = Image.from_bytes(data, "fuzz.img")
            machine.load(image)
            machine.run(max_cycles=RUN_CYCLES)
        _guarded(report, k, one, (ImageError, CoreError))
    return report


# ---------------------------------------------------------------- snapshots

def fuzz_snapshots(n: int, seed: int) -> Report:
    """Snapshots of a running program with fields of the machine and of a core overwritten;
    an accepted one is run (under `make test-asan` that run is where a bad index would show)."""
    prog = (ROOT / "programs" / "demo.s")
    machine = Machine().load(prog)
    bases = []
    for steps in (0, 5, 12, 20, 40):
        machine.load(prog)
        machine.step(steps)
        bases.append(machine.snapshot().data)
    head = 32
    core0 = head + ffi.offsetof("nr_machine", "core")
    core_size = ffi.sizeof("nr_core")
    core_hot = ffi.offsetof("nr_core", "h")
    report = Report("snapshots")
    for k in range(n):
        rng = random.Random(seed * 1_000_037 + k)
        buf = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.4:
                off = head + rng.randrange(ffi.offsetof("nr_machine", "core"))
            else:
                off = core0 + rng.randrange(48) * core_size + rng.randrange(core_hot)
            off &= ~3 if rng.random() < 0.8 else ~0
            val = rng.choice([0, 1, 2, 255, 256, 1 << 31, (1 << 32) - 1, (1 << 64) - 1,
                              rng.getrandbits(64), rng.getrandbits(10)])
            struct.pack_into("<Q", buf, min(off, len(buf) - 8), val)
        snap = Snapshot(bytes(buf), machine.program)

        def one():
            machine.restore(snap)
            machine.run(max_cycles=RUN_CYCLES)
        _guarded(report, k, one, CoreError)
    return report
