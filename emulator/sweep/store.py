"""The results store: one SQLite file per sweep, one row per point (schema in docs/sweeps.md).

Only the client writes, one transaction per finished point, so a crash at any moment leaves
every finished point stored exactly once (the point key is the primary key) and nothing half
written.  `meta` names the schema version and the sweep the file belongs to.
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

SCHEMA_VERSION = 1
MAX_ATTEMPTS = 2        # a failed point is retried once

# (column, SQL type): the record fields of emulator.sweep.workload.run_point, then bookkeeping
COLUMNS = (
    ("key", "TEXT PRIMARY KEY"), ("idx", "INTEGER NOT NULL"), ("params", "TEXT NOT NULL"),
    ("status", "TEXT NOT NULL CHECK (status IN ('ok', 'failed'))"), ("attempts", "INTEGER NOT NULL"),
    ("error", "TEXT"), ("accuracy", "REAL"), ("output_error", "REAL"), ("cycles", "INTEGER"),
    ("setup_cycles", "INTEGER"), ("inferences", "INTEGER"), ("latency_per_inference_s", "REAL"),
    ("energy_j", "REAL"), ("energy_per_inference_j", "REAL"), ("wall_s", "REAL"), ("version", "TEXT"),
    ("config_hash", "TEXT"), ("outputs", "TEXT"), ("finished_at", "TEXT"),
)
NAMES = tuple(c for c, _ in COLUMNS)
# columns that depend on where and when a point ran, not on the point
RUN_DEPENDENT = ("wall_s", "finished_at")


class StoreError(ValueError):
    """The file is not a results store of this sweep (or of this schema version)."""


class Store:
    def __init__(self, path, sweep_id: str | None = None, spec_text: str = "", name: str = ""):
        """Open (creating if needed) the store at `path`.  With sweep_id, refuse a file written by
        another sweep; without, open an existing file read-only for reporting."""
        self.path = Path(path)
        if sweep_id is None and not self.path.is_file():
            raise StoreError(f"{self.path}: no such results file")
        try:
            self.db = sqlite3.connect(self.path, timeout=30)
            # WAL with synchronous=NORMAL: a committed row survives a killed process (not a power cut)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._init(sweep_id, spec_text, name)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: not a sweep results database: {e}") from None

    def _init(self, sweep_id, spec_text, name) -> None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            if sweep_id is None:
                raise StoreError(f"{self.path}: not a sweep results database (no meta table)")
            with self.db:
                self.db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self.db.execute(f"CREATE TABLE points ({', '.join(f'{c} {t}' for c, t in COLUMNS)})")
                self.db.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("schema_version", str(SCHEMA_VERSION)), ("sweep_id", sweep_id),
                    ("name", name), ("spec", spec_text), ("created_at", _now())])
        self.meta = dict(self.db.execute("SELECT key, value FROM meta"))
        if self.meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StoreError(f"{self.path}: schema version {self.meta.get('schema_version')}, this "
                             f"emulator reads version {SCHEMA_VERSION}")
        if sweep_id is not None and self.meta.get("sweep_id") != sweep_id:
            raise StoreError(f"{self.path}: holds the results of another sweep ({self.meta.get('name')!r}: "
                             "a different workload or [config]); give another --out or remove the file")

    def finished(self) -> dict[str, tuple[str, int]]:
        """key → (status, attempts) of every stored point."""
        return {k: (s, a) for k, s, a in self.db.execute("SELECT key, status, attempts FROM points")}

    def record(self, key: str, index: int, params: dict, rec: dict, attempts: int) -> None:
        row = {n: rec.get(n) for n in NAMES}
        row.update(key=key, idx=index, params=json.dumps(params, sort_keys=True), attempts=attempts,
                   finished_at=_now())
        with self.db:   # one committed transaction per point
            self.db.execute(f"INSERT OR REPLACE INTO points ({', '.join(NAMES)}) VALUES "
                            f"({', '.join('?' * len(NAMES))})", [row[n] for n in NAMES])

    def rows(self) -> list[dict]:
        cur = self.db.execute(f"SELECT {', '.join(NAMES)} FROM points ORDER BY idx")
        return [dict(zip(NAMES, r), params=json.loads(r[2])) for r in cur]

    def export_parquet(self, path) -> Path:
        """The points table as a Parquet file, one column per axis (needs pandas and pyarrow)."""
        check_parquet()
        import pandas as pd

        rows = self.rows()
        flat = [{**{f"param_{k}": v for k, v in r["params"].items()},
                 **{k: v for k, v in r.items() if k != "params"}} for r in rows]
        path = Path(path)
        pd.DataFrame(flat).to_parquet(path, index=False)
        return path

    def close(self) -> None:
        self.db.close()


def check_parquet() -> None:
    """Refuse Parquet export early when its optional dependencies are missing."""
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401  (pandas' Parquet engine)
    except ImportError:
        raise StoreError("--parquet needs pandas and pyarrow, which are not installed: "
                         "pip install 'neurram48[parquet]'") from None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
