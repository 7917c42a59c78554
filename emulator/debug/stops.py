"""The debug session's shared records: stops, events, the command error, the interrupt signal
inside the engine, and the short value format of stop and log texts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


class DebugError(Exception):
    """A command that cannot be carried out (bad location, no such breakpoint, …)."""


class Interrupted(Exception):
    """Raised inside the engine at a slice boundary after `Session.interrupt()`; the outermost
    command turns it into a Stop with reason "interrupted"."""


@dataclass
class Event:
    cycle: int
    kind: str          # stop, core, fault, log, info
    text: str


@dataclass
class Stop:
    reason: str        # step, breakpoint, watchpoint, halt, ebreak, fault, cycle, until, limit, start,
                       # history, interrupted
    text: str
    pc: int
    cycle: int
    instret: int
    location: str | None = None
    point: int | None = None          # break/watch point id
    old: Any = None                   # watchpoints: value before
    new: Any = None



def _short(v: Any, limit: int = 16) -> str:
    if isinstance(v, np.ndarray):
        flat = v.ravel()
        s = " ".join(str(int(x)) if np.issubdtype(v.dtype, np.integer) else str(x)
                     for x in flat[:limit])
        return f"[{s}{' …' if flat.size > limit else ''}]"
    if isinstance(v, bool):
        return str(v)
    return str(v)
