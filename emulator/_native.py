"""Thin checked layer over the cffi extension `emulator._nr48` (raw `ffi` / `lib`).

Everything that crosses into C goes through here: numpy arrays are checked for dtype and
C-contiguity before `ffi.from_buffer`, C memory comes back as zero-copy numpy views, and C
error codes become Python exceptions.  Names and sizes (cores, config fields, timing
parameters, faults, phases) are read from C, never duplicated.
"""
from __future__ import annotations

import math

import numpy as np

try:
    from emulator._nr48 import ffi, lib
except ImportError as e:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        "the C core extension emulator._nr48 is not built; run `pip install -e .` "
        f"(or `make venv`) to compile csrc/ ({e})") from e

NUM_CORES = lib.NR_NUM_CORES
NUM_REGS = lib.NR_NUM_REGS
CORE_ROWS = lib.NR_CORE_ROWS
CORE_COLS = lib.NR_CORE_COLS
LOGICAL_ROWS = lib.NR_LOGICAL_ROWS
REG_LEN = lib.NR_REG_LEN
NUM_CHAINS = lib.NR_NUM_CHAINS
NO_DETAIL = lib.NR_NO_DETAIL


def _names(fn, count: int) -> tuple[str, ...]:
    return tuple(ffi.string(fn(i)).decode() for i in range(count))


STOP_NAMES = _names(lib.nr_stop_name, lib.NR_STOP_COUNT)
FAULT_NAMES = _names(lib.nr_fault_name, lib.NR_FAULT_COUNT)
PHASE_NAMES = _names(lib.nr_phase_name, lib.NR_PHASE_COUNT)
OP_NAMES = _names(lib.nr_op_mnemonic, lib.NR_OP_COUNT)
PARAM_NAMES = _names(lib.nr_param_name, lib.nr_param_count())
PARAM_MAX = lib.nr_param_max()
PROFILE_COUNTERS = _names(lib.nr_prof_counter_name, lib.NR_PF_COUNT)


def _cfg_fields() -> dict[str, tuple[int, int, int, int]]:
    lo, hi, de = ffi.new("int32_t*"), ffi.new("int32_t*"), ffi.new("int32_t*")
    out = {}
    for i in range(lib.NR_CFG_COUNT):
        name = ffi.string(lib.nr_cfg_field_name(i)).decode()
        if not name:        # an unused code (the escape): no field
            continue
        lib.nr_cfg_field_range(i, lo, hi, de)
        out[name] = (i, lo[0], hi[0], de[0])
    return out


CFG_FIELDS = _cfg_fields()   # name → (index, lo, hi, reset value)
CFG_NAMES = tuple(CFG_FIELDS)

_ERRORS = {
    lib.NR_ERR_CONFIG: "configuration value out of range",
    lib.NR_ERR_NOMEM: "out of memory",
    lib.NR_ERR_MODEL: "model not implemented",
    lib.NR_ERR_SEGMENT: "data segment does not fit data memory",
    lib.NR_ERR_ENTRY: "entry point outside the program or not word-aligned",
    lib.NR_ERR_ARG: "argument out of range",
    lib.NR_ERR_SNAPSHOT: "snapshot does not match this machine (build, memory size or configuration)",
    lib.NR_ERR_PROGRAM: f"program larger than the {lib.NR_MAX_CODE_WORDS}-instruction code memory",
    lib.NR_ERR_CORRUPT: "snapshot is corrupted: a field holds a state no run can produce "
                        "(pc, a pending operation, a core configuration, counters or times)",
}


class CoreError(Exception):
    """A C core call was refused; the message says why."""


def check(rc: int, what: str) -> None:
    """Raise CoreError for a negative C return code."""
    if rc < 0:
        raise CoreError(f"{what}: {_ERRORS.get(rc, f'error {rc}')}")


def as_buffer(array: np.ndarray, dtype, what: str):
    """`ffi.from_buffer` of a numpy array, after checking its dtype and C-contiguity."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{what}: expected a numpy array, got {type(array).__name__}")
    if array.dtype != np.dtype(dtype):
        raise TypeError(f"{what}: expected dtype {np.dtype(dtype)}, got {array.dtype}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{what}: the array must be C-contiguous")
    return ffi.from_buffer(_CTYPES[array.dtype.str.lstrip("<=|")] + "[]", array)


_CTYPES = {"u1": "uint8_t", "i1": "int8_t", "u2": "uint16_t", "i2": "int16_t", "u4": "uint32_t",
           "i4": "int32_t", "u8": "uint64_t", "i8": "int64_t"}


class CArray(np.ndarray):
    """An ndarray over C memory that keeps the memory's owner alive (views and slices too).

    Arithmetic on it gives plain ndarrays: only views of the C memory carry the owner."""

    def __array_finalize__(self, obj) -> None:
        self._owner = getattr(obj, "_owner", None)

    def __array_wrap__(self, arr, context=None, return_scalar=False):
        arr = np.asarray(arr).view(np.ndarray)
        return arr[()] if return_scalar else arr

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))


def view(cdata, dtype, shape, owner, writeable: bool = True) -> np.ndarray:
    """A zero-copy numpy view of C memory (a cdata array or pointer + explicit shape);
    `owner` is kept alive as long as the view or any slice of it exists."""
    dt = np.dtype(dtype)
    count = math.prod(shape)
    arr = np.frombuffer(ffi.buffer(cdata, count * dt.itemsize), dtype=dt).reshape(shape)
    arr = arr.view(CArray)
    arr._owner = owner
    if not writeable:
        arr.flags.writeable = False
    return arr


def decode_op(word: int) -> str:
    """Mnemonic of an instruction word ("illegal" if it is none)."""
    return OP_NAMES[lib.nr_decode_word(word & 0xFFFFFFFF)]


class NativeMachine:
    """Owns one `nr_machine` (allocated by nr_new, freed by nr_delete when collected)."""

    def __init__(self, cfg) -> None:
        err = ffi.new("int *")
        m = lib.nr_new(cfg, err)
        check(err[0], "machine initialisation")
        self.m = ffi.gc(m, lib.nr_delete, size=int(ffi.sizeof("nr_machine")))

    def load(self, words: np.ndarray, segments: list[tuple[int, bytes]], entry: int) -> None:
        words = np.ascontiguousarray(words, dtype=np.uint32)
        keep = [ffi.from_buffer(bytes(data)) for _, data in segments]
        segs = ffi.new("nr_segment[]", max(len(segments), 1))
        for i, ((addr, data), buf) in enumerate(zip(segments, keep)):
            segs[i].addr = addr
            segs[i].size = len(data)
            segs[i].data = ffi.cast("const uint8_t *", buf)
        rc = lib.nr_load(self.m, as_buffer(words, np.uint32, "program words"), len(words), segs,
                         len(segments), entry)
        check(rc, "program load")

    # ------------------------------------------------------------ tracing

    trace_sink = None   # callable taking a numpy array of trace records, while tracing

    def trace_enable(self, sink, capacity: int = 1 << 16) -> None:
        from .trace.records import REC_DTYPE
        if REC_DTYPE.itemsize != ffi.sizeof("nr_trace_rec"):
            raise CoreError("trace record layout of the C core and emulator/trace/records.py differ")
        check(lib.nr_trace_enable(self.m, capacity), "trace buffer")
        self._trace_buf = np.empty(capacity, dtype=REC_DTYPE)
        self.trace_sink = sink

    def trace_disable(self) -> None:
        self.trace_drain()
        lib.nr_trace_disable(self.m)
        self.trace_sink = None

    def trace_drain(self) -> None:
        if self.trace_sink is None:
            return
        buf = self._trace_buf
        # a batch (bmvm) can grow the core's buffer past this one's size: drain until empty
        while True:
            n = lib.nr_trace_drain(self.m, ffi.cast("nr_trace_rec *", ffi.from_buffer(buf)), len(buf))
            if not n:
                break
            self.trace_sink(buf[:n].copy())

    def run(self, until: int, max_insns: int = 0) -> int:
        """nr_run, draining the trace buffer whenever it fills (so no record is lost)."""
        until = min(until, 2**64 - 1)
        if self.trace_sink is None:
            return lib.nr_run(self.m, until, max_insns)
        start = self.m.instret
        while True:
            left = max_insns - (self.m.instret - start) if max_insns else 0
            if max_insns and left <= 0:   # the budget ran out exactly at a drain pause
                stop = self.m.result.stop = lib.NR_STOP_STEP
                break
            stop = lib.nr_run(self.m, until, left)
            self.trace_drain()
            if stop != lib.NR_STOP_TRACE_FULL:
                break
        return stop

    def profile_enable(self) -> None:
        """Per-instruction counters from now until the next load (nr_profile_enable)."""
        check(lib.nr_profile_enable(self.m), "profile (load a program first)")

    def profile_data(self) -> np.ndarray | None:
        """A copy of the counters: code words × PROFILE_COUNTERS (uint64), or None when off."""
        n = ffi.new("uint64_t *")
        p = lib.nr_profile_data(self.m, n)
        if p == ffi.NULL:
            return None
        k = len(PROFILE_COUNTERS)
        buf = ffi.buffer(p, n[0] * k * 8)
        return np.frombuffer(buf, dtype=np.uint64).reshape(n[0], k).copy()

    def snapshot(self) -> bytes:
        size = lib.nr_snapshot_size(self.m)
        buf = bytearray(size)
        check(lib.nr_snapshot_save(self.m, ffi.from_buffer(buf), size), "snapshot")
        return bytes(buf)

    def restore(self, data: bytes) -> None:
        check(lib.nr_snapshot_load(self.m, ffi.from_buffer(data), len(data)), "restore")

    def core_status(self, core: int):
        st = ffi.new("nr_core_status *")
        check(lib.nr_core_status_get(self.m, core, st), f"core {core}")
        return st
