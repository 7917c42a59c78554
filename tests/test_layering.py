"""The packages' imports point down the layers of docs/architecture.md only.

Every .py under isa/, asm/ and emulator/ is parsed and each import — at module level or inside a
function, absolute or relative — is checked against LAYERS (a module may import its own layer and
the layers below) and RULES (pairs inside one layer, or anything else, that must not import each
other).  Adding a rule is one line in RULES.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("isa", "asm", "emulator")

# lowest first; a module belongs to the longest prefix that names it ("emulator" is the core driver:
# machine, config, _native, program, trace, energy, calibrate, resources)
LAYERS = [
    ("isa",),
    ("asm",),
    ("emulator",),
    ("emulator.debug", "emulator.mapper", "emulator.train"),
    ("emulator.workloads",),
    ("emulator.sweep",),
    ("emulator.cli", "emulator.tui"),
]

# (importer, what it must not import), on top of the layer order; prefixes name packages or modules
RULES = [
    ("emulator.mapper", "emulator.train"),      # train builds on the mapper's models, not back
    ("emulator.mapper", "emulator.debug"),
    ("emulator.debug", "emulator.mapper"),
    ("emulator.debug", "emulator.train"),
    ("emulator.train", "emulator.debug"),
    ("emulator.tui", "emulator.cli"),           # the CLI starts the TUI
    ("emulator.debug", "emulator._native"),     # the engine and TUI stand on the public Machine API
    ("emulator.tui", "emulator._native"),       # (tests/test_debug_layering.py also bans m._native)
]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(name: str) -> int:
    best, rank = -1, None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if _under(name, p) and len(p) > best:
                best, rank = len(p), i
    return rank


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def imports_of(name: str, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) of every import in the file, resolved to a full dotted name; for
    `from X import y` the target is X.y when that is a module, else X."""
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.append((sub if sub in MODULES else mod, node.lineno))
    return [(m, line) for m, line in dict.fromkeys(out) if m.split(".")[0] in PACKAGES]


def violations(modules=MODULES, rules=RULES) -> list[str]:
    bad = []
    for name, path in modules.items():
        mine = layer_of(name)
        for target, line in imports_of(name, path):
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            where = f"{shown}:{line}: {name} imports {target}"
            if layer_of(target) > mine:
                bad.append(f"{where} (a higher layer: {' '.join(LAYERS[layer_of(target)])} above {' '.join(LAYERS[mine])})")
            for importer, forbidden in rules:
                if _under(name, importer) and _under(target, forbidden):
                    bad.append(f"{where} (rule: {importer} must not import {forbidden})")
    return bad


def test_no_module_imports_upward_or_against_a_rule():
    bad = violations()
    assert not bad, "imports against docs/architecture.md:\n" + "\n".join(bad)


def test_every_module_has_a_layer_and_every_rule_names_real_modules():
    assert all(layer_of(n) is not None for n in MODULES)
    for importer, forbidden in RULES:
        for prefix in (importer, forbidden):
            assert any(_under(n, prefix) for n in MODULES), f"rule names no module: {prefix}"


@pytest.mark.parametrize("name, text, expected", [
    # a core module importing a workload inside a function, relatively
    ("emulator.calibrate", "def f():\n    from .workloads import rnn\n", "emulator.workloads.rnn"),
    ("emulator.mapper.rnn", "import emulator.train\n", "emulator.train"),
    ("asm.cli", "from emulator.machine import Machine\n", "emulator.machine"),
    ("emulator.tui.app", "from ..cli import main\n", "emulator.cli"),
])
def test_the_checker_catches_upward_and_forbidden_imports(tmp_path, name, text, expected):
    fake = tmp_path / "m.py"
    fake.write_text(text)
    bad = violations({name: fake})
    assert len(bad) == 1 and f"{name} imports {expected}" in bad[0], bad
