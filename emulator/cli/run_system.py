"""`neurram run system.toml`: run a multi-chip system (docs/machine.md, Systems).

A system file lists one program per chip and the link preset:

    link = "c2c"              # or "host"
    [[chip]]
    program = "ping.s"
    [[chip]]
    program = "pong.s"
    config = "chip1.toml"     # optional per-chip configuration (profile), relative to the file

`--model`, `--seed` and `--config` apply to every chip (a chip's own `config` goes first);
`--link` overrides the file's preset.  A dump names its chip: `--dump 1/buf:8:i8` (no prefix:
chip 0).  The summary has one line per chip and the link table; --report adds each chip's
energy and the links' energy.  Exit codes as for a program: 0 every chip halted, 1 bad input,
3 fault or deadlock (the message names the chips and pcs), 4 ebreak.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .common import EXIT_EBREAK, EXIT_FAULT, EXIT_INTERRUPTED, EXIT_OK, fail, report
from .options import UsageError, parse_dump


def _split_dump(spec: str) -> tuple[int, str]:
    chip, slash, rest = spec.partition("/")
    if not slash:
        return 0, spec
    if not chip.isdigit():
        raise UsageError(f"--dump {spec!r}: expected CHIP/SPEC with a chip number before '/'")
    return int(chip), rest


def _build(args):
    from emulator.config import ChipConfig
    from emulator.system import System, load_system_file

    desc = load_system_file(args.program)
    configs = []
    for c in desc["configs"]:
        cfg = ChipConfig.load(c)
        if args.config:   # the command line's configuration goes over every chip's own
            cfg = cfg.updated(_overrides(args.config), str(args.config))
        configs.append(cfg)
    model = args.model or desc["model"]
    seed = args.seed if args.seed is not None else desc["seed"]
    link = args.link or desc["link"]
    system = System(len(desc["programs"]), model=model, seed=seed, config=configs, link=link)
    for p in desc["programs"]:
        if not Path(p).exists():
            raise UsageError(f"{args.program}: program {p} does not exist")
    system.load(desc["programs"])
    return system


def _overrides(path) -> dict:
    import tomllib
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"{path}: {e}") from None


def main(args) -> int:
    from asm import AsmError
    from asm.image import ImageError
    from emulator._native import CoreError
    from emulator.config import ConfigError

    try:
        system = _build(args)
        dumps = []
        for spec in args.dump:
            k, rest = _split_dump(spec)
            if not 0 <= k < system.n_chips:
                raise UsageError(f"--dump {spec!r}: no chip {k} (chips 0..{system.n_chips - 1})")
            dumps.append((k, parse_dump(rest, system.chips[k])))
        if args.max_cycles <= 0:
            raise UsageError(f"--max-cycles must be positive, got {args.max_cycles}")
        recorder = None
        if args.trace or args.vcd:
            from emulator.trace.system_capture import SystemTraceRecorder

            from .run import trace_filters
            recorder = SystemTraceRecorder(system, args.trace, args.trace_format, trace_filters(args),
                                           args.vcd, (args.t_from, args.t_to), name=str(args.program))
    except AsmError as e:
        from .run import asm_error_details
        return fail(args, str(e), prefix=False, details=asm_error_details(e))
    except (UsageError, ConfigError, ImageError, CoreError, FileNotFoundError) as e:
        return fail(args, str(e))
    if recorder is not None:
        recorder.start()
    try:
        result = system.run(max_cycles=args.max_cycles)
    except KeyboardInterrupt:   # the chips are consistent between the scheduler's slices
        where = "; ".join(f"chip {k} pc {c.pc:#x}" + (f" ({loc})" if (loc := c.source_location(c.pc)) else "")
                          for k, c in enumerate(system.chips))
        report(args, {"cycles": system.cycle, "chips": [{"pc": c.pc} for c in system.chips]})
        return fail(args, f"interrupted at cycle {system.cycle:,}: {where}", EXIT_INTERRUPTED,
                    kind="interrupted")
    if recorder is not None:
        try:
            recorder.finish(result)
        except OSError as e:
            return fail(args, f"cannot write {e.filename}: {e.strerror or e}")
    values = {f"{k}/{d.name}": system.chips[k].mem(d.addr, d.count, d.dtype).tolist()
              for k, d in dumps}
    rep = result.to_dict()
    rep.update(program=str(args.program), link=system.link_report(), dumps=values,
               energy=system.energy_report())
    _print(system, result, values, rep if args.report else None)
    report(args, rep)
    if result.stop in ("fault", "deadlock"):
        print(result.message, file=sys.stderr)
        return EXIT_FAULT
    if result.stop == "ebreak":
        print(f"chip {result.chip}: stopped at ebreak", file=sys.stderr)
        return EXIT_EBREAK
    return EXIT_OK


def _print(system, result, values, report) -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from .run import _eng, _time

    con = Console(highlight=False)
    style = "green" if result.ok else "red"
    con.print(f"[bold]system of {system.n_chips} chips[/] (link {system.link['name']}): "
              f"[{style}]{result.stop}[/] after {result.cycles:,} cycles = {_time(result.time_s)} "
              f"at {system.clock_hz / 1e6:g} MHz", soft_wrap=True)
    t = Table(title="chips", title_justify="left")
    for col in ("chip", "program", "stop", "cycles", "instructions", "stall cycles", "cores used"):
        t.add_column(col, justify="right")
    for k, (m, r) in enumerate(zip(system.chips, result.chips)):
        stop = r.fault if r.stop == "fault" else r.stop
        t.add_row(str(k), Path(m.program.name).name, stop, f"{r.cycles:,}", f"{r.instructions:,}",
                  f"{r.stall_cycles:,}", str(len(r.cores_used)))
    con.print(t)
    links = system.link_report()
    if links["links"]:
        t = Table(title=f"links ({links['preset']}: {links['source']})", title_justify="left")
        for col in ("link", "transfers", "bytes", "wire bytes", "busy cycles", "occupancy",
                    "queued cycles", "latency", "energy"):
            t.add_column(col, justify="right")
        for name, row in links["links"].items():
            t.add_row(name, f"{row['transfers']:,}", f"{row['bytes']:,}", f"{row['wire_bytes']:,}",
                      f"{row['busy_cycles']:,}", f"{100 * row['occupancy']:.2f} %",
                      f"{row['queue_cycles']:,}", _time(row["latency_cycles"] / system.clock_hz),
                      _eng(row["energy_pj"]))
        con.print(t)
    if report is not None:
        e = report["energy"]
        parts = ", ".join(f"chip {k} {_eng(c['total_pj'])}" for k, c in enumerate(e["chips"]))
        con.print(f"energy: {parts}, links {_eng(e['links']['total']['energy_pj'])}; "
                  f"total {_eng(e['total_pj'])}", soft_wrap=True)
    for name, vals in values.items():
        text = np.array2string(np.array(vals), max_line_width=100, threshold=1 << 20, separator=" ")
        con.print(f"[bold]{name}[/]:")
        con.print(text, soft_wrap=True)
