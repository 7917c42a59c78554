"""The paper's workloads on the command line: accuracy tables of the digits classifiers and the
RBM image recovery, measured on the emulated chip (docs/workloads.md).

    neurram digits [--seeds 3] [--n-test N] [--age-ms MS] [--retrain] [--unbatched] [--write programs/] [--map] [--png DIR]
    neurram rbm [--n 40] [--seeds 3] [--unknown] [--unbatched] [--write programs/] [--map]
    neurram rnn [--seeds 3] [--n-test N] [--retrain] [--batched] [--write programs/] [--map]
    neurram cnn [--seeds 3] [--n-test N] [--retrain] [--unbatched] [--write programs/] [--map]
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import EXIT_CHECK, EXIT_INPUT, EXIT_OK, fail, report
from .options import (add_config_option, add_picture_options, add_workload_options, per_inference_line,
                      show_pictures, slot_cores, test_digits)


def _profile_name(args) -> str:
    from emulator.config import ChipConfig

    return ChipConfig.load(args.config).profile


def _guard(fn):
    """A workload command whose --config is checked first: a bad profile is one line, exit 1."""
    def run(args) -> int:
        from emulator.config import ConfigError

        try:
            _profile_name(args)
        except ConfigError as e:
            return fail(args, str(e), EXIT_INPUT)
        return fn(args)
    return run


def _rows_report(args, rows, extra=None) -> int:
    """The JSON report of an accuracy table (one row per training) and the exit code: 5 (check
    failed) unless the ideal chip equals the integer reference."""
    keys = ("float", "sw4", "ideal", "ideal_exact", "analog", "analog1", "chip_s", "cycles", "per_inference")
    report(args, {"profile": _profile_name(args), "seeds": args.seeds, "n_test": args.n_test, "rows": [
        {"training": "noise-aware" if noise else "plain",
         **{k: (r[k].tolist() if hasattr(r[k], "tolist") else r[k]) for k in keys if k in r}}
        for noise, r in rows], **(extra or {})})
    return EXIT_OK if all(x[1]["ideal_exact"] for x in rows) else EXIT_CHECK


def register(subparsers) -> None:
    d = subparsers.add_parser("digits", help="the digits MLP on the chip: accuracy table (float, 4-bit, ideal, analog)")
    add_workload_options(d, ": the shipped one", "also write the compiled programs into DIR")
    d.add_argument("--age-ms", type=int, default=3_600_000, help="chip age before inference (default 1 h)")
    d.add_argument("--copies", type=int, default=None, help="column copies per layer (default 16: fc1 ×4, fc2 ×16)")
    d.add_argument("--single", action="store_true", help="also run the analog chip with one copy per column")
    d.add_argument("--unbatched", action="store_true",
                   help="run the per-sample loop program instead of the batched one (same results, slower)")
    d.add_argument("--map", action="store_true",
                   help="also show the core map grid and accuracy vs noise level as terminal graphics")
    d.add_argument("--png", metavar="DIR", help="also write DIR/digits_cores.png and DIR/digits_accuracy.png "
                   "(needs matplotlib)")
    d.set_defaults(func=_guard(_digits))
    r = subparsers.add_parser("rbm", help="RBM image recovery by Gibbs sampling (smp.fwd/smp.bwd) on the chip")
    r.add_argument("--n", type=test_digits, default=40, help="test digits to corrupt and recover (default 40)")
    r.add_argument("--frac", type=float, default=0.2, help="fraction of pixels corrupted (default 0.2)")
    r.add_argument("--seeds", type=int, default=3, help="analog seeds 1..N (default 3)")
    r.add_argument("--retrain", action="store_true", help="retrain the RBM instead of the shipped weights")
    r.add_argument("--unknown", action="store_true",
                   help="corruption positions unknown: flip the pixels and resample every one")
    r.add_argument("--unbatched", action="store_true",
                   help="run the per-image loop program instead of the batched one (same results)")
    r.add_argument("--write", metavar="DIR", help="also write the program and its batched twin into DIR")
    add_config_option(r)
    add_picture_options(r)
    r.set_defaults(func=_guard(_rbm))
    n = subparsers.add_parser("rnn", help="recurrent network on the digits read row by row (mvm.rec) on the chip")
    add_workload_options(n, " 0", "also write the programs/rnn_digits.s-style program and its batched twin "
                         "(first 50 digits) into DIR")
    # the loop is the default here: it keeps each digit's hidden state in the core, while a batch
    # of sequences scans every state out and back in per step (2.3× the energy, +10 % chip time)
    # for no wall-time gain (docs/workloads.md)
    n.add_argument("--batched", dest="unbatched", action="store_false", default=True,
                   help="run the batched program (a batch of sequences) instead of the per-image loop "
                        "(same results; more chip time and energy, see docs/workloads.md)")
    add_picture_options(n)
    n.set_defaults(func=_guard(_rnn))
    c = subparsers.add_parser("cnn", help="small CNN (conv 3×3 im2col, vpmax pool, dense) on the digits on the chip")
    add_workload_options(c, " 0", "also write the programs/cnn_digits.s-style program (first 20 digits) into DIR")
    c.add_argument("--unbatched", action="store_true",
                   help="run the per-image loop program instead of the batched one (same results)")
    add_picture_options(c)
    c.set_defaults(func=_guard(_cnn))
    m = subparsers.add_parser("lstm", help="LSTM on the digits read row by row (gate MVMs on a core, "
                              "vsigm/vtanh cell update on the vector unit)")
    add_workload_options(m, " 0", "also write the lstm_digits.s program (first 50 digits) into DIR")
    add_picture_options(m)
    m.set_defaults(func=_guard(_lstm))


def _rbm(args) -> int:
    from emulator.workloads import rbm as R

    M = R.train_rbm() if args.retrain else R.shipped()
    known = not args.unknown
    how = ("replaced by random bits (positions known)" if known else
           "flipped (positions unknown: every pixel resampled, evidence columns tie it to the input)")
    print(f"RBM 64 visible × 48 hidden; {args.n} test digits, {100 * args.frac:g} % of the pixels {how}, "
          f"16 Gibbs steps, vote of the last 8")
    t0 = time.time()
    run = lambda model, s, write=None: R.run(M, args.n, args.frac, model=model, seed=s, write=write,  # noqa: E731
                                             known_positions=known, config=args.config,
                                             batched=not args.unbatched)
    res = [("ideal", 0, run("ideal", 1))]
    if args.write:      # the per-image loop program and its batched twin
        for path in R.write_programs(M, args.write, args.n, args.frac, known_positions=known):
            print(f"wrote {path}")
    res += [("analog", s, run("analog", s)) for s in range(1, args.seeds + 1)]
    for model, s, r in res:
        print(f"  {model:6s} seed {s}: wrong pixels per image {r['err_corrupted']:.2f} corrupted → "
              f"{r['err_recovered']:.2f} recovered: error −{100 * r['reduction']:.1f} %  "
              f"(chip {r['chip_s']:.3f} s, wall {r['wall_s']:.2f} s)")
    red = np.array([r["reduction"] for m, _, r in res if m == "analog"])
    if len(red):
        print(f"analog mean reduction {100 * red.mean():.1f} ± {100 * red.std(ddof=1) if len(red) > 1 else 0:.1f} %")
    r = res[0][2]
    for i in range(min(3, args.n)):
        rows = []
        for img in (r["V"][i], r["C"][i], r["rec"][i]):
            rows.append(["".join("█" if p else "·" for p in img[k * 8:k * 8 + 8]) for k in range(8)])
        print("  clean     corrupted  recovered (ideal)" if i == 0 else "")
        for k in range(8):
            print("  " + "   ".join(rr[k] for rr in rows))
    print(per_inference_line(r["per_inference"], _profile_name(args), "ideal run, one image's Gibbs chain"))
    an = [x for m, _, x in res if m == "analog"]
    print(f"{'per-image loop' if args.unbatched else 'batched'} program: chip time per run {r['chip_s']:.3f} s "
          f"({r['cycles']} cycles); wall: ideal run {r['wall_s']:.2f} s, analog run "
          f"{an[-1]['wall_s'] if an else 0:.2f} s; total {time.time() - t0:.1f} s")
    if args.map:
        print(r["core_map"])
    show_pictures(args, slot_cores(r["slots"]), None, "rbm")
    report(args, {"n": args.n, "frac": args.frac, "known_positions": known, "runs": [
        {"model": model, "seed": s, "err_corrupted": float(x["err_corrupted"]),
         "err_recovered": float(x["err_recovered"]), "reduction": float(x["reduction"]),
         "chip_s": float(x["chip_s"])} for model, s, x in res]})
    return EXIT_OK


def _fmt(v):
    return f"{100 * v:.1f} %"


def _digits(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from emulator.workloads import digits as D

    con = Console()
    rows = []
    seeds = tuple(range(1, args.seeds + 1))
    copies = D.COPIES if args.copies is None else args.copies
    tseed = D.TRAIN_SEED if args.train_seed is None else args.train_seed
    for noise in (True, False):
        t = time.time()
        m = D.train(0.0, seed=tseed, chip_noise=noise) if args.retrain else D.shipped_model(noise)
        r = D.evaluate(m, seeds=seeds, n_test=args.n_test, age_ms=args.age_ms, copies=copies,
                       single=args.single, config=args.config,
                       batched=not args.unbatched)
        r["wall"] = time.time() - t
        rows.append((noise, r))
        if args.write:
            for batched in (False, True):   # the per-sample program and the batched one
                c, _ = D.compile_digits(m, args.n_test, name="digits_mlp_" + ("noise" if noise else "plain")
                                        + ("_batched" if batched else ""), age_ms=args.age_ms, copies=copies,
                                        batched=batched)
                c.write(Path(args.write) / f"{c.name}.s")
    tab = Table(title=f"digits MLP 64-{D.HIDDEN}-10, {len(D.load_digits_split()[3][:args.n_test])} test digits, "
                      f"analog seeds {list(seeds)}, chip age {args.age_ms / 1000:g} s, "
                      f"{'retrained, seed %d' % tseed if args.retrain else 'shipped weights'}")
    ms = lambda a: f"{100 * a.mean():.2f} ± {100 * a.std(ddof=1) if len(a) > 1 else 0:.2f} %"
    cols = ["training", "float sw", "4-bit sw", "chip ideal", f"chip analog ×{copies} (mean ± sd)", "per seed",
            "drop vs 4-bit"]
    if args.single:
        cols.insert(6, "analog ×1 copy")
    for col in cols:
        tab.add_column(col)
    for noise, r in rows:
        a = np.array(r["analog"])
        cells = ["noise-aware (chip-matched σ)" if noise else "plain (no noise)", _fmt(r["float"]),
                 _fmt(r["sw4"]), _fmt(r["ideal"]) + ("" if r["ideal_exact"] else " (≠ reference!)"),
                 ms(a), " ".join(f"{100 * v:.1f}" for v in a),
                 f"{100 * (r['sw4'] - a.mean()):.2f} pt"]
        if args.single:
            cells.insert(6, ms(np.array(r["analog1"])))
        tab.add_row(*cells)
    con.print(tab)
    con.print(rows[0][1]["core_map"])
    levels = [("chip ideal", {}), (f"analog ×{copies}", {})] + ([("analog ×1 copy", {})] if args.single else [])
    for noise, r in rows:
        k = "noise-aware" if noise else "plain"
        levels[0][1][k] = [r["ideal"]]
        levels[1][1][k] = r["analog"]
        if args.single:
            levels[2][1][k] = r["analog1"]
    show_pictures(args, slot_cores(rows[0][1]["slots"]), levels, "digits")
    r = rows[0][1]
    con.print(per_inference_line(r["per_inference"], _profile_name(args)), soft_wrap=True)
    con.print(f"{'per-sample loop' if args.unbatched else 'batched'} program: chip time per run "
              f"{r['chip_s']:.3f} s ({r['cycles']} cycles); wall: ideal run "
              f"{r['ideal_wall_s']:.2f} s, analog run {r.get('analog_wall_s', 0):.2f} s; total "
              f"{sum(x[1]['wall'] for x in rows):.1f} s")
    return _rows_report(args, rows)


def _classifier_table(args, W, title: str, noise_label: str) -> int:
    """Train (or load) a workload module W's noise-aware and plain models, measure both on the
    chip, print the accuracy table, core map and times; exit 5 unless the ideal chip equals the
    integer reference."""
    from rich.console import Console
    from rich.table import Table

    con = Console()
    seeds = tuple(range(1, args.seeds + 1))
    tseed = W.TRAIN_SEED if args.train_seed is None else args.train_seed
    rows = []
    for noise in (True, False):
        t = time.time()
        P = W.train(noise, seed=tseed) if args.retrain else W.shipped(noise)
        batched = {"batched": not args.unbatched} if getattr(W, "BATCHED", False) else {}
        r = W.evaluate(P, seeds=seeds, n_test=args.n_test, config=args.config, **batched)
        r["wall"] = time.time() - t
        rows.append((noise, r))
        if args.write and noise:
            Xte = W.load_digits_split()[2][:W.N_PROGRAM]
            path = W.write_program(r["q"], Xte, args.write)
            con.print(f"wrote {path}")
            if getattr(W, "BATCHED", False):   # and the batched twin the command runs
                path = W.write_program(r["q"], Xte, args.write, name=path.stem + "_batched", batched=True)
                con.print(f"wrote {path}")
    n = len(W.load_digits_split()[3][:args.n_test])
    tab = Table(title=f"{title}, {n} test digits, analog seeds {list(seeds)}, chip age "
                      f"{W.AGE_MS / 1000:g} s, "
                      f"{'retrained, seed %d' % tseed if args.retrain else 'shipped weights'}")
    ms = lambda a: f"{100 * a.mean():.2f} ± {100 * a.std(ddof=1) if len(a) > 1 else 0:.2f} %"
    for col in ["training", "float sw", "4-bit sw", "chip ideal", "chip analog (mean ± sd)", "per seed",
                "drop vs 4-bit"]:
        tab.add_column(col)
    for noise, r in rows:
        a = np.array(r["analog"]) if r["analog"] else np.array([np.nan])
        tab.add_row(noise_label if noise else "plain (no noise)", _fmt(r["float"]),
                    _fmt(r["sw4"]), _fmt(r["ideal"]) + ("" if r["ideal_exact"] else " (≠ reference!)"),
                    ms(a), " ".join(f"{100 * v:.1f}" for v in a), f"{100 * (r['sw4'] - a.mean()):.2f} pt")
    con.print(tab)
    r = rows[0][1]
    con.print(W.core_map(r["q"]))
    levels = [("chip ideal", {}), ("chip analog", {})]
    for noise, x in rows:
        k = "noise-aware" if noise else "plain"
        levels[0][1][k], levels[1][1][k] = [x["ideal"]], x["analog"]
    show_pictures(args, W.cores(r["q"]), levels if seeds else levels[:1], W.NAME)
    con.print(per_inference_line(r["per_inference"], _profile_name(args)), soft_wrap=True)
    kind = (f"{'per-sample loop' if args.unbatched else 'batched'} program: "
            if getattr(W, "BATCHED", False) else "")
    con.print(f"{kind}chip time per run {r['chip_s']:.3f} s ({r['cycles']} cycles); wall: ideal run "
              f"{r['ideal_wall_s']:.2f} s, analog run {r.get('analog_wall_s', 0):.2f} s; total "
              f"{sum(x[1]['wall'] for x in rows):.1f} s")
    return _rows_report(args, rows)


def _rnn(args) -> int:
    from emulator.workloads import rnn as R

    return _classifier_table(args, R, f"digits RNN (8 steps × 8 pixels, {R.NH} hidden ×{R.HCOPY} "
                             "copies, mvm.rec)", f"noise-aware ({R.NOISE_MULT:g} × chip σ)")


def _cnn(args) -> int:
    from emulator.workloads import cnn as K

    return _classifier_table(args, K, f"digits CNN (conv 3×3×{K.C} im2col, ReLU, 2×2 vpmax, dense "
                             f"{K.NPOOL}→10)", "noise-aware (chip σ)")


def _lstm(args) -> int:
    from emulator.workloads import lstm as L

    return _classifier_table(args, L, f"digits LSTM (8 steps × 8 pixels, {L.NH} hidden units, gates on "
                             "one core, vsigm/vtanh on the vector unit)", "noise-aware (chip σ)")
