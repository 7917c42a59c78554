"""The debugger engine and the TUI stand on the public driver API: no module under
emulator/debug or emulator/tui imports emulator._native (also inside functions) or reaches
into a Machine's private `_native` handle."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("emulator/debug", "emulator/tui")


def _native_uses(source: str, package: str) -> list[tuple[int, str]]:
    """(line, what) of each import of emulator._native and each `._native` attribute in
    `source`, a module of the dotted `package`."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names
                    if a.name == "emulator._native" or a.name.startswith("emulator._native.")]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            targets = [module] if node.module else []
            targets += [f"{module}.{a.name}" for a in node.names]
            out += [(node.lineno, t) for t in targets
                    if t == "emulator._native" or t.startswith("emulator._native.")][:1]
        elif isinstance(node, ast.Attribute) and node.attr == "_native":
            out.append((node.lineno, "._native"))
    return out


def test_the_checker_sees_every_form():
    src = ("import emulator._native\n"
           "from emulator import _native\n"
           "def f(m):\n"
           "    from .._native import lib\n"
           "    from .. import _native as n\n"
           "    return m._native.m\n"
           "from ..machine import NUM_CORES\n")
    assert [line for line, _ in _native_uses(src, "emulator.debug")] == [1, 2, 4, 5, 6]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_reaches_the_native_layer(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    bad = [f"{f.relative_to(ROOT)}:{line}: {what}" for f in files
           for line, what in _native_uses(f.read_text(encoding="utf-8"), package.replace("/", "."))]
    assert not bad, "the debugger and TUI must use the public Machine API:\n" + "\n".join(bad)
