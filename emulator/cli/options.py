"""Options several `neurram` subcommands share, and their parsing: the machine (--model, --seed,
--config), the JSON report, memory dumps, the workload knobs and the core-map pictures (--map, --png).

A subcommand module calls the add_* helpers in its register(); the parsing helpers raise
UsageError, which the subcommand reports as one line without a traceback.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import dumps
from ..dumps import DTYPE_NAMES, Dump  # noqa: F401  (re-exported for the subcommands)
from .common import add_json_option  # noqa: F401  (re-exported: the JSON convention lives in common)



class UsageError(Exception):
    """A mistake in the command line or its inputs, reported as one line without a traceback."""


def positive(text: str) -> int:
    """argparse type: an integer ≥ 1 (any base int() accepts with base 0)."""
    try:
        n = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (got {n})")
    return n


def test_digits(text: str) -> int:
    """argparse type: a count of held-out test digits, 1 … 450."""
    from emulator.workloads.digits import N_TEST

    n = positive(text)
    if n > N_TEST:
        raise argparse.ArgumentTypeError(f"there are {N_TEST} test digits (got {n})")
    return n


def cycles(text: str) -> int:
    """argparse type of a cycle limit: an integer in 1..2^62 (machine times stay below 2^62)."""
    n = positive(text)
    if n > 2**62:
        raise argparse.ArgumentTypeError(f"must be at most 2^62 = {2**62} cycles (got {n})")
    return n


def add_machine_options(p, model_help: str, seed_help: str) -> None:
    """--model, --seed and --config: what emulator.machine.Machine takes."""
    p.add_argument("--model", help=model_help)
    p.add_argument("--seed", type=int, help=seed_help)
    p.add_argument("--config", metavar="PROFILE|TOML",
                   help="chip profile: chip (default, the silicon's timing and energy), board (the FPGA "
                        "test system's timing), or a .toml file of overrides (docs/configuration.md)")


def add_dump_option(p) -> None:
    p.add_argument("--dump", action="append", default=[], metavar="SPEC",
                   help="NAME=ADDR:COUNT:DTYPE or SYMBOL[:COUNT[:DTYPE]] (repeatable)")


def parse_dump(spec: str, machine) -> Dump:
    """Resolve one --dump SPEC against the loaded program (emulator.dumps), as a UsageError."""
    try:
        return dumps.parse_dump(spec, machine)
    except dumps.DumpError as e:
        raise UsageError(str(e)) from None


def add_config_option(p) -> None:
    """--config of the workload commands: the profile their chip runs use."""
    p.add_argument("--config", metavar="PROFILE|TOML", default=None,
                   help="chip profile of the runs: chip (default), board, or a .toml file")


def per_inference_line(pi: dict | None, profile: str, what: str = "ideal run") -> str:
    """One line of energy, latency and TOPS/W per inference (emulator.perf), programming excluded."""
    if not pi:
        return ""
    return (f"per inference ({what}, profile {profile}, weight programming excluded): energy "
            f"{pi['energy_j'] * 1e9:.4g} nJ (+ leakage estimate {pi['leakage_j'] * 1e9:.4g} nJ), "
            f"latency {pi['latency_s'] * 1e6:.4g} µs, {pi['macs']:,.0f} MACs, {pi['tops_w']:.4g} TOPS/W")


def add_workload_options(p, train_seed_default: str, write_help: str) -> None:
    """--seeds, --n-test, --retrain, --train-seed, --write and --config of the digits classifiers."""
    add_config_option(p)
    p.add_argument("--seeds", type=int, default=3, help="analog seeds 1..N (default 3)")
    p.add_argument("--n-test", type=test_digits, default=None, help="use the first N test digits (default all 450)")
    p.add_argument("--retrain", action="store_true", help="retrain both models instead of the shipped weights")
    p.add_argument("--train-seed", type=int, default=None,
                   help=f"training seed with --retrain (default{train_seed_default})")
    p.add_argument("--write", metavar="DIR", help=write_help)


def add_picture_options(p) -> None:
    p.add_argument("--map", action="store_true",
                   help="also show the core map grid and the accuracies as terminal graphics")
    p.add_argument("--png", metavar="DIR", help="also write the same pictures as PNG files into DIR (needs matplotlib)")


def slot_cores(slots) -> list:
    from emulator.mapper.pictures import slots_cores

    return slots_cores(slots)


def show_pictures(args, cores, levels, name) -> None:
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


def add_check_options(p) -> None:
    """--strict / --no-check: the program checker's mode (docs/machine.md, Program checker)."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--strict", dest="check", action="store_const", const="strict", default="warn",
                   help="program checker findings (accesses past a symbol's end, reads of "
                        "never-written memory, sync on an empty mask) are faults, not warnings")
    g.add_argument("--no-check", dest="check", action="store_const", const="off",
                   help="turn the program checker off")


def print_diagnostics(command: str, machine, rep: dict | None = None, limit: int = 20) -> list:
    """Print the checker's findings as warnings on stderr (all of them also go into `rep`)."""
    import sys

    found = machine.diagnostics
    if rep is not None:
        rep["diagnostics"] = [d.to_dict() for d in found]
        rep["diagnostics_total"] = machine.checker.total
    if machine.checker.mode == "warn":
        for d in found[:limit]:
            loc, _sep, text = d.message.partition(": ")
            print(f"{loc}: warning: {text}", file=sys.stderr)
        if len(found) > limit:
            print(f"neurram {command}: {len(found) - limit} more checker warnings (see --json)",
                  file=sys.stderr)
    return found
