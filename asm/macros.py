"""`.macro name arg, …` / `.endm`: definitions are cut out of the text before parsing, and an
invocation is expanded by substituting `\\arg` (and `\\@`, a number unique to the invocation)
into the body text, which is then parsed like any other source.

Bodies are kept as text rather than parsed statements because an argument may stand for any
piece of a line (a register, an expression, a mnemonic suffix).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_HAS_MACRO = re.compile(r"^[ \t]*\.(?:macro|endm)\b", re.I | re.M)
_MACRO = re.compile(r"^[ \t]*\.macro\b[ \t]*(.*)$", re.I)
_ENDM = re.compile(r"^[ \t]*\.endm\b", re.I)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*$")
_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_REF = re.compile(r"\\([A-Za-z_][A-Za-z0-9_]*|@)")


@dataclass(frozen=True)
class Macro:
    name: str
    params: tuple[str, ...]
    body: tuple[str, ...]
    file: str
    line: int          # line of the .macro directive; the body starts on the next line


@dataclass(frozen=True)
class MacroProblem:
    line: int
    col: int
    message: str


def _strip_comment(text: str) -> str:
    quote, i = None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1          # an escaped character never ends the literal
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "#;":
            return text[:i]
        i += 1
    return text


def extract(lines: list[str], file: str) -> tuple[list[str], list[Macro], list[MacroProblem]]:
    """Cut macro definitions out of `lines` (blanking them, so line numbers stay put)."""
    text = "\n".join(lines)
    if not _HAS_MACRO.search(text):
        return lines, [], []
    out = list(lines)
    macros: list[Macro] = []
    problems: list[MacroProblem] = []
    i = 0
    while i < len(out):
        m = _MACRO.match(out[i])
        if not m:
            i += 1
            continue
        start = i
        header = _strip_comment(m.group(1)).strip()
        parts = [p for p in re.split(r"[\s,]+", header) if p]
        col = out[i].find(".") + 1
        body: list[str] = []
        j = i + 1
        while j < len(out) and not _ENDM.match(out[j]):
            if _MACRO.match(out[j]):
                problems.append(MacroProblem(j + 1, out[j].find(".") + 1,
                                             "a macro cannot be defined inside another macro"))
            body.append(out[j])
            j += 1
        if j == len(out):
            problems.append(MacroProblem(start + 1, col, ".macro without a matching .endm"))
        elif not parts or not _NAME.match(parts[0]):
            problems.append(MacroProblem(start + 1, col, "expected a macro name after .macro"))
        else:
            bad = [p for p in parts[1:] if not _PARAM.match(p)]
            if bad:
                problems.append(MacroProblem(start + 1, col, f"bad macro parameter name '{bad[0]}'"))
            elif len(set(parts[1:])) != len(parts) - 1:
                problems.append(MacroProblem(start + 1, col, "a macro parameter is named twice"))
            else:
                macros.append(Macro(parts[0], tuple(parts[1:]), tuple(body), file, start + 1))
        for k in range(start, min(j + 1, len(out))):
            out[k] = ""
        i = j + 1
    return out, macros, problems


def split_args(text: str) -> list[str]:
    """The comma-separated arguments of an invocation (commas inside (), '' or "" do not split)."""
    text = _strip_comment(text).strip()
    if not text:
        return []
    args, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
        i += 1
    args.append(text[start:].strip())
    return args


def expand(macro: Macro, args: list[str], serial: int) -> list[str]:
    values = dict(zip(macro.params, args))

    def sub(m):
        name = m.group(1)
        if name == "@":
            return str(serial)
        return values.get(name, m.group(0))
    return [_REF.sub(sub, line) for line in macro.body]
