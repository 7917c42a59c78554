"""Running a sweep: the points of a spec as independent Dask tasks (or in this process), each
result committed to the store as it arrives, finished points skipped on a restart.

    summary = sweep("programs/sweeps/digits_noise.toml", out="noise.db")          # LocalCluster
    summary = sweep(spec, out="noise.db", scheduler="tcp://host:8786")              # a running cluster
    summary = sweep(spec, out="noise.db", workers=0)                                # in-process

Only the client touches the store.  A point's builds (assembled program, test set, labels) are
made once on the client and scattered to every worker once (broadcast, so a killed worker's
replacement fetches them from a peer); the task itself ships only the point's parameters.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .spec import Spec, load_spec
from .store import MAX_ATTEMPTS, Store
from .workload import build_key, build_params, make_build, run_point


@dataclass
class Summary:
    out: Path
    points: int             # points of the spec
    skipped: int            # already stored (finished, or failed twice) when the sweep started
    ran: int                # tasks run by this call (a retried point counts twice)
    ok: int                 # points stored as finished after this call
    failed: int             # points stored as failed after this call
    wall_s: float           # the whole call: store, builds, cluster start, points
    run_s: float            # first task submitted → last result committed
    workers: int            # 0 = in-process


def local_cluster(n_workers: int):
    """The default engine: a LocalCluster of single-threaded worker processes (each chip's own
    worker threads get the process's share of the cores, run_point), its dashboard on a free
    port so that two sweeps can run side by side."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                        dashboard_address=":0", silence_logs=logging.CRITICAL)


def default_workers() -> int:
    """Worker processes of the default LocalCluster: one per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # not Linux
        return max(1, os.cpu_count() or 1)


class _Progress:
    """A rich progress bar of points done / failed with an ETA (silent when progress=False)."""

    def __init__(self, enabled: bool, total: int, skipped: int):
        self.bar = None
        self.failed = 0
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("[bold]sweep[/]"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[failed]} failed"), TextColumn("ETA"),
                            TimeRemainingColumn(), console=Console(stderr=True), transient=False)
        self.task = self.bar.add_task("sweep", total=total, completed=skipped, failed=0)
        self.bar.start()

    def advance(self, ok: bool, final: bool) -> None:
        if not ok and final:
            self.failed += 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1 if (ok or final) else 0, failed=self.failed)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def sweep(spec, out=None, scheduler: str | None = None, workers: int | None = None,
          progress: bool = True, parquet=None) -> Summary:
    """Run every point of `spec` (a path or a Spec) not yet stored in `out` (default: the spec's
    name with .db, in the current folder).  workers: LocalCluster size (default: the machine's
    cores; 0 = run in this process); scheduler: address of a running Dask scheduler instead."""
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    out = Path(out) if out is not None else Path(spec.path.stem + ".db")
    t0 = time.perf_counter()
    store = Store(out, spec.sweep_id, spec.text, spec.name)
    try:
        points = spec.points()
        done = store.finished()
        attempts = {k: a for k, (s, a) in done.items()}
        todo = [p for p in points if p.key not in done
                or (done[p.key][0] == "failed" and done[p.key][1] < MAX_ATTEMPTS)]
        skipped = len(points) - len(todo)
        bkeys = {p.key: build_key(spec.workload, build_params(spec.workload, p.params)) for p in todo}
        builds = {}
        for p in todo:
            if bkeys[p.key] not in builds:
                builds[bkeys[p.key]] = make_build(spec.workload, build_params(spec.workload, p.params))
        bar = _Progress(progress, len(points), skipped)
        clock = {}
        try:
            if workers == 0 and scheduler is None:
                ran, nworkers = _run_here(spec, todo, builds, bkeys, store, attempts, bar, clock), 0
            else:
                ran, nworkers = _run_dask(spec, todo, builds, bkeys, store, attempts, bar, scheduler, workers,
                                          clock)
        finally:
            bar.stop()
        final = store.finished()
        if parquet:
            store.export_parquet(parquet)
        return Summary(out, len(points), skipped, ran,
                       sum(1 for p in points if final.get(p.key, ("",))[0] == "ok"),
                       sum(1 for p in points if final.get(p.key, ("",))[0] == "failed"),
                       time.perf_counter() - t0, clock.get("end", 0.0) - clock.get("start", 0.0), nworkers)
    finally:
        store.close()


def _store(store, point, rec, attempts, bar) -> bool:
    """Commit one result; True if the point should run again (a first failure)."""
    n = attempts.get(point.key, 0) + 1
    attempts[point.key] = n
    store.record(point.key, point.index, point.params, rec, n)
    again = rec["status"] == "failed" and n < MAX_ATTEMPTS
    bar.advance(rec["status"] == "ok", final=not again)
    return again


def _run_here(spec, todo, builds, bkeys, store, attempts, bar, clock) -> int:
    ran = 0
    clock["start"] = time.perf_counter()
    for p in todo:
        while True:
            ran += 1
            rec = run_point(builds[bkeys[p.key]], bkeys[p.key], spec.config, spec.workload, p.params)
            if not _store(store, p, rec, attempts, bar):
                break
    clock["end"] = time.perf_counter()
    return ran


def _run_dask(spec, todo, builds, bkeys, store, attempts, bar, scheduler, workers, clock):
    from distributed import Client, as_completed

    cluster = None
    if scheduler is None:
        cluster = local_cluster(workers or default_workers())
        client = Client(cluster)
    else:
        client = Client(scheduler, timeout="30s")
    try:
        nworkers = len(client.scheduler_info()["workers"])
        # a local cluster's processes share this machine's cores: each chip gets its share of
        # worker threads (a remote scheduler's machines are unknown: their default, all cores)
        host_threads = max(1, default_workers() // max(1, nworkers)) if cluster is not None else None
        if not todo:
            return 0, nworkers
        shared = {}

        def scattered(bk):
            # a scattered build lives only on workers; if every holder died, scatter it again
            f = shared.get(bk)
            if f is None or f.status != "finished":
                shared[bk] = client.scatter(builds[bk], broadcast=True, hash=False)
            return shared[bk]

        def submit(p):
            bk = bkeys[p.key]
            return client.submit(run_point, scattered(bk), bk, spec.config, spec.workload, p.params, host_threads,
                                 key=f"point-{p.key}-{attempts.get(p.key, 0)}", pure=False)

        futures = {}
        clock["start"] = time.perf_counter()
        for p in todo:
            futures[submit(p)] = p
        ran = 0
        ac = as_completed(list(futures))
        for fut in ac:
            p = futures.pop(fut)
            ran += 1
            try:
                rec = fut.result()
            except Exception as e:   # the task never returned: a worker killed too often, lost data
                rec = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
            fut.release()
            if _store(store, p, rec, attempts, bar):
                nf = submit(p)
                futures[nf] = p
                ac.add(nf)
        clock["end"] = time.perf_counter()
        return ran, nworkers
    finally:
        client.close(timeout=10)
        if cluster is not None:
            cluster.close(timeout=10)
