"""Snapshots are untrusted input: a crafted one is refused before the core can use a bad index,
and Machine.load() resets everything it documents."""
from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from emulator import Machine
from emulator._native import CoreError, ffi, lib
from emulator.machine import Snapshot
from isa.tables import CFG

ROOT = Path(__file__).resolve().parent.parent
README_PROGRAM = re.findall(r"```asm\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[0]
HEADER = 32                                    # magic + three uint64 sizes (csrc/snapshot.c)
CORE = ffi.sizeof("nr_core")


def _offset(field: str, core: int | None = None) -> int:
    if core is None:
        return HEADER + ffi.offsetof("nr_machine", field)
    return HEADER + ffi.offsetof("nr_machine", "core") + core * CORE + ffi.offsetof("nr_core", field)


def _busy_machine() -> tuple[Machine, bytes]:
    """A machine stopped while core 0 has a scan-out pending."""
    m = Machine().load(README_PROGRAM)
    while m.cores[0]._c.pend_kind != lib.NR_PEND_SCAN_OUT:
        m.step()
    return m, m.snapshot().data


def _patched(data: bytes, offset: int, fmt: str, value) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, offset, value)
    return bytes(buf)


CRAFTED = [
    ("pc unaligned", lambda: _offset("pc"), "<Q", 2),
    ("pc past the program", lambda: _offset("pc"), "<Q", 1 << 40),
    ("halted not a flag", lambda: _offset("halted"), "<Q", 7),
    ("pending kind unknown", lambda: _offset("pend_kind", 0), "<Q", 99),
    ("pending entries past the register", lambda: _offset("pend_lo", 0), "<Q", 254),
    ("pending length huge", lambda: _offset("pend_n", 0), "<Q", 1 << 40),
    ("scan-out address outside memory", lambda: _offset("pend_addr", 0), "<Q", (1 << 64) - 8),
    ("scan-out dtype unknown", lambda: _offset("pend_dtype", 0), "<Q", 9),
    ("phase count past the array", lambda: _offset("n_phase", 0), "<Q", 1000),
    ("phase code unknown", lambda: _offset("phase_code", 0), "<Q", 1 << 33),
    ("core window row past 128", lambda: _offset("cfg", 0) + 4 * list(CFG).index("row0"), "<i", 1000),
    ("core field negative", lambda: _offset("cfg", 5) + 4 * list(CFG).index("ncols"), "<i", -1),
    ("op counters disagree with instret", lambda: _offset("op_count"), "<Q", 12345),
    ("chain time about to wrap", lambda: _offset("chain_free") + 8, "<Q", (1 << 64) - 2),
    ("chip time NaN", lambda: _offset("age_s"), "<d", float("nan")),
    # a chip's place in a system and its link request (csrc/link.c, system.c)
    ("chip count zero", lambda: _offset("n_chips"), "<Q", 0),
    ("chip id past the count", lambda: _offset("chip_id"), "<Q", 3),
    ("link state unknown", lambda: _offset("link_state"), "<Q", 9),
    ("link peer past the count", lambda: _offset("link_peer"), "<Q", 5),
    ("link end about to wrap", lambda: _offset("link_end"), "<Q", (1 << 64) - 2),
    # bkey's registers (csrc/batch.c): 0 … 2^32 − 1, so no key product can overflow
    ("bkey stride past 2^32 - 1", lambda: _offset("key_stride", 3), "<Q", 1 << 32),
    ("bkey advance past 2^32 - 1", lambda: _offset("key_adv", 47), "<Q", (1 << 64) - 1),
]


@pytest.mark.parametrize("what, where, fmt, value", CRAFTED, ids=[c[0] for c in CRAFTED])
def test_a_crafted_snapshot_is_refused_and_the_machine_kept(what, where, fmt, value):
    m, good = _busy_machine()
    before = m.snapshot()
    bad = Snapshot(_patched(good, where(), fmt, value), m.program)
    with pytest.raises(CoreError, match="corrupted"):
        m.restore(bad)
    assert m.snapshot() == before                 # nothing of the bad snapshot was applied
    r = m.run(max_cycles=10**7)
    assert r.stop == "halt"


def test_an_untouched_snapshot_restores_and_runs_to_the_same_state():
    m, good = _busy_machine()
    end = Machine().load(README_PROGRAM)
    end.run()
    m.restore(Snapshot(good, m.program))
    m.run()
    assert m.snapshot() == end.snapshot()


def test_key_counters_and_registers_travel_with_a_snapshot():
    """Any key counter value is valid state; bkey's registers within their range too."""
    m, good = _busy_machine()
    data = _patched(_patched(good, _offset("k_smp", 0), "<Q", (1 << 64) - 1), _offset("key_stride", 0), "<Q",
                    (1 << 32) - 1)
    m.restore(Snapshot(data, m.program))
    assert m.cores[0].keys["sample"] == (1 << 64) - 1 and m.cores[0].keys["stride"] == (1 << 32) - 1
    assert m.snapshot().data == data


def test_load_resets_counters_chip_time_and_vector_elements():
    prog = ("        .data\na: .word 1, 2, 3, 4\nb: .zero 16\n        .text\n"
            "_start: setvli 4\n        la x1, a\n        la x2, b\n        vadd.i32 x2, x1, x1\n"
            "        li x3, 1\n        cage x3\n        halt\n")
    m = Machine().load(prog)
    fresh = Machine().load(prog).snapshot()
    m.run()
    assert m.op_counts and m.chip_time > 0 and int(m._native.m.ev_vec_elems) > 0
    m.load(prog)
    assert m.op_counts == {} and m.chip_time == 0 and int(m._native.m.ev_vec_elems) == 0
    assert m.snapshot() == fresh


def test_a_waiting_link_request_outside_memory_is_refused():
    m, good = _busy_machine()
    data = _patched(good, _offset("link_state"), "<Q", lib.NR_LINK_POSTED)
    data = _patched(data, _offset("link_op"), "<Q", _op("recv"))
    data = _patched(data, _offset("link_addr"), "<Q", (1 << 64) - 8)
    data = _patched(data, _offset("link_len"), "<Q", 64)
    with pytest.raises(CoreError, match="corrupted"):
        m.restore(Snapshot(data, m.program))


def _op(name: str) -> int:
    from emulator._native import OP_NAMES
    return OP_NAMES.index(name)
