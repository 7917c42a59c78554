"""Sweeps: Monte-Carlo and design-space runs of a workload over chip settings, on Dask, with the
results in an SQLite store (docs/sweeps.md).

    from emulator.sweep import sweep, load_spec, Store
    summary = sweep("programs/sweeps/digits_noise.toml", out="noise.db")
    rows = Store("noise.db").rows()

This layer sits above the workloads; nothing below it imports it.
"""
from .engine import Summary, default_workers, sweep
from .spec import Point, Spec, SpecError, load_spec
from .store import SCHEMA_VERSION, Store, StoreError

__all__ = ["sweep", "Summary", "default_workers", "load_spec", "Spec", "Point", "SpecError", "Store",
           "StoreError", "SCHEMA_VERSION"]
