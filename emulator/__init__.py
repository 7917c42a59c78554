"""NeuRRAM-48 emulator: the Python driver of the C core.

`from emulator import Machine` gives the chip (see emulator.machine); `System` several chips
(emulator.system).  The names are resolved
lazily so that commands which never touch the C core (e.g. `neurram asm`) import nothing of it.
"""
from __future__ import annotations

__all__ = ["Machine", "RunResult", "Snapshot", "Core", "ChipConfig", "ConfigError", "CoreError",
           "System"]


def __getattr__(name: str):
    if name in ("Machine", "RunResult", "Snapshot", "Core"):
        from . import machine
        return getattr(machine, name)
    if name in ("ChipConfig", "ConfigError"):
        from . import config
        return getattr(config, name)
    if name == "System":
        from .system import System
        return System
    if name == "CoreError":
        from ._native import CoreError
        return CoreError
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")
