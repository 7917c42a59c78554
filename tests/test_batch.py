"""Batches are a speed choice: bmvm/bsmp give the outputs of BN separate hin/mvm/vout sequences
bit for bit on both models (property test over shapes, bit widths, directions, readouts and B),
charge the pipeline schedule of docs/machine.md, and the row-strided vector ops match numpy."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asm import assemble
from emulator import Machine

SCAN_IN = {"fwd": "hin", "bwd": "vin", "rec": "hin"}
SCAN_OUT = {"fwd": "vout", "bwd": "hout", "rec": "hout"}


def _bytes(a) -> str:
    return ", ".join(str(int(v)) for v in np.ravel(a))


def pair(w, x, *, direction="fwd", core=0, cfg=(), sample=False, age_ms=3_600_000, halfs=False):
    """(unbatched source, batched source): the same weights, inputs and configuration; the
    unbatched one loops hin/mvm/vout per vector, the batched one issues one bmvm/bsmp."""
    nrows, ncols = w.shape
    nb, nin = x.shape
    nout = ncols if direction == "fwd" else nrows
    idt = "i8" if x.min() < 0 else "u8"
    mask = 1 << core
    head = [".data", f"w: .byte {_bytes(w)}", f"x: .byte {_bytes(x)}", ".align 2",
            f"y: .zero {nb * nout * 2}", ".text",
            f"_start: li x1, {mask}", "cpon x1", f"ccfg.nrows x1, {nrows}", f"ccfg.ncols x1, {ncols}"]
    head += [f"ccfg.{k} x1, {v}" for k, v in cfg]
    head += ["la x2, w", f"cprog c{core}, x2", "sync x0", f"li x9, {age_ms}", "cage x9"]
    op = "smp" if sample else "mvm"
    loop = []
    for b in range(nb):
        loop += [f"la x3, x + {b * nin}", f"{SCAN_IN[direction]}.{idt} c{core}, x3",
                 f"{op}.{direction} x1", f"la x4, y + {b * nout * 2}",
                 f"{SCAN_OUT[direction]}.i16 c{core}, x4", "sync x1"]
    batched = [f"li x5, {nb}", "bcount x5", f"li x6, {nout * 2}", f"li x7, {nin}",
               "bstride x6, x7, x0", "la x3, x", "la x4, y",
               f"b{op}.{direction}.{idt}.i16 c{core}, x4, x3", "sync x1"]
    tail = ["halt"]
    return "\n".join(head + loop + tail) + "\n", "\n".join(head + batched + tail) + "\n"


def run_src(src, model="ideal", seed=1, trace=False):
    m = Machine(model=model, seed=seed)
    m.load(assemble(src))
    r = m.run()
    assert r.ok, r
    return m


def outputs(m, n):
    return m.mem(m.sym("y"), n, "i16").copy()


@st.composite
def cases(draw):
    direction = draw(st.sampled_from(["fwd", "bwd", "rec"]))
    nrows = draw(st.integers(1, 24))
    ncols = draw(st.integers(1, 40)) if direction != "rec" else draw(st.integers(1, 24))
    nb = draw(st.integers(1, 6))
    inbits = draw(st.integers(1, 8))
    insigned = draw(st.integers(0, 1))
    outbits = draw(st.integers(1, 8))
    readout = draw(st.sampled_from([0, 0, 1, 2]))
    sample = draw(st.booleans()) and readout == 0
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 128, size=(nrows, ncols))
    nin = ncols if direction == "bwd" else nrows
    mag = (1 << max(inbits - insigned, 1)) - 1
    x = rng.integers(-mag if insigned else 0, mag + 1, size=(nb, nin))
    cfg = [("inbits", inbits), ("insigned", insigned), ("outbits", outbits), ("readout", readout),
           ("gshift", 6), ("gain", 1 + seed % 7), ("stepmax", 40), ("noise", 20)]
    core = draw(st.sampled_from([0, 4, 13, 47]))
    return dict(w=w, x=x, direction=direction, cfg=cfg, sample=sample, core=core), seed


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), model=st.sampled_from(["ideal", "analog"]))
def test_batched_outputs_equal_unbatched(case, model):
    kw, seed = case
    plain, batched = pair(**kw)
    n = kw["x"].shape[0] * (kw["w"].shape[1] if kw["direction"] == "fwd" else kw["w"].shape[0])
    a, b = run_src(plain, model, seed), run_src(batched, model, seed)
    np.testing.assert_array_equal(outputs(a, n), outputs(b, n))
    # the same work is counted: MVMs/samples, energy events and the final registers
    ca, cb = a.cores[kw["core"]], b.cores[kw["core"]]
    for key in ("mvms", "samples", "prog_cells", "prog_pulses", "prog_failed", "prog_outside"):
        assert ca.counters[key] == cb.counters[key], key
    ea, eb = ca.events, cb.events
    for key in ("line_pulses", "integrations", "compares", "decrements", "macs", "scan_shifts", "passes"):
        assert ea[key] == eb[key], key
    np.testing.assert_array_equal(np.asarray(ca.h), np.asarray(cb.h))
    np.testing.assert_array_equal(np.asarray(ca.v), np.asarray(cb.v))
    if kw["x"].shape[0] >= 3 and kw["direction"] != "rec":   # rec shares H: no overlap
        assert b.cycle < a.cycle


def scan_shifts(core, v_side):
    """Register segments a scan of core `core` shifts (docs/machine.md, Scan chains)."""
    p = core % 6
    if p <= 2:
        return 2 * p + 2 if v_side else 2 * p + 1
    return 2 * (5 - p) + 1 if v_side else 2 * (5 - p) + 2


def _schedule(m, core, direction, nb, t0, t_mvm, integ, readout_at):
    """The pipeline of docs/machine.md (Batches) in a few lines: per vector the scan-in of the
    next one starts when this one has integrated, its scan-out follows on the same chain, and
    the next readout waits for that scan-out."""
    shifts = lambda v: 256 * scan_shifts(core, v) * m.config["scan_div"]  # noqa: E731
    t_in, t_out = shifts(direction == "bwd"), shifts(direction == "fwd")
    chain = t0 + t_in
    start = chain
    for b in range(nb):
        end = start + t_mvm
        release = end if direction == "rec" else start + integ
        nxt = 0
        if b + 1 < nb and direction != "rec":
            nxt = max(chain, release) + t_in
            chain = nxt
        chain = max(chain, end) + t_out
        if b + 1 < nb and direction == "rec":
            nxt = chain + t_in
            chain = nxt
        if b + 1 < nb:
            start = max(nxt, end)
            if direction != "rec" and chain > start + readout_at:
                start = chain - readout_at
    return chain


@pytest.mark.parametrize("direction", ["fwd", "bwd", "rec"])
@pytest.mark.parametrize("inbits,outbits,core", [(4, 8, 0), (1, 2, 5), (8, 4, 8)])
def test_batch_time_is_the_documented_pipeline(direction, inbits, outbits, core):
    """bmvm's cost column: core and chain busy for the pipeline schedule, per vector the
    neuron phases of mvm (t_cds, pulses of t_sample + t_integ, outbits·t_comp per pass)."""
    rng = np.random.default_rng(inbits)
    w = rng.integers(-5, 6, size=(16, 16))
    x = rng.integers(0, 2, size=(7, 16))
    cfg = [("inbits", inbits), ("insigned", 0), ("outbits", outbits)]
    _, batched = pair(w, x, direction=direction, core=core, cfg=cfg, age_ms=0)
    m = Machine(config="board")   # the per-vector phases below are the board's (two rounds, 4-bit phases)
    m.load(assemble(batched))
    pc_b = next(a for a, (_f, line, _c) in m.program.lines.items()
                if batched.splitlines()[line - 1].startswith("bmvm"))
    while m.pc != pc_b:
        m.step()
    m.step()
    t0 = m.cycle - 1
    c = m.cores[core]
    p = m.config
    mag = inbits
    passes = [min(mag, 4)] + ([mag - 4] if mag > 4 else [])
    nd, pulse = p["neuron_div"], p["t_sample"] + p["t_integ"]
    t_mvm = integ = readout_at = 0
    for i, bits in enumerate(passes):
        inp = nd * (p["t_cds"] + 2 * ((1 << bits) - 1) * pulse)
        if i == 0:
            readout_at = inp
        integ = t_mvm + inp
        t_mvm += inp + nd * outbits * p["t_comp"]
    assert c.busy_until == _schedule(m, core, direction, 7, t0, t_mvm, integ, readout_at)


def test_batch_faults_name_the_problem():
    w = np.ones((4, 4), int)
    x = np.ones((3, 4), int)
    _, batched = pair(w, x, age_ms=0)
    m = Machine(config={"mem_size": 1 << 16})
    bad = batched.replace("la x4, y\n", "li x4, 65530\n")
    m.load(assemble(bad))
    r = m.run()
    assert r.fault == "mem_bounds"
    m = Machine()
    m.load(assemble(batched.replace("li x5, 3", "li x5, 0")))
    assert m.run().fault == "bad_config"


def test_batch_trace_has_one_record_per_batch_and_finds_the_vector(tmp_path):
    from emulator.trace.capture import TraceRecorder
    from emulator.trace.diff import diff_traces, render
    from emulator.trace.textfmt import read_trace

    rng = np.random.default_rng(0)
    w = rng.integers(-9, 10, size=(8, 8))
    x = rng.integers(0, 7, size=(9, 8))
    _, batched = pair(w, x, cfg=[("gshift", 3), ("insigned", 0)])
    x2 = x.copy()
    x2[6, 3] += 1
    _, batched2 = pair(w, x2, cfg=[("gshift", 3), ("insigned", 0)])
    paths = []
    for i, src in enumerate((batched, batched2)):
        p = tmp_path / f"b{i}.trace"
        m = Machine()
        m.load(assemble(src))
        rec = TraceRecorder(m, p, form="functional").start()
        rec.finish(m.run())
        paths.append(p)
    text = paths[0].read_text()
    assert text.count(" batch ") == 1 and text.count(" bvec ") == 3
    report = "\n".join(render(diff_traces(read_trace(str(paths[0])), read_trace(str(paths[1])))))
    assert "at vector 6 " in report, report


@pytest.mark.parametrize("inbits", [8, 4])   # two phases (SAR rounds, then combined) and one
def test_portable_and_vectorised_paths_agree(tmp_path, inbits):
    """NR48_SIMD=portable runs the portable loops of the batch kernel, the read noise and the
    SAR rounding (avx2, avx512: those levels at most); a batched and an unbatched program give
    the same bytes at every level (levels the host lacks fall back to a lower one)."""
    import subprocess
    import sys

    rng = np.random.default_rng(11)
    w = rng.integers(-100, 101, size=(40, 70))
    x = rng.integers(0, 1 << inbits, size=(9, 40))
    plain, batched = pair(w, x, cfg=[("inbits", inbits), ("insigned", 0), ("gshift", 9)])
    outs = {}
    for name, src in (("plain", plain), ("batched", batched)):
        (tmp_path / f"{name}.s").write_text(src)
    code = ("import sys, numpy as np\nfrom emulator import Machine\n"
            "for name in ('plain', 'batched'):\n"
            "    m = Machine(model='analog', seed=5).load(sys.argv[1] + '/' + name + '.s')\n"
            "    assert m.run().ok\n"
            "    np.save(sys.argv[1] + '/' + name + sys.argv[2] + '.npy', m.mem(m.sym('y'), 9 * 70, 'i16'))\n")
    levels = ("", "portable", "avx2", "avx512")
    for simd in levels:
        env = dict(__import__("os").environ, NR48_SIMD=simd)
        subprocess.run([sys.executable, "-c", code, str(tmp_path), simd or "simd"], env=env, check=True)
    for name in ("plain", "batched"):
        for simd in [s or "simd" for s in levels]:
            outs[name, simd] = np.load(tmp_path / f"{name}{simd}.npy")
    first = outs["plain", "simd"]
    for key, v in outs.items():
        np.testing.assert_array_equal(v, first, err_msg=str(key))


@pytest.mark.parametrize("wmax", [40, 127])
@pytest.mark.parametrize("direction", ["fwd", "bwd"])
def test_analog_batch_kernel_both_packings(wmax, direction):
    """Weights within ±40 codes keep every G⁺ − G⁻ inside int16 (the batch kernel pairs two rows
    of differences); ±127 do not (it pairs G⁺ with G⁻): both equal the per-vector MVMs."""
    rng = np.random.default_rng(wmax)
    w = rng.integers(-wmax, wmax + 1, size=(50, 90))
    w[0, 0] = wmax                                     # the extreme code is there
    nin = 90 if direction == "bwd" else 50
    x = rng.integers(0, 16, size=(7, nin))
    plain, batched = pair(w, x, direction=direction, cfg=[("insigned", 0), ("gshift", 7)])
    n = 7 * (90 if direction == "fwd" else 50)
    a, b = run_src(plain, "analog", 9), run_src(batched, "analog", 9)
    np.testing.assert_array_equal(outputs(a, n), outputs(b, n))
    g = a.cores[0].conductances.astype(np.int32)
    d = np.abs(g[0:100:2, :90] - g[1:100:2, :90]).max()
    assert (d <= 32767) == (wmax == 40)
