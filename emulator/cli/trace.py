"""`neurram trace diff A B` and `neurram trace show FILE`: compare and read commit-log traces.

Exit codes (docs/cli.md): 0 identical, 5 different (`diff`), 1 unusable input (missing,
truncated, foreign or newer-format file, or two traces of different forms), 2 usage.
"""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from .common import EXIT_CHECK, EXIT_INPUT, EXIT_OK, record_error, report

EXIT_SAME, EXIT_DIFFERENT, EXIT_UNUSABLE = EXIT_OK, EXIT_CHECK, EXIT_INPUT


def register(subparsers) -> None:
    p = subparsers.add_parser("trace", help="compare or show commit-log traces",
                              description="Work with traces written by `neurram run --trace`.")
    sub = p.add_subparsers(dest="trace_command", metavar="ACTION", required=True)

    d = sub.add_parser("diff", help="first divergence between two traces",
                       description="Compare two traces record by record (ignoring the fields their "
                                   "headers mask) and show the first divergence with context.",
                       epilog="Exit codes: 0 identical, 5 different, 1 unusable input, 2 usage.")
    d.add_argument("a")
    d.add_argument("b")
    d.add_argument("--context", type=int, default=3, metavar="N", help="lines of context (default 3)")
    d.add_argument("--ignore", default="", metavar="FIELDS",
                   help="comma-separated fields to ignore as well, e.g. cycle,stall")
    d.set_defaults(func=_diff)

    s = sub.add_parser("show", help="pretty-print a slice of a trace",
                       description="Print trace records, optionally only a cycle window, a core or "
                                   "some event kinds.")
    s.add_argument("file")
    s.add_argument("--from", dest="start", type=lambda t: int(t, 0), default=None, metavar="CYCLE")
    s.add_argument("--to", dest="stop", type=lambda t: int(t, 0), default=None, metavar="CYCLE")
    s.add_argument("--core", type=int, default=None, metavar="N", help="events of core N only")
    s.add_argument("--kind", default=None, metavar="KINDS",
                   help="comma-separated record kinds: insn, mvm, scan_in, scan_out, prog, end, …")
    s.add_argument("--limit", type=int, default=200, metavar="N", help="at most N records (default 200)")
    s.set_defaults(func=_show)


def _diff(args) -> int:
    from emulator.trace.diff import diff_traces, render
    from emulator.trace.textfmt import TraceFormatError, read_trace

    out, err = Console(highlight=False, soft_wrap=True), Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        a, b = read_trace(args.a), read_trace(args.b)
        res = diff_traces(a, b, set(filter(None, args.ignore.split(","))))
    except TraceFormatError as e:
        err.print(f"[red]error:[/] {escape(str(e))}")
        return record_error(args, str(e), EXIT_UNUSABLE)
    d = res.divergence
    report(args, {"same": res.same, "compared": res.compared, "instructions": res.instructions,
                  "masked": sorted(res.masked), "notes": list(res.notes),
                  "divergence": None if d is None else {
                      "index": d.index, "a": d.a.raw if d.a else None, "b": d.b.raw if d.b else None,
                      "fields": [{"field": f, "a": x, "b": y} for f, x, y in d.fields]},
                  "cycle_drift": res.cycle_drift})
    for line in render(res, args.context):
        style = ("green" if line.startswith("identical") else "yellow" if line.startswith("note")
                 else "red" if line.startswith(("traces differ", "  A ", "  B ")) else "")
        out.print(f"[{style}]{escape(line)}[/]" if style else escape(line))
    return EXIT_SAME if res.same else EXIT_DIFFERENT


def _show(args) -> int:
    from emulator.trace.textfmt import TraceFormatError, read_trace

    out, err = Console(highlight=False, soft_wrap=True), Console(stderr=True, highlight=False)
    try:
        trace = read_trace(args.file)
    except TraceFormatError as e:
        err.print(f"[red]error:[/] {escape(str(e))}")
        return record_error(args, str(e), EXIT_UNUSABLE)
    kinds = set(filter(None, (args.kind or "").split(",")))
    if (args.start is not None or args.stop is not None) and trace.form != "timed":
        err.print("[red]error:[/] --from/--to need a timed trace (this one has no cycles)")
        return record_error(args, "--from/--to need a timed trace (this one has no cycles)",
                            EXIT_UNUSABLE)
    for key in ("form", "model", "seed", "program", "source"):
        if key in trace.header:
            out.print(f"[dim]{key}[/] {escape(trace.header[key])}")
    shown = 0
    records = []
    for line in trace.lines:
        f = line.fields
        if "cycle" in f:
            c = int(f["cycle"], 16)
            if (args.start is not None and c < args.start) or (args.stop is not None and c >= args.stop):
                continue
        kind = "insn" if line.kind == "I" else f.get("event", "")
        if kinds and kind not in kinds:
            continue
        if args.core is not None and (line.kind == "I" or f.get("core") != f"{args.core:02d}"):
            continue
        if shown >= args.limit:
            out.print(f"[dim]… more records (raise --limit)[/]")
            break
        text = escape(line.raw)
        out.print(f"[cyan]{text}[/]" if line.kind == "E" else text)
        records.append(line.raw)
        shown += 1
    foot = " ".join(f"{k}={v}" for k, v in trace.footer.items())
    out.print(f"[dim]end {escape(foot)}[/]")
    report(args, {"file": str(args.file), "form": trace.form, "header": dict(trace.header),
                  "footer": dict(trace.footer), "records": records})
    return EXIT_OK

