"""`neurram compile`: a numpy model file (docs/mapper.md) mapped to an NR48 program.

    neurram compile MODEL.npz -o prog.s [--inputs X.npy] [--calib X.npy] [--in-scale S] [--copies R]
                    [--age-ms MS] [--replicate N] [--known MASK.npy --steps S --keep K] [--map] [--png DIR]

MODEL.npz is a model file (docs/mapper.md): a __model__ JSON description of dense, conv2d,
maxpool2d and rnn layers, or of an RBM, with the float arrays beside it — written by
emulator.mapper.save_model — or plain W0, b0, W1, b1, … (dense layers, ReLU on all but the last).
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from .common import EXIT_OK, fail, record_error, report
from .options import show_pictures, slot_cores


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
    p.add_argument("--batched", action="store_true",
                   help="a batched program (bmvm per core over the batch, conv patches as a batch, an "
                        "RNN's sequences or an RBM's chains as batches keyed by bkey; same results as the "
                        "default per-sample loop)")
    p.add_argument("--replicate", type=int, default=1, metavar="N",
                   help="place N copies of the network on idle cores and split the batch across them")
    p.add_argument("--known", help="RBM: .npy mask (N × n_v) of pixels known to be right (clamped); "
                   "without it every pixel is resampled (corruption positions unknown)")
    p.add_argument("--steps", type=int, default=16, help="RBM: Gibbs steps per image (default 16)")
    p.add_argument("--keep", type=int, default=8, help="RBM: vote over the last K samples (default 8)")
    p.add_argument("--map", action="store_true", help="also show the core map as a coloured 8 × 6 grid")
    p.add_argument("--png", metavar="DIR", help="also write DIR/<name>_cores.png (needs matplotlib)")
    p.set_defaults(func=_compile)


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

    from emulator.mapper import MapError, compile_batched, compile_model, quantise
    from emulator.mapper.modelfile import load_model

    if Path(args.model).suffix.lower() == ".onnx":      # ONNX graphs (emulator/cli/onnx_compile.py)
        from .onnx_compile import compile_onnx_file

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
            from emulator.mapper import compile_rbm, quantise_rbm

            n_v = m.W.shape[0]
            V = _npy(args.inputs, "--inputs (binary images)", n_v) if args.inputs else np.zeros((1, n_v))
            known = _npy(args.known, "--known (mask of known pixels)", n_v) if args.known else None
            if known is not None and known.shape != V.shape:
                raise MapError(f"{args.known}: --known must have the shape of --inputs {V.shape}, got {known.shape}")
            q = quantise_rbm(m)
            c = compile_rbm(q, (V > 0).astype(np.int64), None if known is None else known > 0,
                            steps=args.steps, keep=args.keep, name=name, age_ms=args.age_ms, batched=args.batched)
            hint = f"--dump {c.extra['result']}"
        else:
            n_in = (int(np.prod(m.in_shape)) if m.in_shape is not None else
                    m.layers[0].steps * m.layers[0].Wx.shape[0] if kind == "SimpleRNN" else m.layers[0].W.shape[0])
            X = _npy(args.inputs, "--inputs", n_in) if args.inputs else np.zeros((1, n_in))
            C = _npy(args.calib, "--calib", n_in) if args.calib else X
            if kind == "SimpleRNN":
                from emulator.mapper import compile_rnn, quantise_rnn

                q = quantise_rnn(m, C, copies=args.copies)
                if args.batched:
                    from emulator.mapper import compile_rnn_batched

                    c = compile_rnn_batched(q, q.encode(X), name=name, age_ms=args.age_ms)
                else:
                    c = compile_rnn(q, q.encode(X), name=name, age_ms=args.age_ms)
            else:
                q = quantise(m, C, copies=args.copies)
                from emulator.mapper.multichip import compile_system, cores_of
                if args.batched and args.replicate != 1:
                    raise MapError("--batched and --replicate: a batch already keeps each core busy; choose one")
                if sum(cores_of(L) for L in q.layers) > 48 and args.replicate == 1 and not args.age_ms \
                        and not args.batched:
                    return _write_system(args, con, compile_system(q, q.encode(X), name=name), args.output)
                if args.batched:
                    c = compile_batched(q, q.encode(X), name=name, age_ms=args.age_ms)
                else:
                    c = compile_model(q, q.encode(X), name=name, age_ms=args.age_ms,
                                      **({"replicate": args.replicate} if args.replicate != 1 else {}))
            hint = "--dump out::i16 --dump pred"
        path = c.write(args.output)
    except MapError as e:
        con.print(Text(f"neurram compile: {e}", style="red"))
        return record_error(args, str(e))
    except OSError as e:
        con.print(Text(f"neurram compile: cannot write {args.output}: {e.strerror or e}", style="red"))
        return record_error(args, f"cannot write {args.output}: {e.strerror or e}")
    print(c.core_map)
    try:
        show_pictures(args, slot_cores(c.slots), None, name)
    except OSError as e:
        con.print(Text(f"neurram compile: cannot write the pictures into {args.png}: {e.strerror or e}", style="red"))
        return record_error(args, f"cannot write the pictures into {args.png}: {e.strerror or e}")
    print(f"wrote {path} and {', '.join(c.data)}")
    print(f"run:  neurram run {path} {hint}")
    report(args, {"model": str(args.model), "program": str(path), "data": [str(d) for d in c.data],
                  "cores": sorted({int(core) for core, *_r in slot_cores(c.slots)}),
                  "run": f"neurram run {path} {hint}"})
    return EXIT_OK


def _write_system(args, con, sc, output) -> int:
    """A model over more than 48 cores: one program per chip and the system file that runs them."""
    try:
        toml = sc.write(output)
    except OSError as e:
        return fail(args, f"cannot write {output}: {e.strerror or e}")
    print(sc.map_text())
    progs = sorted(toml.parent.glob(toml.stem + '_chip*.s'))
    print(f"wrote {toml} ({len(sc.chips)} chips: {', '.join(p.name for p in progs)})")
    hint = f"neurram run {toml} --dump {len(sc.chips) - 1}/out::i16 --dump {len(sc.chips) - 1}/pred"
    print(f"run:  {hint}")
    report(args, {"model": str(args.model), "system": str(toml), "programs": [str(p) for p in progs],
                  "chips": len(sc.chips), "run": hint})
    return EXIT_OK
