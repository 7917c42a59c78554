"""RBMs in row blocks (emulator.mapper.rbm_blocks): bit-exact against the integer reference with
the chip's own noise draws, and the MNIST-size RBM (794 × 120) on 16 cores mapped and run."""
from __future__ import annotations

import numpy as np
import pytest

from emulator import Machine
from emulator.mapper import MapError
from emulator.mapper.rbm import RBM
from emulator.mapper.rbm_blocks import compile_rbm_blocks, gibbs_blocks_reference, quantise_rbm_blocks


@pytest.mark.parametrize("seed", [0, 7])
def test_blocked_rbm_matches_the_reference_bit_for_bit(tmp_path, seed):
    rng = np.random.default_rng(seed)
    nv, nh = 300, 40
    rbm = RBM(rng.normal(size=(nv, nh)) * 0.3, rng.normal(size=nv) * 0.1, rng.normal(size=nh) * 0.1)
    q = quantise_rbm_blocks(rbm)
    assert len(q.blocks) == 4 and q.n_cores == 8
    C = rng.integers(0, 2, size=(2, nv))
    K = rng.random((2, nv)) > 0.3
    c = compile_rbm_blocks(q, C, K, steps=5, keep=3, name="rb")
    m = Machine(seed=seed).load(c.write(tmp_path / "rb.s"))
    assert m.run().ok
    count = m.mem(m.sym("count"), 2 * (nv + 1), "u8").reshape(2, nv + 1)
    assert np.array_equal(count, gibbs_blocks_reference(q, C, K, steps=5, keep=3, seed=seed))
    # another seed gives other draws: the reference is not matching by accident
    assert not np.array_equal(count, gibbs_blocks_reference(q, C, K, steps=5, keep=3, seed=seed + 1))


def test_too_many_hidden_units_are_refused():
    rbm = RBM(np.zeros((300, 128)), np.zeros(300), np.zeros(128))
    with pytest.raises(MapError, match="hidden units"):
        quantise_rbm_blocks(rbm)


def test_mnist_size_rbm_on_16_cores(tmp_path):
    from emulator.workloads.rbm_mnist import NH, NV, run

    rng = np.random.default_rng(3)    # untrained weights: the mapping and the bit-exactness
    rbm = RBM(rng.normal(size=(NV, NH)) * 0.05, rng.normal(size=NV) * 0.05, rng.normal(size=NH) * 0.05)
    r = run(n=2, steps=4, keep=2, workdir=str(tmp_path), rbm=rbm)
    assert r["cores"] == 16 and r["blocks"] == 8 and r["bit_exact"]


@pytest.mark.slow
def test_mnist_size_rbm_figures_of_the_docs(tmp_path):
    from emulator.workloads.rbm_mnist import run

    r = run(n=8, steps=16, keep=8, workdir=str(tmp_path))   # what `neurram rbm794` runs
    assert r["bit_exact"] and r["cores"] == 16
    assert (r["errors_corrupted"], r["errors_recovered"], r["pixels"]) == (642, 118, 6352)


@pytest.mark.slow
def test_neurram_rbm794_command(capsys):
    from emulator.cli import main

    assert main(["rbm794", "--n", "2", "--steps", "4", "--keep", "2", "--map"]) == 0
    out = capsys.readouterr().out
    assert "RBM 794 × 120 in 8 blocks on 16 cores" in out and "bit-exact against the integer reference: yes" in out
    assert "(+ hidden sampler)" in out and "batched (chunks of 2 chains) program: chip time per run" in out
    assert "wall: run" in out and "per inference (ideal run" in out
    assert main(["rbm794", "--n", "2", "--steps", "4", "--keep", "2", "--unbatched", "--model", "analog"]) == 0
    out = capsys.readouterr().out
    assert "per-image loop program: chip time per run" in out and "not checked (analog model" in out
    assert main(["rbm794", "--n", "0"]) == 2            # usage (docs/cli.md)
