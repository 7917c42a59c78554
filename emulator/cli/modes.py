"""The chip's other modes on the command line (docs/workloads.md, Spiking and learning):

    neurram snn [--steps 32] [--n-test N] [--model ideal|analog] [--seed S] [--write DIR] [--json FILE]
    neurram learn [--epochs 5] [--n-train N] [--n-test N] [--model ideal|analog] [--seed S] [--json FILE]
    neurram finetune [--seeds 5] [--copies 1] [--nets mlp,cnn] [--n-train N] [--n-test N] [--json FILE]

`snn` runs the digits MLP converted to integrate-and-fire neurons (rate-coded inputs) and the
non-spiking MLP on the same digits and chip model, and prints accuracy, spikes, latency and
energy per inference side by side.  `learn` trains the MLP's last layer on the chip with
outer-product updates and prints the test accuracy per epoch, the training energy and time, and
the offline-trained layer programmed on the same chip.  `finetune` runs chip-in-the-loop
fine-tuning (emulator.train) of the digits MLP and CNN over analog seeds: accuracy before and
after, mean ± sd.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .common import EXIT_CHECK, EXIT_OK, EXIT_USAGE, add_json_option, fail, report
from .options import positive, test_digits


def register(subparsers) -> None:
    s = subparsers.add_parser("snn", help="spiking digits classifier (IF neurons, rate-coded inputs) "
                              "next to the non-spiking MLP: accuracy, spikes, energy/latency")
    s.add_argument("--steps", type=positive, default=32, help="time steps per inference (default 32, max 200)")
    s.add_argument("--n-test", type=test_digits, default=None, help="use the first N test digits (default all 450)")
    s.add_argument("--model", choices=("ideal", "analog"), default="ideal", help="chip model (default ideal)")
    s.add_argument("--seed", type=int, default=0, help="input spike trains and analog seed (default 0)")
    s.add_argument("--write", metavar="DIR", help="also write snn_digits.s and its .npy files into DIR")
    add_json_option(s)
    s.set_defaults(func=_snn)
    L = subparsers.add_parser("learn", help="train the digits MLP's last layer on the chip (forward MVM, "
                              "error on the vector unit, sign-based outer-product updates)")
    L.add_argument("--epochs", type=positive, default=5, help="training epochs (default 5, max 50)")
    L.add_argument("--n-train", type=positive, default=None, help="use the first N training digits (default all 1347)")
    L.add_argument("--n-test", type=test_digits, default=None, help="use the first N test digits (default all 450)")
    L.add_argument("--model", choices=("ideal", "analog"), default="ideal", help="chip model (default ideal)")
    L.add_argument("--seed", type=int, default=0, help="analog seed (default 0)")
    L.add_argument("--both", action="store_true",
                   help="also train layer 1: the hidden error through the transposed MVM (mvm.bwd)")
    add_json_option(L)
    L.set_defaults(func=_learn)
    F = subparsers.add_parser("finetune", help="chip-in-the-loop fine-tuning of the digits MLP and CNN: "
                              "measure layer 1 on the analog chip, retrain the last layer on it")
    F.add_argument("--seeds", type=positive, default=5, help="analog seeds 1..N (default 5)")
    F.add_argument("--copies", type=positive, default=1,
                   help="column copies per layer (default 1: one device pair per weight; 16 is the mapper's default)")
    F.add_argument("--nets", default="mlp,cnn", help="comma-separated: mlp, cnn (default both)")
    F.add_argument("--n-train", type=positive, default=None, help="use the first N training digits (default all 1347)")
    F.add_argument("--n-test", type=test_digits, default=None, help="use the first N test digits (default all 450)")
    F.add_argument("--noise-aware", action="store_true", help="start from the shipped noise-aware models")
    add_json_option(F)
    F.set_defaults(func=_finetune)


def _snn(args) -> int:
    from emulator.workloads import snn

    if args.steps > 200:
        return fail(args, f"--steps {args.steps} is above 200", EXIT_USAGE, kind="usage")
    if args.n_test is not None and args.n_test < 2:
        return fail(args, "--n-test must be at least 2 (the first inference overlaps programming)",
                    EXIT_USAGE, kind="usage")
    from emulator.workloads.chiprun import SCRATCH
    work = SCRATCH / "snn"
    res = snn.run(args.steps, args.n_test, args.model, args.seed, work)
    if args.write:
        out = Path(args.write)
        out.mkdir(parents=True, exist_ok=True)
        for f in ["snn_digits.s", "snn_digits_x.npy", "snn_digits_w1.npy", "snn_digits_w2.npy"]:
            shutil.copy(work / f, out / f)
    report(args, res)
    s, m = res["snn"], res["mlp"]
    print(f"digits, {res['n']} test digits, {res['model']} chip, seed {res['seed']}: "
          f"spiking MLP ({res['steps']} time steps, thresholds {res['thr'][0]}/{res['thr'][1]}) vs MLP")
    print(f"{'':24}{'spiking':>12}{'MLP':>12}")
    print(f"{'accuracy':24}{s['accuracy']:>12.3f}{m['accuracy']:>12.3f}")
    print(f"{'spikes / inference':24}{s['spikes_per_inference']:>12.1f}{'-':>12}")
    print(f"{'latency / inference µs':24}{s['latency_us']:>12.1f}{m['latency_us']:>12.1f}")
    print(f"{'energy / inference nJ':24}{s['energy_nj']:>12.1f}{m['energy_nj']:>12.1f}")
    print(f"{'  of which scan nJ':24}{s['scan_nj']:>12.1f}{m['scan_nj']:>12.1f}")
    if "exact" in s:
        print(f"ideal chip spike counts equal the numpy reference: {'yes' if s['exact'] else 'NO'}")
    return EXIT_OK if s.get("exact", True) else EXIT_CHECK


def _learn(args) -> int:
    from emulator.workloads import learn

    if args.epochs > 50:
        return fail(args, f"--epochs {args.epochs} is above 50", EXIT_USAGE, kind="usage")
    res = learn.run(args.epochs, args.n_train, args.n_test, args.model, args.seed, both=args.both)
    report(args, res)
    off = res["offline"]
    what = "both layers" if res["both"] else "last layer"
    print(f"on-chip training of the digits MLP's {what}: {res['n_train']} training digits, "
          f"{res['n_test']} test digits, {res['model']} chip, seed {res['seed']}")
    print(f"{'epoch':>6}{'test accuracy':>15}{'train energy µJ':>17}{'train time s':>14}")
    for k, (a, e, t) in enumerate(zip(res["accuracy"], res["train_energy_uj"], res["train_time_s"]), 1):
        print(f"{k:>6}{a:>15.3f}{e:>17.1f}{t:>14.3f}")
    print(f"update pulses {res['update_pulses']} (max {res['max_pulses_per_cell']} on one cell), "
          f"{res['refreshes']} pair refreshes" + (f"; layer 1: {res['update_pulses_layer1']} update pulses"
                                                   if res["both"] else ""))
    print(f"offline-trained layer programmed by write-verify: accuracy {off['accuracy']:.3f}, "
          f"programming energy {off['program_energy_uj']:.2f} µJ, set-up time {off['program_time_s']:.3f} s")
    return 0


def _finetune(args) -> int:
    from emulator.workloads import finetune

    nets = tuple(n.strip() for n in args.nets.split(",") if n.strip())
    bad = [n for n in nets if n not in ("mlp", "cnn")]
    if bad or not nets:
        return fail(args, f"--nets takes mlp and/or cnn, got {args.nets!r}", EXIT_USAGE, kind="usage")
    if args.copies & (args.copies - 1) or args.copies > 16:
        return fail(args, f"--copies must be a power of two up to 16, got {args.copies}", EXIT_USAGE,
                    kind="usage")
    res = finetune.run(tuple(range(1, args.seeds + 1)), nets, args.n_train, args.n_test, args.noise_aware,
                       copies=args.copies, log=lambda s: print("  " + s))
    report(args, {"nets": res})
    print(f"chip-in-the-loop fine-tuning, {args.seeds} analog seeds, {args.copies} column cop"
          f"{'y' if args.copies == 1 else 'ies'} per weight: test accuracy mean ± sd")
    print(f"{'net':6}{'before':>18}{'after':>18}{'gain':>18}")
    for n, r in res.items():
        f = (lambda p: f"{100 * p[0]:.2f} ± {100 * p[1]:.2f} %")
        print(f"{n:6}{f(r['before']):>18}{f(r['after']):>18}{f(r['gain']):>18}")
    return 0
