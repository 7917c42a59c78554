"""The authors' large mappings on the command line (docs/workloads.md):

    neurram resnet [--inputs 2] [--link c2c] [--link host] [--map] [--json FILE] [--write DIR]
    neurram rbm794 [--n 8] [--steps 16] [--keep 8] [--model ideal|analog] [--unbatched] [--config P] [--map]

`resnet`: the ResNet-20-shaped network at CIFAR-10 geometry spilled over two chips — the map per
chip next to the authors' 45 + 19 cores, bit-exactness against the integer reference, and per
link preset the link bytes, latency and energy per inference.  `rbm794`: the MNIST-size RBM
(794 × 120) in 8 row blocks × 2 cores — map, bit-exactness, pixel errors before and after, chip
and wall time and energy per image of the batched program (the chains of all images as batches;
--unbatched: the per-image loop, the same counts).
"""
from __future__ import annotations

from .common import EXIT_CHECK, EXIT_OK, EXIT_USAGE, fail, report
from .options import add_config_option, per_inference_line, test_digits


def register(subparsers) -> None:
    p = subparsers.add_parser("resnet", help="ResNet-20-shaped network (CIFAR-10 geometry, random "
                              "weights) on two chips: map, bit-exactness, link traffic per preset")
    p.add_argument("--inputs", type=int, default=2, help="random images to run (default 2)")
    p.add_argument("--seed", type=int, default=0, help="weights and images seed (default 0)")
    p.add_argument("--link", action="append", choices=("c2c", "host"),
                   help="link preset to run (repeatable; default both)")
    p.add_argument("--map", action="store_true", help="print the core map of every chip")
    p.add_argument("--config", metavar="PROFILE|TOML", default=None,
                   help="chip profile of every chip (default chip; board = the test system's timing)")
    p.add_argument("--write", metavar="DIR", help="keep the chip programs and system files in DIR")
    p.set_defaults(func=main)
    r = subparsers.add_parser("rbm794", help="MNIST-size RBM (794 visible × 120 hidden) on 16 cores: "
                              "map, bit-exactness, recovery of corrupted images")
    r.add_argument("--n", type=test_digits, default=8, help="test images to corrupt and recover (default 8)")
    r.add_argument("--steps", type=int, default=16, help="Gibbs steps (default 16)")
    r.add_argument("--keep", type=int, default=8, help="last samples counted (default 8)")
    r.add_argument("--model", choices=("ideal", "analog"), default="ideal",
                   help="numeric model (default ideal; the integer reference is checked on the ideal model only)")
    r.add_argument("--seed", type=int, default=0, help="training, corruption and chip seed (default 0)")
    r.add_argument("--unbatched", action="store_true",
                   help="run the per-image loop program instead of the batched one (same results)")
    add_config_option(r)
    r.add_argument("--map", action="store_true", help="print the block/core map")
    r.set_defaults(func=rbm794)


def main(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from emulator.workloads.resnet import run_resnet

    if args.inputs < 1:
        return fail(args, f"--inputs must be ≥ 1, got {args.inputs}", EXIT_USAGE, kind="usage")
    links = tuple(args.link or ("c2c", "host"))
    from emulator.config import ConfigError
    try:
        r = run_resnet(n_inputs=args.inputs, seed=args.seed, links=links, workdir=args.write, marginal=True,
                       config=args.config)
    except ConfigError as e:
        return fail(args, str(e))
    con = Console(highlight=False)
    if args.map:
        con.print(r["map"], soft_wrap=True)
    a = r["authors_cores"]
    con.print(f"ResNet-20-shaped, 32×32×3, 16/32/64 channels: cores per chip "
              f"{' + '.join(map(str, r['cores']))} = {sum(r['cores'])} "
              f"(authors' mapping: {a[0]} + {a[1]} = {sum(a)})", soft_wrap=True)
    for t in r["transfers"]:
        con.print(f"chip {t['src']} → chip {t['dst']}: {t['bytes']} bytes per inference "
                  f"(input codes of {t['layer']})")
    t = Table(title=f"per inference ({args.inputs} random images, ideal model, profile {r['profile']})",
              title_justify="left")
    for col in ("link", "bit-exact", "link bytes", "wire bytes", "link latency", "link energy",
                "interval", "chip energy (0 + 1)", "run cycles"):
        t.add_column(col, justify="right")
    for name, v in r["links"].items():
        t.add_row(name, "yes" if v["bit_exact"] else "NO", f"{v['link_bytes_per_inference']:,.0f}",
                  f"{v['wire_bytes_per_inference']:,.0f}",
                  f"{v['link_latency_s_per_inference'] * 1e6:.3g} µs",
                  f"{v['link_energy_j_per_inference'] * 1e6:.3g} µJ",
                  f"{v['cycles_per_inference'] / v['clock_hz']:.4g} s",
                  " + ".join(f"{e * 1e3:.3g} mJ" for e in v["chip_energy_j_per_inference"]),
                  f"{v['cycles']:,}")
    con.print(t)
    con.print("interval: the cycles one more image adds (the two chips work as a pipeline), as time; "
              "chip energy: what one more image adds (programming excluded); run cycles: the whole run, "
              "programming included", soft_wrap=True)
    for name, v in r["links"].items():
        con.print(f"{name}: {v['source']}", soft_wrap=True)
    report(args, r)
    return EXIT_OK if all(v["bit_exact"] for v in r["links"].values()) else EXIT_CHECK


def rbm794(args) -> int:
    import time

    from rich.console import Console

    from emulator.config import ChipConfig, ConfigError
    from emulator.mapper import MapError
    from emulator.workloads.rbm_mnist import run

    con = Console(highlight=False)
    t0 = time.time()
    try:
        profile = ChipConfig.load(args.config).profile
        r = run(n=args.n, steps=args.steps, keep=args.keep, seed=args.seed, model=args.model,
                batched=not args.unbatched, config=args.config)
    except (MapError, ConfigError) as e:
        return fail(args, str(e))
    if args.map:
        con.print(r["map"])
    exact = {True: "yes", False: "NO", None: "not checked (analog model: read noise in the partials)"}
    con.print(f"RBM 794 × 120 in {r['blocks']} blocks on {r['cores']} cores (authors: 8 blocks × 2 cores); "
              f"bit-exact against the integer reference: {exact[r['bit_exact']]}", soft_wrap=True)
    con.print(f"wrong pixels of {args.n} images ({r['pixels']:,} units): corrupted {r['errors_corrupted']}, "
              f"recovered {r['errors_recovered']} ({r['cycles']:,} cycles, {args.model} model)", soft_wrap=True)
    con.print(per_inference_line(r["per_inference"], profile, f"{args.model} run, one image's Gibbs chain"),
              soft_wrap=True)
    kind = "per-image loop" if args.unbatched else f"batched (chunks of {r['chunk']} chains)"
    con.print(f"{kind} program: chip time per run {r['chip_s']:.4f} s ({r['cycles']} cycles, weight programming "
              f"included); wall: run {r['wall_s']:.2f} s (Gibbs sampling {r['gibbs_wall_s']:.3f} s); "
              f"total {time.time() - t0:.1f} s (training included)", soft_wrap=True)
    report(args, {k: v for k, v in r.items() if k not in ("map", "count")})
    return EXIT_OK if r["bit_exact"] is not False else EXIT_CHECK
