"""`neurram compile model.onnx`: the ONNX branch of `neurram compile` (emulator/cli/compile.py
dispatches here on the .onnx suffix).  --inputs / --calib are .npy batches in the graph's input
shape (N × C × H × W, T × N × F for an LSTM with layout 0, …) or already flat N × n_in rows."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np


def _batch(path, what: str):
    """A numeric .npy batch of any rank (the graph's input shape), or a MapError naming the file."""
    from emulator.mapper import MapError

    if path is None:
        return None
    try:
        a = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise MapError(f"{path}: no such file ({what})") from None
    except (ValueError, OSError, EOFError) as e:
        raise MapError(f"{path}: not a .npy array ({what}): {e}") from None
    if not isinstance(a, np.ndarray):
        a.close()
        raise MapError(f"{path}: {what} must be a .npy array, not an .npz archive")
    if a.dtype.kind not in "biuf" or a.ndim < 2 or a.size == 0:
        raise MapError(f"{path}: {what} must be a numeric batch (N × …), got {a.ndim}-D {a.dtype}, {a.size} values")
    a = a.astype(float)
    if not np.isfinite(a).all():
        raise MapError(f"{path}: {what} contains non-finite values (NaN or inf)")
    return a


def compile_onnx_file(args) -> int:
    from rich.console import Console
    from rich.text import Text

    from .common import EXIT_OK, record_error, report
    from .options import show_pictures, slot_cores
    from emulator.mapper import MapError
    from emulator.mapper.onnx_import import compile_onnx

    con = Console(stderr=True, soft_wrap=True)
    out = Path(args.output)
    try:
        if out.suffix != ".s" or not re.fullmatch(r"[\w.+-]+", out.stem):
            raise MapError(f"-o {args.output}: the output must be a .s file whose name uses letters, digits, "
                           "'_', '-', '+' or '.' (it also names the .npy data files)")
        if args.replicate != 1 or args.known:
            raise MapError("--replicate and --known are not available for ONNX models")
        if args.copies < 1 or args.age_ms < 0:
            raise MapError("--copies must be ≥ 1 and --age-ms ≥ 0")
        c = compile_onnx(args.model, _batch(args.inputs, "--inputs"), _batch(args.calib, "--calib"), out.stem,
                         copies=args.copies, age_ms=args.age_ms, in_scale=args.in_scale)
        path = c.write(out)
    except MapError as e:
        con.print(Text(f"neurram compile: {e}", style="red"))
        return record_error(args, str(e))
    except OSError as e:
        con.print(Text(f"neurram compile: cannot write {args.output}: {e.strerror or e}", style="red"))
        return record_error(args, f"cannot write {args.output}: {e.strerror or e}")
    print(c.core_map)
    show_pictures(args, slot_cores(c.slots), None, out.stem)
    print(f"wrote {path} and {', '.join(c.data)}")
    print(f"run:  neurram run {path} --dump out::i16 --dump pred")
    report(args, {"model": str(args.model), "program": str(path), "data": [str(d) for d in c.data],
                  "cores": sorted({int(core) for core, *_r in slot_cores(c.slots)}),
                  "run": f"neurram run {path} --dump out::i16 --dump pred"})
    return EXIT_OK
