"""`neurram run`: run a program on the emulated chip and report what happened.

    neurram run prog.s|prog.img [--model ideal|analog] [--seed N] [--config chip|board|my.toml]
                [--max-cycles N] [--json FILE] [--dump SPEC ...] [--report] [--profile]

--report prints the energy/latency tables (per core, per instruction class, MVM latency, TOPS,
TOPS/W) and, for a program that defines calib_w / calib_x / calib_y (programs/calibrate.s),
the per-column calibration residual.  --profile prints the run's profile by enclosing label
(emulator/perf.py).  The JSON report always carries the same numbers.

A dump SPEC is `NAME=ADDR:COUNT:DTYPE` (ADDR a number or a symbol) or `SYMBOL[:COUNT[:DTYPE]]`;
without a count (or with an empty one, `SYMBOL::i16`) a symbol's dump covers its extent, and the
default DTYPE is the symbol's declared element type (emulator/dumps.py).  The program checker
reports findings as warnings (`--strict`: faults, `--no-check`: off).  Exit codes (docs/cli.md):
0 halt, 1 bad input, 2 usage, 3 fault (including cycle_limit and strict findings), 4 ebreak,
130 interrupted (Ctrl+C prints the pc, file:line and cycle it stopped at).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from .common import EXIT_EBREAK, EXIT_FAULT, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, fail, report
from .options import (UsageError, add_check_options, add_dump_option, add_json_option,
                      add_machine_options, cycles, parse_dump, positive, print_diagnostics)

DEFAULT_MAX_CYCLES = 10**10   # 100 s of chip time at 100 MHz: only a runaway program gets there


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="run a program on the emulated chip",
        description="Assemble (if needed), load and run an NR48 program; print cycles, time, "
                    "stalls, per-core utilisation and the requested memory dumps.",
        epilog="Exit codes: 0 halt, 1 bad input, 2 usage, 3 fault, 4 stopped at ebreak, "
               "130 interrupted (docs/cli.md).")
    p.add_argument("program", help="a .s source or an .img image (with its .map if present), "
                   "or a system .toml with one program per chip (docs/machine.md, Systems)")
    add_machine_options(p, model_help="numeric model: ideal or analog (default from the configuration: ideal)",
                        seed_help="seed of every random draw (default 0)")
    p.add_argument("--report", action="store_true",
                   help="print the energy/latency report (and the calibration residual of a "
                        "calibration program)")
    p.add_argument("--profile", action="store_true",
                   help="print where cycles, stalls, MVMs and energy went, by enclosing label "
                        "(one-time weight programming apart); the JSON report always has it")
    p.add_argument("--max-cycles", type=cycles, default=DEFAULT_MAX_CYCLES, metavar="N",
                   help="stop with fault cycle_limit after N cycles (1..2^62, default %(default)s)")
    add_check_options(p)
    p.add_argument("--link", choices=("host", "c2c"),
                   help="a system's link preset (overrides the system file's `link`)")
    add_json_option(p)
    add_dump_option(p)
    t = p.add_argument_group("traces (docs/trace-format.md)")
    t.add_argument("--trace", metavar="FILE", help="write a commit-log trace of the run")
    t.add_argument("--trace-format", choices=("timed", "functional", "jsonl"), default="timed",
                   help="timed (default), functional (no cycles: stable across timing changes) or jsonl")
    t.add_argument("--trace-core", type=int, action="append", metavar="N",
                   help="keep core events of core N only (repeatable; instructions are kept)")
    t.add_argument("--trace-kind", metavar="K,K", help="keep these record kinds only: insn, wake, "
                   "scan_in, scan_out, mvm, smp, prog, end, power_off, fault")
    t.add_argument("--vcd", metavar="FILE", help="write waveforms (pc, stalls, core phases, chains, registers)")
    t.add_argument("--from", dest="t_from", type=lambda v: int(v, 0), default=0, metavar="CYCLE",
                   help="start of the cycle window of --trace and --vcd (default 0)")
    t.add_argument("--to", dest="t_to", type=lambda v: int(v, 0), default=None, metavar="CYCLE",
                   help="end (exclusive) of the cycle window of --trace and --vcd")
    t.add_argument("--trace-limit", type=positive, default=None, metavar="N",
                   help="stop the run after N records inside the window (default 4,000,000)")
    p.set_defaults(func=main)


def _recorder(args, machine):
    """The trace/VCD recorder the arguments ask for, or None."""
    if not args.trace and not args.vcd:
        return None
    from emulator.trace.capture import MAX_RECORDS, TraceRecorder

    filters = trace_filters(args)
    try:
        return TraceRecorder(machine, args.trace, args.trace_format, filters, args.vcd,
                             (args.t_from, args.t_to), max_records=args.trace_limit or MAX_RECORDS)
    except OSError as e:
        raise UsageError(f"cannot write {e.filename}: {e.strerror or e}") from None


def trace_filters(args):
    """The --from/--to/--trace-core/--trace-kind filters (UsageError on a bad one)."""
    from emulator.trace.records import KINDS
    from emulator.trace.textfmt import Filters

    kinds = None
    if args.trace_kind:
        kinds = frozenset(k.strip() for k in args.trace_kind.split(",") if k.strip())
        bad = sorted(kinds - set(KINDS) - {"phase"} | (kinds & {"phase"}))
        if bad:
            raise UsageError(f"--trace-kind: unknown kind {', '.join(bad)} "
                             f"(one of {', '.join(k for k in KINDS if k != 'phase')})")
    cores = frozenset(args.trace_core) if args.trace_core else None
    if cores and not all(0 <= c < 48 for c in cores):
        raise UsageError("--trace-core: core ids are 0–47")
    if args.t_to is not None and args.t_to <= args.t_from:
        raise UsageError(f"--to {args.t_to} must be after --from {args.t_from}")
    return Filters(args.t_from, args.t_to, cores, kinds)


def _load(args):
    """Machine + loaded program, or UsageError / AsmError."""
    from emulator.machine import Machine

    path = Path(args.program)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.suffix not in (".s", ".img", ".S", ".asm"):
        raise UsageError(f"{path}: expected a .s source or an .img image")
    machine = Machine(model=args.model, seed=args.seed, config=args.config, check=args.check)
    machine.load(path)
    machine.enable_profile()
    for note in machine.program.notes:
        print(f"neurram run: warning: {note}", file=sys.stderr)
    return machine


def main(args: argparse.Namespace) -> int:
    from asm import AsmError
    from asm.image import ImageError
    from emulator._native import CoreError
    from emulator.config import ConfigError

    if Path(args.program).suffix == ".toml":
        from .run_system import main as run_system
        return run_system(args)
    try:
        machine = _load(args)
        dumps = [parse_dump(s, machine) for s in args.dump]
        recorder = _recorder(args, machine)
    except AsmError as e:
        return fail(args, str(e), prefix=False, details=asm_error_details(e))
    except (UsageError, ConfigError, ImageError, CoreError, FileNotFoundError) as e:
        return fail(args, str(e))
    if recorder is not None:
        recorder.start()
    from emulator.trace.capture import TraceLimit
    try:
        result = machine.run(max_cycles=args.max_cycles)
    except KeyboardInterrupt:
        return _interrupted(args, machine, recorder)
    except TraceLimit as e:
        recorder.finish(replace(machine.result(), cycles=e.cycle))
        report(args, {"stop": "trace_limit", "cycles": machine.cycle, "pc": machine.pc})
        return fail(args, str(e), EXIT_FAULT, kind="trace_limit")
    if recorder is not None:
        try:
            recorder.finish(result)
        except OSError as e:
            return fail(args, f"cannot write {e.filename}: {e.strerror or e}")
    values = {d.name: machine.mem(d.addr, d.count, d.dtype).tolist() for d in dumps}
    rep = _report(machine, result, args, dumps, values)
    print_diagnostics("run", machine, rep)
    _print_summary(machine, result, dumps, values)
    if getattr(args, "report", False):
        _print_report(rep)
    if getattr(args, "profile", False):
        _print_profile(rep["code_profile"])
    report(args, rep)
    if result.stop == "fault":
        print(result.message, file=sys.stderr)
        return EXIT_FAULT
    if result.stop == "ebreak":
        where = result.location or f"pc {result.pc:#x}"
        print(f"{where}: stopped at ebreak (pc {result.pc - 4:#x})", file=sys.stderr)
        return EXIT_EBREAK
    return EXIT_OK


def _interrupted(args, machine, recorder) -> int:
    """Ctrl+C: say where the run stopped (the machine is consistent between slices)."""
    if recorder is not None:
        try:
            recorder.finish(machine.result())
        except OSError:
            pass
    where = machine.source_location(machine.pc)
    msg = (f"interrupted at pc {machine.pc:#x}{f' ({where})' if where else ''}, "
           f"cycle {machine.cycle:,}")
    report(args, {"pc": machine.pc, "location": where, "cycles": machine.cycle})
    return fail(args, msg, EXIT_INTERRUPTED, kind="interrupted")


def asm_error_details(e) -> dict:
    return {"diagnostics": [{"file": d.file, "line": d.line, "column": d.col, "message": d.message}
                            for d in e.diagnostics]}


def _core_rows(machine, result):
    util = result.core_utilisation
    for i in result.cores_used:
        k = machine.cores[i].counters
        yield i, machine.cores[i].chain, result.core_busy[i], util[i], k


def _report(machine, result, args, dumps, values) -> dict:
    rep = result.to_dict()
    rep["program"] = str(args.program)
    rep["profile"] = machine.config.profile
    rep["model"] = machine.config["model"]
    rep["seed"] = machine.config["seed"]
    rep["config"] = list(machine.config.sources)
    for i, chain, _busy, _u, k in _core_rows(machine, result):
        rep["cores"][str(i)].update(chain=chain, mvms=k["mvms"], samples=k["samples"],
                                    prog_cells=k["prog_cells"], prog_pulses=k["prog_pulses"],
                                    prog_failed=k["prog_failed"], prog_outside=k["prog_outside"])
    rep["energy"] = machine.energy_report()
    rep["code_profile"] = machine.profile_report()
    from emulator.calibrate import from_machine, has_calibration
    if has_calibration(machine) and result.ok:
        try:
            rep["calibration"] = from_machine(machine).to_dict()
        except ValueError as e:   # a program that only borrows the symbol names
            print(f"neurram run: warning: no calibration report: {e}", file=sys.stderr)
    rep["dumps"] = {d.name: {"addr": d.addr, "dtype": d.dtype, "values": values[d.name]}
                    for d in dumps}
    return rep


def _time(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.4g} {unit}"
    return f"{seconds / 1e-9:.4g} ns"


def _print_summary(machine, result, dumps, values, to_stderr: bool = False) -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    con = Console(highlight=False, stderr=to_stderr)
    name = machine.program.name if machine.program else "?"
    stop = result.fault if result.stop == "fault" else result.stop
    style = "green" if result.ok else "red"
    con.print(f"[bold]{name}[/]: [{style}]{stop}[/] after {result.cycles:,} cycles "
              f"= {_time(result.time_s)} at {machine.config.clock_hz / 1e6:g} MHz", soft_wrap=True)
    stall_pct = 100 * result.stall_cycles / result.cycles if result.cycles else 0.0
    con.print(f"instructions {result.instructions:,}   stall cycles {result.stall_cycles:,} "
              f"({stall_pct:.1f} %)   profile {machine.config.profile}, model {machine.config['model']}, "
              f"seed {machine.config['seed']}",
              soft_wrap=True)
    rows = list(_core_rows(machine, result))
    if rows:
        t = Table(title="cores used", title_justify="left")
        for col in ("core", "chain", "busy cycles", "utilisation", "MVMs", "samples", "cells programmed"):
            t.add_column(col, justify="right")
        for i, chain, busy, u, k in rows:
            t.add_row(str(i), str(chain), f"{busy:,}", f"{100 * u:.1f} %", str(k["mvms"]),
                      str(k["samples"]), f"{k['prog_cells']:,}")
        con.print(t)
    for d in dumps:
        arr = np.array(values[d.name])
        text = np.array2string(arr, max_line_width=100, threshold=1 << 20, separator=" ")
        con.print(f"[bold]{d.name}[/] ({d.count} × {d.dtype} at {d.addr:#x}):")
        con.print(text, soft_wrap=True)


def _eng(pj: float) -> str:
    for unit, scale in (("J", 1e12), ("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3)):
        if pj >= scale:
            return f"{pj / scale:.4g} {unit}"
    return f"{pj:.4g} pJ"


def _print_report(rep: dict, to_stderr: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(highlight=False, stderr=to_stderr)
    e = rep["energy"]
    t = Table(title=f"energy per core (profile {e['profile']}, model {e['model']})", title_justify="left")
    cats = ("wl", "input", "neuron", "scan", "program", "leakage")
    for col in ("core", "MVMs", "MACs", "mean MVM latency", *cats, "total"):
        t.add_column(col, justify="right")
    for i, c in e["cores"].items():
        lat = c["mean_mvm_latency_s"]
        t.add_row(i, str(c["mvms"]), f"{c['events']['macs']:,}", _time(lat) if lat else "-",
                  *(_eng(c["energy_pj"][k]) for k in cats), _eng(c["total_pj"]))
    t.add_row("all", str(e["mvms"]), f"{e['macs']:,}",
              _time(e["mean_mvm_latency_s"]) if e["mean_mvm_latency_s"] else "-",
              *(_eng(e["by_category_pj"][k]) for k in cats), _eng(e["cores_pj"]), style="bold")
    con.print(t)
    t = Table(title="controller energy per instruction class", title_justify="left")
    for col in ("class", "instructions", "energy"):
        t.add_column(col, justify="right")
    for k, c in e["by_instruction_class"].items():
        extra = f" (+{c['elements']:,} elements)" if "elements" in c else ""
        t.add_row(k, f"{c['instructions']:,}{extra}", _eng(c["energy_pj"]))
    con.print(t)
    con.print(f"total energy {_eng(e['total_pj'])} (cores {_eng(e['cores_pj'])}, controller "
              f"{_eng(e['controller_pj'])}) over {_time(e['time_s']) if e['time_s'] else '0 s'}, "
              f"average power {e['average_power_w'] * 1e3:.4g} mW", soft_wrap=True)
    con.print(f"throughput {e['tops']:.4g} TOPS over the run, {e['tops_mvm']:.4g} TOPS while "
              f"MVMs run; efficiency {e['tops_per_w']:.4g} TOPS/W (whole chip), "
              f"{e['tops_per_w_mvm']:.4g} TOPS/W (MVMs: WL + input + neuron)   [1 MAC = 2 ops; "
              f"energies per docs/analog.md]")
    progs = {i: c for i, c in rep["cores"].items() if c.get("prog_cells")}
    for i, c in progs.items():
        con.print(f"core {i}: programmed {c['prog_cells']:,} cells with {c['prog_pulses']:,} "
                  f"pulses, {c['prog_failed']} gave up, {c['prog_outside']} outside ±g_tol "
                  f"({100 * c['prog_outside'] / c['prog_cells']:.3f} %)")
    cal = rep.get("calibration")
    if cal:
        t = Table(title=f"calibration residual per column, output LSB (fit on {cal['n_fit']} "
                        f"vectors, measured on {cal['n_test']})", title_justify="left")
        for col in ("column", "slope", "intercept", "RMS before", "RMS after"):
            t.add_column(col, justify="right")
        for j in range(cal["columns"]):
            t.add_row(str(j), f"{cal['slope'][j]:.3f}", f"{cal['intercept'][j]:+.2f}",
                      f"{cal['rms_before_lsb'][j]:.2f}", f"{cal['residual_lsb'][j]:.2f}")
        t.add_row("mean", "", "", f"{cal['mean_rms_before_lsb']:.2f}",
                  f"{cal['mean_residual_lsb']:.2f}", style="bold")
        con.print(t)


def _print_profile(prof: dict, to_stderr: bool = False) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    con = Console(highlight=False, stderr=to_stderr)
    total = prof["cycles"] or 1
    t = Table(title=f"profile by label (profile {prof['profile']}; * = one-time weight programming; "
                    f"MVM = WL + input + neuron)", title_justify="left", box=box.SIMPLE, padding=(0, 1))
    wait = any(g["prog_wait"] for g in prof["groups"])    # stalls on programming, shown when any
    for col in ("label", "entries", "insns", "cycles", "%", "stall", *(("prog wait",) if wait else ()),
                "MVMs", "MACs", "MVM", "scan", "program", "control", "energy"):
        t.add_column(col, justify="left" if col == "label" else "right")

    def row(name, g, style=None):
        e = g["energy_pj"]
        t.add_row(name, f"{g['entries']:,}" if "entries" in g else "", f"{g['insns']:,}",
                  f"{g['cycles']:,}", f"{100 * g['cycles'] / total:.1f}", f"{g['stall_cycles']:,}",
                  *((f"{g['prog_wait']:,}",) if wait else ()),
                  f"{g['mvms']:,}", f"{g['macs']:,}", _eng(e["wl"] + e["input"] + e["neuron"]),
                  _eng(e["scan"]), _eng(e["program"]), _eng(e["controller"]), _eng(g["total_pj"]),
                  style=style)
    for g in prof["groups"]:
        row(g["label"] + (" *" if g["one_time"] else ""), g)
    row("one-time", prof["one_time"], "bold")
    row("run", prof["run"], "bold")
    con.print(t)
    if wait:
        con.print("prog wait: cycles stalled on a core still being programmed; the one-time and run "
                  "totals count them as one-time work", soft_wrap=True)
    con.print(f"leakage (powered cores, not attributed to code): {_eng(prof['leakage_pj'])}; "
              f"energies per docs/analog.md (profile {prof['profile']})", soft_wrap=True)
