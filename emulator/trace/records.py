"""Trace records as the C core writes them (`nr_trace_rec` in csrc/nr48.h).

One record is 48 bytes.  The C core appends records to a buffer; Python drains it in bulk
into numpy arrays of REC_DTYPE and turns them into text, JSONL or VCD.

    kind   meaning                       cycle           a              b                 other fields
    insn   an instruction retired        issue cycle     value → rd     memory address    rd+1 (0 none), mlen/digest of memory written, stall
    wake   cpon starts a core            issue cycle     end cycle      -                 core
    scan_in / scan_out                   issue cycle     end cycle      memory address    core, pc, mlen/digest of the data moved, stall = queueing
    mvm / smp                            issue cycle     end cycle      direction         core, pc, mlen/digest of the outputs
    prog   cprog                         issue cycle     end cycle      pulses            core, pc, mlen = cells, digest of the codes, stall = queueing
    end    a core operation completes    end cycle       kind of op     memory address    core; scan_out: mlen/digest of memory written
    power_off  cpoff                     issue cycle     -              -                 core
    fault  the run faulted               cycle           fault code     detail            pc, word
    phase  a core enters a phase         phase start     phase code     -                 core (VCD only: not in text traces)
    batch  bmvm / bsmp                   issue cycle     end cycle      dir | smp<<2 | BN<<8   core, pc, mlen/digest of all outputs, stall = queueing
    bvec   outputs of ≤ 4 vectors of the batch just before it   issue cycle   digests 0, 1   digests 2, 3   core, pc = first vector, word = count, mlen = bytes per vector
    ifire  ifrun / ifstep                issue cycle     end cycle      dir | step<<8     core, pc, mlen/digest of the outputs, stall = spikes fired
    update opu                           issue cycle     end cycle      pulses            core, pc, stall = phases with a selected cell
    refresh  oprefresh                   issue cycle     end cycle      pulses            core, pc, stall = queueing
"""
from __future__ import annotations

import numpy as np

REC_DTYPE = np.dtype([
    ("cycle", "<u8"), ("a", "<u8"), ("b", "<u8"),
    ("pc", "<u4"), ("word", "<u4"), ("stall", "<u4"), ("mlen", "<u4"), ("digest", "<u4"),
    ("kind", "<u2"), ("rd", "u1"), ("core", "u1"),
])
assert REC_DTYPE.itemsize == 48

KINDS = ("insn", "wake", "scan_in", "scan_out", "mvm", "smp", "prog", "end", "power_off",
         "fault", "phase", "batch", "bvec", "ifire", "update",
         "refresh")
KIND = {name: i for i, name in enumerate(KINDS)}
CORE_START_KINDS = ("wake", "scan_in", "scan_out", "mvm", "smp", "prog", "batch", "ifire", "update", "refresh")
DIRS = ("fwd", "bwd", "rec")


def fnv1a32(data: bytes) -> int:
    """The digest the C core stores for memory and register payloads (FNV-1a, 32 bits)."""
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h
