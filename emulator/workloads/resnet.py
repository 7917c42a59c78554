"""A ResNet-20-shaped network at CIFAR-10 geometry, spilled over two chips (docs/workloads.md,
ResNet-20 on two chips).

32×32×3 input; a 3×3 stem conv to 16 channels; three stages of three basic blocks (two 3×3
convs each) at 16, 32 and 64 channels, the second and third stages starting with a stride-2
conv; identity residual adds (before the block's last ReLU) in every block that keeps its
shape; global average pool; a dense layer to 10 logits.  The two stride-2 blocks have no
shortcut: the mapper's layers form a chain whose residual sources are earlier outputs of the
same shape, and a projection shortcut would be a branch.  No CIFAR data ships offline, so the
weights are random (He-scaled, seeded) and the inputs random images; the point is the mapping,
the traffic and the bit-exact run, not accuracy.

    report = run_resnet(n_inputs=2, links=("c2c", "host"))
"""
from __future__ import annotations

import numpy as np

from emulator.mapper import Conv2D, Dense, Model, quantise, reference
from emulator.mapper.gap import GlobalAvgPool2D
from emulator.mapper.multichip import compile_system, run_system_compiled

# the authors' own ResNet-20 mapping: 64 (chip, core) pairs on two dies (reference/multichip.md)
AUTHORS_CORES = (45, 19)


def resnet20(seed: int = 0, in_hw: int = 32, widths=(16, 32, 64), blocks: int = 3) -> Model:
    """The float model; `in_hw`, `widths` and `blocks` shrink it for quick tests."""
    rng = np.random.default_rng(seed)

    def conv(ci, co, stride=1, name="", residual=None):
        W = rng.normal(size=(3, 3, ci, co)) * np.sqrt(2.0 / (9 * ci))
        b = rng.normal(size=co) * 0.05
        return Conv2D(W, b, stride=stride, padding=1, name=name, residual=residual)

    layers = [conv(3, widths[0], name="stem")]
    ci = widths[0]
    for s, co in enumerate(widths):
        for blk in range(blocks):
            stride = 2 if s > 0 and blk == 0 else 1
            src = len(layers) - 1                        # the block's input
            layers.append(conv(ci, co, stride, f"s{s + 1}b{blk + 1}a"))
            keep = stride == 1 and ci == co
            layers.append(conv(co, co, 1, f"s{s + 1}b{blk + 1}b", residual=src if keep else None))
            ci = co
    layers += [GlobalAvgPool2D(name="gap"),
               Dense(rng.normal(size=(ci, 10)) * np.sqrt(1.0 / ci), np.zeros(10), relu=False, name="fc")]
    return Model(layers, in_scale=1 / 15, in_bits=4, act_bits=4, in_shape=(in_hw, in_hw, 3))


def run_resnet(n_inputs: int = 2, seed: int = 0, links=("c2c", "host"), workdir=None,
               in_hw: int = 32, widths=(16, 32, 64), blocks: int = 3, model: str = "ideal",
               marginal: bool = False, config=None) -> dict:
    """Quantise (calibrated on 16 random images), compile over chips, run every link preset on
    `n_inputs` random images; returns the map, per-chip cores, bit-exactness against the integer
    reference and, per link, cycles, link bytes, latency and energy per inference.  With
    `marginal`, each preset also runs n_inputs + 1 images: the differences are one more
    inference's cycles (the pipeline's interval) and the chips' energy without programming.
    `config` (a profile name, TOML path or dict) applies to every chip."""
    import tempfile
    from pathlib import Path

    m = resnet20(seed, in_hw, widths, blocks)
    rng = np.random.default_rng(seed + 1)
    calib = rng.random((16, in_hw * in_hw * 3))
    q = quantise(m, calib)
    X = rng.random((n_inputs, in_hw * in_hw * 3))
    rows = q.encode(X)
    ref = reference(q, rows)
    sc = compile_system(q, rows, name="resnet")
    from emulator.config import ChipConfig
    out = {"profile": ChipConfig.load(config).profile, "cores": sc.cores(), "authors_cores": list(AUTHORS_CORES), "map": sc.map_text(),
           "transfers": sc.transfers, "n_inputs": n_inputs, "links": {}}
    tmp = tempfile.TemporaryDirectory() if workdir is None else None
    base = Path(workdir or tmp.name)
    try:
        for link in links:
            logits, pred, r, s = run_system_compiled(sc, base / link / "resnet", model=model,
                                                    seed=seed, link=link, config=config)
            rep = s.link_report()
            e = s.energy_report()
            tot = rep["total"]
            out["links"][link] = {
                "bit_exact": bool(np.array_equal(logits, ref)),
                "cycles": r.cycles, "time_s": r.time_s, "clock_hz": s.clock_hz,
                "link_bytes_per_inference": tot["bytes"] / n_inputs,
                "wire_bytes_per_inference": tot["wire_bytes"] / n_inputs,
                "link_latency_s_per_inference": tot["latency_s"] / n_inputs,
                "link_energy_j_per_inference": tot["energy_pj"] * 1e-12 / n_inputs,
                "link_occupancy": {k: v["occupancy"] for k, v in rep["links"].items()},
                "chip_energy_j": [c["total_pj"] * 1e-12 for c in e["chips"]],
                "source": rep["source"],
            }
            out["logits"] = logits.tolist()
            if marginal:
                X1 = np.concatenate([X, rng.random((1, X.shape[1]))])
                sc1 = compile_system(q, q.encode(X1), name="resnet")
                _l, _p, r1, s1 = run_system_compiled(sc1, base / link / "plus1" / "resnet", model=model,
                                                     seed=seed, link=link, config=config)
                e1 = s1.energy_report()
                out["links"][link]["cycles_per_inference"] = r1.cycles - r.cycles
                out["links"][link]["chip_energy_j_per_inference"] = [
                    (a["total_pj"] - b["total_pj"]) * 1e-12 for a, b in zip(e1["chips"], e["chips"])]
    finally:
        if tmp is not None:
            tmp.cleanup()
    return out
