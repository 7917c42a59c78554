"""`neurram sweep`: run a sweep specification, or show a results store (docs/sweeps.md).

    neurram sweep SPEC.toml [--out FILE.db] [--workers N | --scheduler ADDRESS] [--parquet FILE] [--quiet]
    neurram sweep show RESULTS.db [--png DIR]

Exit codes (docs/cli.md): 0 every point finished, 1 bad input (spec, store, options), 2 usage,
5 some points failed (recorded with their error in the store), 130 interrupted (rerun the same
command to resume).
"""
from __future__ import annotations

import argparse
import sys

from .common import EXIT_CHECK, EXIT_INTERRUPTED, EXIT_OK, record_error, report


def register(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="run a sweep spec on Dask into an SQLite store, or `sweep show DB`",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="SPEC.toml | show", help="a sweep specification, or `show`")
    p.add_argument("results", nargs="?", metavar="RESULTS.db", help="with show: the results store")
    p.add_argument("--out", metavar="FILE", help="results store (default: the spec's name with .db)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="LocalCluster worker processes (default: one per core; 0 = run in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask scheduler (tcp://host:8786)")
    p.add_argument("--parquet", metavar="FILE", help="also export the points as Parquet (needs pandas, pyarrow)")
    p.add_argument("--png", metavar="DIR", help="with show: also write the pictures as PNG (needs matplotlib)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def _err(args, msg: str) -> int:
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True, soft_wrap=True).print(Text(f"neurram sweep: {msg}", style="red"))
    return record_error(args, msg)


def main(args) -> int:
    from emulator.sweep.spec import SpecError
    from emulator.sweep.store import StoreError

    try:
        if args.target == "show":
            return _show(args)
        if args.results:
            return _err(args, f"unexpected argument {args.results!r} (did you mean `neurram sweep show {args.results}`?)")
        if args.workers is not None and args.workers < 0:
            return _err(args, f"--workers must be ≥ 0, got {args.workers}")
        if args.workers is not None and args.scheduler:
            return _err(args, "give --workers (a LocalCluster) or --scheduler (a running cluster), not both")
        if args.parquet:
            from emulator.sweep.store import check_parquet
            check_parquet()
        return _run(args)
    except (SpecError, StoreError) as e:
        return _err(args, str(e))


def _run(args) -> int:
    from emulator.sweep.engine import sweep
    from emulator.sweep.store import Store

    try:
        s = sweep(args.target, out=args.out, scheduler=args.scheduler, workers=args.workers,
                  progress=not args.quiet, parquet=args.parquet)
    except KeyboardInterrupt:
        from pathlib import Path

        out = args.out or Path(args.target).stem + ".db"   # the default of engine.sweep
        try:
            n = sum(1 for v in Store(out).finished().values() if v[0] == "ok")
        except Exception:
            n = "?"
        print(f"neurram sweep: interrupted; {n} finished points are stored in {out}: run the same "
              "command again to resume", file=sys.stderr)
        return record_error(args, f"interrupted; {n} finished points are stored in {out}",
                            EXIT_INTERRUPTED, kind="interrupted")
    where = "in this process" if s.workers == 0 else f"on {s.workers} Dask worker{'s' * (s.workers != 1)}"
    print(f"{s.out}: {s.ok} of {s.points} points finished, {s.failed} failed; {s.skipped} were already "
          f"stored, {s.ran} run now {where} in {s.wall_s:.1f} s")
    if args.parquet:
        print(f"wrote {args.parquet}")
    report(args, {"store": str(s.out), "points": s.points, "all_finished": s.ok == s.points, "finished": s.ok,
                  "failed": s.failed, "skipped": s.skipped, "ran": s.ran, "workers": s.workers,
                  "wall_s": s.wall_s})
    if s.failed:
        print(f"neurram sweep: {s.failed} points failed (their errors are in the `error` column); "
              "rerunning retries a point that failed only once", file=sys.stderr)
        return EXIT_CHECK
    return EXIT_OK


def _show(args) -> int:
    from rich.console import Console

    from emulator.sweep.show import pictures, table, write_pngs
    from emulator.sweep.store import Store

    if not args.results:
        return _err(args, "show needs a results file: neurram sweep show RESULTS.db")
    st = Store(args.results)
    rows = st.rows()
    failed = [r for r in rows if r["status"] == "failed"]
    con = Console()
    con.print(table(rows, f"{st.meta.get('name')}: {len(rows) - len(failed)} finished points, {len(failed)} failed "
                          f"(mean ± sd over seeds)"))
    for f in failed[:5]:
        con.print(f"failed {f['params']}: {f['error']}", soft_wrap=True, highlight=False)
    for pic in pictures(rows):
        con.print(pic)
    if args.png:
        try:
            for p in write_pngs(rows, args.png):
                print(f"wrote {p}")
        except RuntimeError as e:
            return _err(args, str(e))
    if args.parquet:
        print(f"wrote {st.export_parquet(args.parquet)}")
    report(args, {"store": str(args.results), "name": st.meta.get("name"), "points": len(rows),
                  "failed": len(failed), "rows": rows})
    return EXIT_OK
