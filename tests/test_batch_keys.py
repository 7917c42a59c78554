"""Batches over sequences key their noise as the loop over the sequences does (bkey, docs/machine.md
Batches): a property test over the batch size B, the steps T and the ops K of a step (each an MVM
or a sample on one of two cores) comparing the unbatched program — sequence 0 steps 0 … T−1,
then sequence 1, … — with one bmvm/bsmp per step and op over all B sequences, KS = the ops of
that kind per sequence on that core, KA = 1 (1 + (B−1)·KS on a sequence's last op of that kind
on that core).  Outputs, MVM and sample counts, key counters, energy events and the final
registers are equal on both models."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asm import assemble
from emulator import Machine

NROWS, NCOLS = 6, 8
CORES = (0, 7)
AGE_MS = 3_600_000       # an aged chip: one relaxation epoch for both programs' timings


def _bytes(a) -> str:
    return ", ".join(str(int(v)) for v in np.ravel(a))


def programs(B, T, ops, seed):
    """(unbatched source, batched source, x shape) for B sequences of T steps of the ops
    [(core, "mvm" | "smp")]."""
    rng = np.random.default_rng(seed)
    K = len(ops)
    x = rng.integers(-7, 8, size=(B, T, K, NROWS))
    w = {c: rng.integers(-60, 61, size=(NROWS, NCOLS)) for c in CORES}
    row_in, row_out = T * K * NROWS, T * K * NCOLS * 2
    head = [".data"] + [f"w{c}: .byte {_bytes(w[c])}" for c in CORES] + [
        f"x: .byte {_bytes(x)}", ".align 2", f"y: .zero {B * row_out}", ".text",
        f"_start: li x1, {sum(1 << c for c in CORES)}", "cpon x1", f"ccfg.nrows x1, {NROWS}",
        f"ccfg.ncols x1, {NCOLS}", "ccfg.inbits x1, 4", "ccfg.gshift x1, 3", "ccfg.noise x1, 30"]
    head += [f"la x2, w{c}\ncprog c{c}, x2" for c in CORES]
    head += ["sync x0", f"li x9, {AGE_MS}", "cage x9"]
    off_in = lambda s, t, j: s * row_in + (t * K + j) * NROWS              # noqa: E731
    off_out = lambda s, t, j: s * row_out + (t * K + j) * NCOLS * 2         # noqa: E731
    plain = []
    for s in range(B):
        for t in range(T):
            for j, (c, kind) in enumerate(ops):
                plain += [f"la x3, x + {off_in(s, t, j)}", f"hin.i8 c{c}, x3", f"li x1, {1 << c}",
                          f"{kind}.fwd x1", f"la x4, y + {off_out(s, t, j)}", f"vout.i16 c{c}, x4", "sync x1"]
    per_seq = {key: T * sum(1 for op in ops if op == key) for key in set(ops)}
    last_j = {key: max(j for j, op in enumerate(ops) if op == key) for key in set(ops)}
    batched = [f"li x5, {B}", "bcount x5", f"li x6, {row_out}", f"li x7, {row_in}", "bstride x6, x7, x0"]
    for t in range(T):
        for j, (c, kind) in enumerate(ops):
            ks = per_seq[(c, kind)]
            last = t == T - 1 and j == last_j[(c, kind)]
            batched += [f"li x8, {ks}", f"li x9, {1 + (B - 1) * ks if last else 1}", f"bkey c{c}, x8, x9",
                        f"la x3, x + {off_in(0, t, j)}", f"la x4, y + {off_out(0, t, j)}",
                        f"b{kind}.fwd.i8.i16 c{c}, x4, x3"]
    batched.append("sync x0")
    tail = ["halt"]
    return "\n".join(head + plain + tail) + "\n", "\n".join(head + batched + tail) + "\n", B * row_out // 2


def run(src, model, seed):
    m = Machine(model=model, seed=seed)
    m.load(assemble(src))
    r = m.run()
    assert r.ok, r
    return m


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(B=st.integers(1, 4), T=st.integers(1, 3),
       ops=st.lists(st.tuples(st.sampled_from(CORES), st.sampled_from(["mvm", "smp"])), min_size=1, max_size=3),
       model=st.sampled_from(["ideal", "analog"]), seed=st.integers(0, 2**16))
def test_a_batch_over_sequences_keys_as_the_sequence_loop(B, T, ops, model, seed):
    plain, batched, n = programs(B, T, ops, seed)
    a, b = run(plain, model, seed), run(batched, model, seed)
    np.testing.assert_array_equal(a.mem(a.sym("y"), n, "i16"), b.mem(b.sym("y"), n, "i16"))
    for c in CORES:
        ca, cb = a.cores[c], b.cores[c]
        assert ca.counters["mvms"] == cb.counters["mvms"] and ca.counters["samples"] == cb.counters["samples"]
        assert (ca.keys["mvm"], ca.keys["sample"]) == (cb.keys["mvm"], cb.keys["sample"])
        assert ca.keys["mvm"] == ca.counters["mvms"] and ca.keys["sample"] == ca.counters["samples"]
        ea, eb = ca.events, cb.events
        for key in ("line_pulses", "integrations", "compares", "decrements", "macs", "scan_shifts", "passes"):
            assert ea[key] == eb[key], key
        np.testing.assert_array_equal(np.asarray(ca.h), np.asarray(cb.h))
        np.testing.assert_array_equal(np.asarray(ca.v), np.asarray(cb.v))


def test_without_bkey_the_batch_keys_differ():
    """The property above is not vacuous: the same batched program without its bkey lines draws
    other samples (keys consecutive per batch instead of per sequence)."""
    ops = [(0, "smp"), (0, "smp")]
    plain, batched, n = programs(4, 3, ops, 5)
    nokey = "\n".join(line for line in batched.splitlines() if not line.startswith("bkey")) + "\n"
    a, b = run(plain, "ideal", 5), run(nokey, "ideal", 5)
    assert not np.array_equal(a.mem(a.sym("y"), n, "i16"), b.mem(b.sym("y"), n, "i16"))
