"""`neurram compile` and the workload commands: the mapper and the paper's workloads on the command line.

    neurram compile MODEL.npz -o prog.s [--inputs X.npy] [--calib X.npy] [--in-scale S] [--copies R]
                    [--age-ms MS] [--replicate N] [--known MASK.npy --steps S --keep K] [--map] [--png DIR]
    neurram digits [--seeds 3] [--n-test N] [--age-ms MS] [--retrain] [--write programs/] [--map] [--png DIR]
    neurram rbm [--n 40] [--seeds 3] [--unknown] [--write programs/] [--map]
    neurram rnn [--seeds 3] [--n-test N] [--retrain] [--write programs/] [--map]
    neurram cnn [--seeds 3] [--n-test N] [--retrain] [--write programs/] [--map]

MODEL.npz is a model file (docs/mapper.md): a __model__ JSON description of dense, conv2d,
maxpool2d and rnn layers, or of an RBM, with the float arrays beside it — written by
emulator.mapper.save_model — or plain W0, b0, W1, b1, … (dense layers, ReLU on all but the last).
"""
from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np


def _picture_options(p) -> None:
    p.add_argument("--map", action="store_true",
                   help="also show the core map grid and the accuracies as terminal graphics")
    p.add_argument("--png", metavar="DIR", help="also write the same pictures as PNG files into DIR (needs matplotlib)")


def register(subparsers) -> None:
    p = subparsers.add_parser("compile", help="map a model file (.npz or .onnx, docs/mapper.md) to an NR48 program",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model file: .npz with a __model__ description (emulator.mapper.save_model), "
                   "plain W0, b0, W1, b1, … dense layers, or an ONNX graph (.onnx, needs the [onnx] extra)")
    p.add_argument("-o", "--output", required=True, help="the .s file to write (its .npy data go next to it)")
    p.add_argument("--inputs", help=".npy of float inputs (N × n_in) to run as the batch (default: zeros, N=1); "
                   "for an RBM the binary images to recover")
    p.add_argument("--calib", help=".npy of float inputs to calibrate activation ranges (default: --inputs)")
    p.add_argument("--in-scale", type=float, default=None,
                   help="float input per input code (default: the model file's; 1.0 for plain W0/b0 files)")
    p.add_argument("--copies", type=int, default=1, metavar="R",
                   help="column copies per layer where they fit (a power of two; averages analog noise)")
    p.add_argument("--age-ms", type=int, default=0, help="let the chip age this long after programming")
    p.add_argument("--replicate", type=int, default=1, metavar="N",
                   help="place N copies of the network on idle cores and split the batch across them")
    p.add_argument("--known", help="RBM: .npy mask (N × n_v) of pixels known to be right (clamped); "
                   "without it every pixel is resampled (corruption positions unknown)")
    p.add_argument("--steps", type=int, default=16, help="RBM: Gibbs steps per image (default 16)")
    p.add_argument("--keep", type=int, default=8, help="RBM: vote over the last K samples (default 8)")
    p.add_argument("--map", action="store_true", help="also show the core map as a coloured 8 × 6 grid")
    p.add_argument("--png", metavar="DIR", help="also write DIR/<name>_cores.png (needs matplotlib)")
    p.set_defaults(func=_compile)
    d = subparsers.add_parser("digits", help="the digits MLP on the chip: accuracy table (float, 4-bit, ideal, analog)")
    d.add_argument("--seeds", type=int, default=3, help="analog seeds 1..N (default 3)")
    d.add_argument("--n-test", type=int, default=None, help="use the first N test digits (default all 450)")
    d.add_argument("--age-ms", type=int, default=3_600_000, help="chip age before inference (default 1 h)")
    d.add_argument("--retrain", action="store_true", help="retrain both models instead of the shipped weights")
    d.add_argument("--train-seed", type=int, default=None, help="training seed with --retrain (default: the shipped one)")
    d.add_argument("--copies", type=int, default=None, help="column copies per layer (default 16: fc1 ×4, fc2 ×16)")
    d.add_argument("--single", action="store_true", help="also run the analog chip with one copy per column")
    d.add_argument("--write", metavar="DIR", help="also write the compiled programs into DIR")
    d.add_argument("--map", action="store_true",
                   help="also show the core map grid and accuracy vs noise level as terminal graphics")
    d.add_argument("--png", metavar="DIR", help="also write DIR/digits_cores.png and DIR/digits_accuracy.png "
                   "(needs matplotlib)")
    d.set_defaults(func=_digits)
    r = subparsers.add_parser("rbm", help="RBM image recovery by Gibbs sampling (smp.fwd/smp.bwd) on the chip")
    r.add_argument("--n", type=int, default=40, help="test digits to corrupt and recover (default 40)")
    r.add_argument("--frac", type=float, default=0.2, help="fraction of pixels corrupted (default 0.2)")
    r.add_argument("--seeds", type=int, default=3, help="analog seeds 1..N (default 3)")
    r.add_argument("--retrain", action="store_true", help="retrain the RBM instead of the shipped weights")
    r.add_argument("--unknown", action="store_true",
                   help="corruption positions unknown: flip the pixels and resample every one")
    r.add_argument("--write", metavar="DIR", help="also write the program into DIR")
    _picture_options(r)
    r.set_defaults(func=_rbm)
    n = subparsers.add_parser("rnn", help="recurrent network on the digits read row by row (mvm.rec) on the chip")
    n.add_argument("--seeds", type=int, default=3, help="analog seeds 1..N (default 3)")
    n.add_argument("--n-test", type=int, default=None, help="use the first N test digits (default all 450)")
    n.add_argument("--retrain", action="store_true", help="retrain both models instead of the shipped weights")
    n.add_argument("--train-seed", type=int, default=None, help="training seed with --retrain (default 0)")
    n.add_argument("--write", metavar="DIR", help=f"also write programs/rnn_digits.s-style program (first 50 digits) into DIR")
    _picture_options(n)
    n.set_defaults(func=_rnn)
    c = subparsers.add_parser("cnn", help="small CNN (conv 3×3 im2col, vpmax pool, dense) on the digits on the chip")
    c.add_argument("--seeds", type=int, default=3, help="analog seeds 1..N (default 3)")
    c.add_argument("--n-test", type=int, default=None, help="use the first N test digits (default all 450)")
    c.add_argument("--retrain", action="store_true", help="retrain both models instead of the shipped weights")
    c.add_argument("--train-seed", type=int, default=None, help="training seed with --retrain (default 0)")
    c.add_argument("--write", metavar="DIR", help="also write the programs/cnn_digits.s-style program (first 20 digits) into DIR")
    _picture_options(c)
    c.set_defaults(func=_cnn)


def _rbm(args) -> int:
    from emulator.workloads import rbm as R

    M = R.train_rbm() if args.retrain else R.shipped()
    known = not args.unknown
    how = ("replaced by random bits (positions known)" if known else
           "flipped (positions unknown: every pixel resampled, evidence columns tie it to the input)")
    print(f"RBM 64 visible × 48 hidden; {args.n} test digits, {100 * args.frac:g} % of the pixels {how}, "
          f"16 Gibbs steps, vote of the last 8")
    run = lambda model, s, write=None: R.run(M, args.n, args.frac, model=model, seed=s, write=write,
                                             known_positions=known)
    res = [("ideal", 0, run("ideal", 1, args.write))]
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
    if args.map:
        print(r["core_map"])
    _pictures(args, _slot_cores(r["slots"]), None, "rbm")
    return 0


def _npy(path: str, what: str, width: int | None = None) -> np.ndarray:
    """A 2-D numeric .npy given on the command line, or a MapError naming the file and the problem."""
    from emulator.mapper import MapError

    try:
        a = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise MapError(f"{path}: no such file ({what})") from None
    except (ValueError, OSError, EOFError) as e:
        raise MapError(f"{path}: not a .npy array ({what}): {e}") from None
    if not isinstance(a, np.ndarray):
        a.close()
        raise MapError(f"{path}: {what} must be a .npy array, not an .npz archive")
    if a.dtype.kind not in "biuf" or a.ndim != 2:
        raise MapError(f"{path}: {what} must be a 2-D numeric array (N × values), got {a.ndim}-D {a.dtype}")
    if width is not None and a.shape[1] != width:
        raise MapError(f"{path}: {what} must have {width} values per row (the model's input), got {a.shape[1]}")
    if len(a) == 0:
        raise MapError(f"{path}: {what} has no rows; give at least one")
    a = a.astype(float)
    if not np.isfinite(a).all():
        raise MapError(f"{path}: {what} contains non-finite values (NaN or inf)")
    return a


def _compile(args) -> int:
    from rich.console import Console
    from rich.text import Text

    from emulator.mapper import MapError, compile_model, quantise
    from emulator.mapper.modelfile import load_model

    if Path(args.model).suffix.lower() == ".onnx":      # ONNX graphs (emulator/onnx_cli.py)
        from emulator.onnx_cli import compile_onnx_file

        return compile_onnx_file(args)
    con = Console(stderr=True, soft_wrap=True)
    name = Path(args.output).stem
    try:
        out = Path(args.output)
        if out.suffix != ".s" or not re.fullmatch(r"[\w.+-]+", out.stem):
            raise MapError(f"-o {args.output}: the output must be a .s file whose name uses letters, digits, "
                           "'_', '-', '+' or '.' (it also names the .npy data files)")
        for opt, v, lo in (("--age-ms", args.age_ms, 0), ("--copies", args.copies, 1),
                           ("--replicate", args.replicate, 1), ("--steps", args.steps, 1), ("--keep", args.keep, 1)):
            if v < lo:
                raise MapError(f"{opt} must be ≥ {lo}, got {v}")
        m = load_model(args.model, args.in_scale)
        kind = type(m).__name__ if type(m).__name__ == "RBM" else type(m.layers[0]).__name__
        if kind != "Dense" and args.replicate != 1:
            raise MapError(f"--replicate: data-parallel replication is for dense-only models, "
                           f"not a model starting with {kind}")
        if kind == "RBM":
            from emulator.mapper.rbm import compile_rbm, quantise_rbm

            n_v = m.W.shape[0]
            V = _npy(args.inputs, "--inputs (binary images)", n_v) if args.inputs else np.zeros((1, n_v))
            known = _npy(args.known, "--known (mask of known pixels)", n_v) if args.known else None
            if known is not None and known.shape != V.shape:
                raise MapError(f"{args.known}: --known must have the shape of --inputs {V.shape}, got {known.shape}")
            q = quantise_rbm(m)
            c = compile_rbm(q, (V > 0).astype(np.int64), None if known is None else known > 0,
                            steps=args.steps, keep=args.keep, name=name, age_ms=args.age_ms)
            hint = f"--dump {c.extra['result']}"
        else:
            n_in = (int(np.prod(m.in_shape)) if m.in_shape is not None else
                    m.layers[0].steps * m.layers[0].Wx.shape[0] if kind == "SimpleRNN" else m.layers[0].W.shape[0])
            X = _npy(args.inputs, "--inputs", n_in) if args.inputs else np.zeros((1, n_in))
            C = _npy(args.calib, "--calib", n_in) if args.calib else X
            if kind == "SimpleRNN":
                from emulator.mapper.rnn import compile_rnn, quantise_rnn

                q = quantise_rnn(m, C, copies=args.copies)
                c = compile_rnn(q, q.encode(X), name=name, age_ms=args.age_ms)
            else:
                q = quantise(m, C, copies=args.copies)
                c = compile_model(q, q.encode(X), name=name, age_ms=args.age_ms,
                                  **({"replicate": args.replicate} if args.replicate != 1 else {}))
            hint = "--dump out::i16 --dump pred"
        path = c.write(args.output)
    except MapError as e:
        con.print(Text(f"neurram compile: {e}", style="red"))
        return 1
    except OSError as e:
        con.print(Text(f"neurram compile: cannot write {args.output}: {e.strerror or e}", style="red"))
        return 1
    print(c.core_map)
    try:
        _pictures(args, _slot_cores(c.slots), None, name)
    except OSError as e:
        con.print(Text(f"neurram compile: cannot write the pictures into {args.png}: {e.strerror or e}", style="red"))
        return 1
    print(f"wrote {path} and {', '.join(c.data)}")
    print(f"run:  neurram run {path} {hint}")
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
    copies = D.COPIES if args.copies is None else args.copies
    tseed = D.TRAIN_SEED if args.train_seed is None else args.train_seed
    for noise in (True, False):
        t = time.time()
        m = D.train(0.0, seed=tseed, chip_noise=noise) if args.retrain else D.shipped_model(noise)
        r = D.evaluate(m, seeds=seeds, n_test=args.n_test, age_ms=args.age_ms, copies=copies,
                       single=args.single)
        r["wall"] = time.time() - t
        rows.append((noise, r))
        if args.write:
            c, _ = D.compile_digits(m, args.n_test, name="digits_mlp_" + ("noise" if noise else "plain"),
                                    age_ms=args.age_ms, copies=copies)
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
    _pictures(args, _slot_cores(rows[0][1]["slots"]), levels, "digits")
    r = rows[0][1]
    con.print(f"chip time per run {r['chip_s']:.3f} s ({r['cycles']} cycles); wall: ideal run "
              f"{r['ideal_wall_s']:.2f} s, analog run {r.get('analog_wall_s', 0):.2f} s; total "
              f"{sum(x[1]['wall'] for x in rows):.1f} s")
    return 0 if all(x[1]["ideal_exact"] for x in rows) else 1


def _classifier_table(args, W, title: str, noise_label: str) -> int:
    """Train (or load) a workload module W's noise-aware and plain models, measure both on the
    chip, print the accuracy table, core map and times; exit 1 unless the ideal chip equals the
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
        r = W.evaluate(P, seeds=seeds, n_test=args.n_test)
        r["wall"] = time.time() - t
        rows.append((noise, r))
        if args.write and noise:
            Xte = W.load_digits_split()[2][:W.N_PROGRAM]
            path = W.write_program(r["q"], Xte, args.write)
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
    _pictures(args, W.cores(r["q"]), levels if seeds else levels[:1], W.NAME)
    con.print(f"chip time per run {r['chip_s']:.3f} s ({r['cycles']} cycles); wall: ideal run "
              f"{r['ideal_wall_s']:.2f} s, analog run {r.get('analog_wall_s', 0):.2f} s; total "
              f"{sum(x[1]['wall'] for x in rows):.1f} s")
    return 0 if all(x[1]["ideal_exact"] for x in rows) else 1


def _rnn(args) -> int:
    from emulator.workloads import rnn as R

    return _classifier_table(args, R, f"digits RNN (8 steps × 8 pixels, {R.NH} hidden ×{R.HCOPY} "
                             "copies, mvm.rec)", f"noise-aware ({R.NOISE_MULT:g} × chip σ)")


def _cnn(args) -> int:
    from emulator.workloads import cnn as K

    return _classifier_table(args, K, f"digits CNN (conv 3×3×{K.C} im2col, ReLU, 2×2 vpmax, dense "
                             f"{K.NPOOL}→10)", "noise-aware (chip σ)")


def _slot_cores(slots) -> list:
    from emulator.mapper.pictures import slots_cores

    return slots_cores(slots)


def _pictures(args, cores, levels, name) -> None:
    """--map: rich core grid (+ accuracy bars); --png DIR: the same as PNG files (optional matplotlib).
    cores: [(core, label, utilisation)] (pictures.slots_cores for a mapper program)."""
    from rich.console import Console

    from emulator.mapper import pictures as PIC

    if getattr(args, "map", False):
        con = Console()
        con.print(PIC.core_grid(cores, f"{name} core map"))
        if levels:
            con.print(PIC.accuracy_bars(levels, f"{name}: test accuracy vs noise level"))
    if getattr(args, "png", None) and not PIC.have_matplotlib():
        print(PIC.MISSING)
    elif getattr(args, "png", None):
        for p in [PIC.png_core_map(cores, Path(args.png) / f"{name}_cores.png", f"{name} core map")] + (
                [PIC.png_accuracy(levels, Path(args.png) / f"{name}_accuracy.png",
                                  f"{name}: test accuracy vs noise level")] if levels else []):
            if p is not None:
                print(f"wrote {p}")
