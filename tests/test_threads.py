"""Worker threads (`threads` in the chip configuration) never change a result, and the fast
write-verify keeps the per-cell statistics of the reference algorithm (`wv_reference = 1`)."""
from __future__ import annotations

import numpy as np
import pytest

from emulator import Machine
from emulator._native import lib
from emulator.trace.capture import config_hash

WAVE = """
        li      x1, (1 << 48) - 1
        cpon    x1
        sync    x0
        ccfg.nrows x1, 32
        ccfg.ncols x1, 64
        la      x2, w
        cprog   c0, x2
        cprog   c7, x2
        sync    x0
        ccfg.nrows x1, 128
        ccfg.ncols x1, 256
        li      x2, 3
wave:   mvm.fwd x1
        sync    x0
        smp.bwd x1
        sync    x0
        addi    x2, x2, -1
        bnez    x2, wave
        halt
        .data
w:      .zero 32 * 64
"""


def run_wave(model: str, threads: int):
    rng = np.random.default_rng(5)
    m = Machine(model=model, seed=3, config={"threads": threads}).load(WAVE)
    m.write_mem(m.sym("w"), rng.integers(-100, 101, size=32 * 64).astype(np.int8))
    m.step(5)
    for c in m.cores:
        if c.index not in (0, 7):
            c.set_weights(rng.integers(-127, 128, size=(128, 256)))
        c.h[:128] = rng.integers(-7, 8, size=128)
        c.v[:] = rng.integers(-7, 8, size=256)
    r = m.run()
    assert r.ok, r.message
    return (np.stack([c.v.copy() for c in m.cores]), np.stack([c.h.copy() for c in m.cores]),
            np.stack([c.conductances.copy() for c in m.cores[:8]]), r.cycles,
            [c.events for c in m.cores])


@pytest.mark.parametrize("model", ["ideal", "analog"])
def test_results_are_identical_for_any_thread_count(model):
    ref = run_wave(model, 1)
    for threads in (2, 3, 0):
        got = run_wave(model, threads)
        for a, b in zip(ref, got):
            if isinstance(a, np.ndarray):
                assert np.array_equal(a, b)
            else:
                assert a == b


def test_thread_count_is_not_part_of_the_trace_identity():
    a, b = Machine(config={"threads": 1}), Machine(config={"threads": 2})
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash(Machine(config={"wv_reference": 0}))


def program_core(reference: int, seed: int):
    rng = np.random.default_rng(11)
    w = rng.integers(-127, 128, size=(128, 256)).astype(np.int8)
    src = """
        li x1, 1
        cpon x1
        la x2, w
        cprog c0, x2
        sync x0
        halt
        .data
w:      .zero 128 * 256
"""
    m = Machine(model="analog", seed=seed, config={"wv_reference": reference, "threads": 2}).load(src)
    m.write_mem(m.sym("w"), w)
    assert m.run().ok
    c = m.cores[0]
    lsb = m.config["g_lsb_ns"]
    t = np.zeros((256, 256))
    wi = w.astype(np.int64)
    t[0::2] = np.maximum(wi, 0) * lsb
    t[1::2] = np.maximum(-wi, 0) * lsb
    g = c.programmed_conductances.astype(float)
    on = t > 0
    return {"outside": c.counters["prog_outside"] / t.size,
            "pulses": c.cell_pulses[on].mean(),
            "pulses_p95": np.percentile(c.cell_pulses[on], 95),
            "residue_sd": (g - t)[on].std(), "residue_mean": (g - t)[on].mean(),
            "off_mean": g[~on].mean()}


def test_fast_write_verify_keeps_the_reference_statistics():
    fast, ref = program_core(0, 4), program_core(1, 4)
    assert abs(fast["pulses"] - ref["pulses"]) < 0.02 * ref["pulses"]
    assert abs(fast["pulses_p95"] - ref["pulses_p95"]) <= 1
    assert abs(fast["residue_sd"] - ref["residue_sd"]) < 0.03 * ref["residue_sd"]
    assert abs(fast["residue_mean"] - ref["residue_mean"]) < 15
    assert abs(fast["off_mean"] - ref["off_mean"]) < 15
    assert abs(fast["outside"] - ref["outside"]) < 0.002


def test_threads_out_of_range_is_a_config_error():
    from emulator.config import ConfigError
    with pytest.raises(ConfigError, match="threads"):
        Machine(config={"threads": 5000})
    with pytest.raises(ConfigError, match="wv_reference"):
        Machine(config={"wv_reference": 2})
    with pytest.raises(ConfigError, match="wv_serial"):
        Machine(config={"wv_serial": 2})


def _batch_outputs(src: str, model: str, threads: int, nout: int):
    from asm import assemble

    m = Machine(model=model, seed=7, config={"threads": threads})
    m.load(assemble(src))
    parts: list = []
    m._native.trace_enable(parts.append, 4096)   # the batch records with their per-vector digests
    r = m.run()
    m._native.trace_disable()
    assert r.ok, r.message
    recs = np.concatenate(parts)
    c = m.cores[0]
    return (m.mem(m.sym("y"), nout, "i16").copy(), c.counters, c.events, m.cycle,
            recs.tobytes(), c.keys, np.asarray(c.h).tobytes() + np.asarray(c.v).tobytes(), m.chip_time,
            int(lib.nr_host_ahead(m._native.m)))   # vectors run ahead: how the host ran it, not a result


@pytest.mark.parametrize("model,direction,sample,age_ms,readout", [
    ("analog", "fwd", False, 0, 0), ("analog", "bwd", False, 3_600_000, 0), ("analog", "fwd", True, 3_600_000, 0),
    ("ideal", "fwd", False, 0, 0), ("ideal", "bwd", True, 0, 0),
    ("ideal", "fwd", False, 0, 1), ("analog", "bwd", False, 3_600_000, 1), ("analog", "rec", False, 3_600_000, 0)])
def test_batches_computed_ahead_on_threads_equal_the_loop(model, direction, sample, age_ms, readout):
    """bmvm/bsmp with enough work run their vectors ahead on the worker threads: the outputs,
    counts, events, cycles and trace records are those of one thread, and the outputs those of
    the per-vector loop on an aged chip.  At age 0 the batch crosses relaxation epochs (the first
    at 1 ms), so the threads' results are dropped from that vector on and the rest is computed
    in order."""
    from tests.test_batch import pair

    rng = np.random.default_rng(3)
    nb, nrows, ncols = 400, 32, 40 if direction != "rec" else 32
    w = rng.integers(-127, 128, size=(nrows, ncols))
    nin = ncols if direction == "bwd" else nrows
    x = rng.integers(0, 16, size=(nb, nin))
    cfg = [("inbits", 4), ("insigned", 0), ("gshift", 6), ("noise", 20), ("outbits", 6), ("readout", readout),
           ("stepmax", 40)]
    plain, batched = pair(w, x, direction=direction, cfg=cfg, sample=sample, age_ms=age_ms)
    nout = nb * (ncols if direction == "fwd" else nrows)
    loop = _batch_outputs(plain, model, 1, nout) if age_ms or model == "ideal" else None
    one = _batch_outputs(batched, model, 1, nout)
    two = _batch_outputs(batched, model, 2, nout)
    if age_ms or model == "ideal":   # at age 0 the loop's slower timing meets other epochs
        np.testing.assert_array_equal(loop[0], two[0])
    np.testing.assert_array_equal(one[0], two[0])
    assert one[1:7] == two[1:7]      # counts, events, cycles, trace, key counters, registers
    assert (one[8], two[8]) == (0, nb)   # and the threads did compute the batch ahead
    if model == "analog" and age_ms == 0:
        assert two[7] > 1.2e-3      # the batch ran past the epochs at 1 ms and 1.155 ms


SERIAL = """
        li x1, 3
        cpon x1
        ccfg.nrows x1, 48
        ccfg.ncols x1, 96
        la x2, w
        cprog c0, x2
        cprog c1, x2
        sync x0
        li x3, 2
again:  mvm.fwd x1
        sync x0
        li x4, 700
        cage x4
        addi x3, x3, -1
        bnez x3, again
        la x2, w2
        cprog c0, x2                # reprogrammed: its cells' cached draws no longer apply
        sync x0
        cage x4
        mvm.fwd x1
        sync x0
        halt
        .data
w:      .zero 48 * 96
w2:     .zero 48 * 96
"""


def run_serial(serial: int, threads: int):
    rng = np.random.default_rng(8)
    m = Machine(model="analog", seed=6, config={"wv_serial": serial, "threads": threads}).load(SERIAL)
    m.write_mem(m.sym("w"), rng.integers(-127, 128, size=48 * 96).astype(np.int8))
    m.write_mem(m.sym("w2"), rng.integers(-127, 128, size=48 * 96).astype(np.int8))
    parts: list = []
    m._native.trace_enable(parts.append, 4096)
    r = m.run()
    m._native.trace_disable()
    assert r.ok, r.message
    return (np.concatenate(parts).tobytes(), m.cycle, [c.conductances.copy() for c in m.cores[:2]],
            [c.programmed_conductances.copy() for c in m.cores[:2]], [c.v.copy() for c in m.cores[:2]],
            [c.counters for c in m.cores[:2]])


@pytest.mark.parametrize("model,sample", [("analog", False), ("ideal", True), ("analog", True)])
def test_strided_keys_computed_ahead_equal_one_thread(model, sample):
    """A batch with a bkey stride (KS = 3, KA = 5) keys vector b with k0 + 3b on the worker
    threads exactly as in order on one thread."""
    from tests.test_batch import pair

    rng = np.random.default_rng(4)
    nb, nrows, ncols = 300, 32, 40
    w = rng.integers(-127, 128, size=(nrows, ncols))
    x = rng.integers(0, 16, size=(nb, nrows))
    cfg = [("inbits", 4), ("insigned", 0), ("gshift", 6), ("noise", 20), ("outbits", 6)]
    _, batched = pair(w, x, cfg=cfg, sample=sample, age_ms=3_600_000)
    op = "bsmp" if sample else "bmvm"
    head, tail = batched.split(f"{op}.fwd", 1)
    batched = head + "li x12, 3\nli x13, 5\nbkey c0, x12, x13\n" + f"{op}.fwd" + tail
    one = _batch_outputs(batched, model, 1, nb * ncols)
    two = _batch_outputs(batched, model, 2, nb * ncols)
    np.testing.assert_array_equal(one[0], two[0])
    assert one[1:7] == two[1:7] and (one[8], two[8]) == (0, nb)
    assert two[5]["sample" if sample else "mvm"] == 5       # the batch left the key counter at k0 + KA


def test_wv_serial_changes_no_result():
    """wv_serial = 1 runs write-verify and relaxation as the previous release did (one thread,
    simulated again at completion, every relaxation draw made again per epoch, which the 700 ms
    ages make several): the same trace, conductances, outputs and counts as the default."""
    old = run_serial(1, 1)
    for threads in (1, 2):
        new = run_serial(0, threads)
        assert old[0] == new[0] and old[1] == new[1]
        for a, b in zip(old[2:], new[2:]):
            for x, y in zip(a, b):
                assert (np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y)
    assert config_hash(Machine(config={"wv_serial": 1})) == config_hash(Machine())
