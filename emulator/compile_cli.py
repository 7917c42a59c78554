"""`neurram compile` and `neurram digits`: the mapper and the digits workload on the command line.

    neurram compile MODEL.npz -o prog.s [--inputs X.npy] [--calib X.npy] [--in-scale S] [--age-ms MS]
    neurram digits [--seeds 3] [--n-test N] [--age-ms MS] [--retrain] [--write programs/]

MODEL.npz holds W0, b0, W1, b1, … (float, W is n_in × n_out; every layer but the last has ReLU).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np


def register(subparsers) -> None:
    p = subparsers.add_parser("compile", help="map a numpy network (.npz of W0,b0,W1,b1,…) to an NR48 program",
                              description=__doc__)
    p.add_argument("model", help=".npz with W0, b0, W1, b1, … (W: n_in × n_out float)")
    p.add_argument("-o", "--output", required=True, help="the .s file to write (its .npy data go next to it)")
    p.add_argument("--inputs", help=".npy of float inputs (N × n_in) to run as the batch (default: zeros, N=1)")
    p.add_argument("--calib", help=".npy of float inputs to calibrate activation ranges (default: --inputs)")
    p.add_argument("--in-scale", type=float, default=1.0, help="float input per 4-bit input code")
    p.add_argument("--age-ms", type=int, default=0, help="let the chip age this long after programming")
    p.set_defaults(func=_compile)
    d = subparsers.add_parser("digits", help="the digits MLP on the chip: accuracy table (float, 4-bit, ideal, analog)")
    d.add_argument("--seeds", type=int, default=3, help="analog seeds 1..N (default 3)")
    d.add_argument("--n-test", type=int, default=None, help="use the first N test digits (default all 450)")
    d.add_argument("--age-ms", type=int, default=3_600_000, help="chip age before inference (default 1 h)")
    d.add_argument("--retrain", action="store_true", help="retrain both models instead of the shipped weights")
    d.add_argument("--write", metavar="DIR", help="also write the compiled programs into DIR")
    d.set_defaults(func=_digits)


def _compile(args) -> int:
    from rich.console import Console

    from emulator.mapper import MapError, compile_model, quantise
    from emulator.workloads.digits import load_model

    con = Console(stderr=True)
    m = load_model(args.model)
    m.in_scale = args.in_scale
    n_in = m.layers[0].W.shape[0]
    X = np.load(args.inputs).astype(float) if args.inputs else np.zeros((1, n_in))
    C = np.load(args.calib).astype(float) if args.calib else X
    try:
        q = quantise(m, C)
        c = compile_model(q, q.encode(X), name=Path(args.output).stem, age_ms=args.age_ms)
    except MapError as e:
        con.print(f"[red]neurram compile: {e}[/]")
        return 1
    path = c.write(args.output)
    print(c.core_map)
    print(f"wrote {path} and {', '.join(c.data)}")
    print(f"run:  neurram run {path} --dump out::i16 --dump pred")
    return 0


def _fmt(v):
    return f"{100 * v:.1f} %"


def _digits(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from emulator.workloads import digits as D

    con = Console()
    rows = []
    seeds = tuple(range(1, args.seeds + 1))
    for noise in (True, False):
        t = time.time()
        m = D.train(0.1 if noise else 0.0) if args.retrain else D.shipped_model(noise)
        r = D.evaluate(m, seeds=seeds, n_test=args.n_test, age_ms=args.age_ms)
        r["wall"] = time.time() - t
        rows.append((noise, r))
        if args.write:
            c, _ = D.compile_digits(m, args.n_test, name="digits_mlp_" + ("noise" if noise else "plain"),
                                    age_ms=args.age_ms)
            c.write(Path(args.write) / f"{c.name}.s")
    tab = Table(title=f"digits MLP 64-{D.HIDDEN}-10, {len(D.load_digits_split()[3][:args.n_test])} test digits, "
                      f"analog seeds {list(seeds)}, chip age {args.age_ms / 1000:g} s")
    for col in ("training", "float sw", "4-bit sw", "chip ideal", "chip analog (mean ± sd)", "per seed"):
        tab.add_column(col)
    for noise, r in rows:
        a = np.array(r["analog"])
        tab.add_row("noise-aware η=0.1" if noise else "plain (η=0)", _fmt(r["float"]), _fmt(r["sw4"]),
                    _fmt(r["ideal"]) + ("" if r["ideal_exact"] else " (≠ reference!)"),
                    f"{100 * a.mean():.1f} ± {100 * a.std(ddof=1) if len(a) > 1 else 0:.1f} %",
                    " ".join(f"{100 * v:.1f}" for v in a))
    con.print(tab)
    con.print(rows[0][1]["core_map"])
    r = rows[0][1]
    con.print(f"chip time per run {r['chip_s']:.3f} s ({r['cycles']} cycles); wall: ideal run "
              f"{r['ideal_wall_s']:.2f} s, analog run {r.get('analog_wall_s', 0):.2f} s; total "
              f"{sum(x[1]['wall'] for x in rows):.1f} s")
    return 0 if all(x[1]["ideal_exact"] for x in rows) else 1
