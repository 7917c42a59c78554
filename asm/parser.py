"""Source text → statements: the Lark LALR parser of `nr48.lark` and its inline transformer.

The parser is built once per process (module level) and its LALR tables are cached on disk, so
a process start does not recompute them.  The cache file is named by a hash of the text of every
grammar file (nr48.lark and the files it imports, such as the generated mnemonics.lark): Lark's
own `cache=True` key covers only the main grammar and finds imports through the absolute path it
stored, so a second checkout with another instruction list would parse with the first one's.  The transformer runs inside the LALR parser (`transformer=`), so
no parse tree is ever built: each reduction returns a node of `asm.nodes` directly.

Syntax errors are turned into `Problem`s with friendly messages; after an error the offending
line is blanked and the text parsed again, so one run reports every bad line.
"""
from __future__ import annotations

import getpass
import hashlib
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import lark
from lark import Lark, Transformer, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .expr import BINARY, UNARY, can_fold
from .limits import MAX_VALUE_BITS, fits
from .nodes import BinOp, Call, Core, Directive, Here, Instr, Label, Mem, Num, Reg, Str, Sym, UnOp, Assign

GRAMMAR = Path(__file__).with_name("nr48.lark")
MAX_SYNTAX_ERRORS = 20


@dataclass(frozen=True)
class Problem:
    """A syntax error at a line and column of the parsed text."""
    line: int
    col: int
    end_col: int
    message: str


class _TokenProblem(Exception):
    def __init__(self, message: str, token):
        super().__init__(message)
        self.token = token


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"',
            "a": "\a", "b": "\b", "f": "\f", "v": "\v", "e": "\x1b"}
_ESCAPE_RE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)")


def unescape(body: str, token) -> bytes:
    """The bytes of a string or character literal body: UTF-8 text, escapes resolved (`\\xHH` is
    the byte HH, not a character)."""
    if "\\" not in body:
        return body.encode("utf-8")
    out = bytearray()
    pos = 0
    for m in _ESCAPE_RE.finditer(body):
        out += body[pos:m.start()].encode("utf-8")
        s = m.group(1)
        if s[0] == "x" and len(s) == 3:
            out.append(int(s[1:], 16))
        elif s in _ESCAPES:
            out += _ESCAPES[s].encode("utf-8")
        else:
            raise _TokenProblem(f"unknown escape '\\{s}' (known: \\n \\t \\r \\0 \\\\ \\' "
                                f"\\\" \\a \\b \\f \\v \\e \\xHH)", token)
        pos = m.end()
    out += body[pos:].encode("utf-8")
    return bytes(out)


def _binop(op: str):
    fn = BINARY[op]

    def build(self, children):
        a, b = children
        if type(a) is Num and type(b) is Num and can_fold(op, b.value):
            v = fn(a.value, b.value)
            if fits(v):      # else left to evaluation, which reports it with a caret
                return Num(v, a.col, b.end)
        return BinOp(op, a, b, a.col, b.end)
    return build


def _unop(op: str):
    fn = UNARY[op]

    def build(self, children):
        (a,) = children
        # the operator's column is not kept by the parser; the operand's is close enough for a caret
        if type(a) is Num and fits(fn(a.value)):
            return Num(fn(a.value), a.col - 1, a.end)
        return UnOp(op, a, a.col - 1, a.end)
    return build


def _index(t, what: str) -> int:
    """The number of `xN` / `cN` (its range is checked later, against the ISA table)."""
    if len(t.value) > 10:
        raise _TokenProblem(f"no {what} {t.value[:12]}… (the number is far too large)", t)
    return int(t.value[1:])


class _Build(Transformer):
    """One method per terminal or rule of nr48.lark, each returning an `asm.nodes` object."""

    # ---- terminals (called when the token is shifted)

    def NUMBER(self, t):
        s = t.value
        body = s.lstrip("-")
        base = {"0x": 16, "0X": 16, "0b": 2, "0B": 2}.get(body[:2], 10)
        digits = body[2:] if base != 10 else body
        # `_` separates digits: never first (but after 0x), last or doubled
        if not digits.strip("_") or digits.endswith("_") or "__" in digits \
                or (base == 10 and digits.startswith("_")):
            raise _TokenProblem(f"malformed number '{s}' (a '_' goes between two digits: "
                                "1_000, 0xff_ff)", t)
        digits = digits.replace("_", "").lstrip("0") or "0"
        # checked before int(): Python refuses to convert more than 4300 decimal digits
        if len(digits) > MAX_VALUE_BITS:
            raise _TokenProblem(f"number too large: values fit {MAX_VALUE_BITS} bits", t)
        v = int(digits, base)
        if not fits(v):
            raise _TokenProblem(f"number too large: values fit {MAX_VALUE_BITS} bits", t)
        return Num(-v if s.startswith("-") else v, t.column, t.end_column)

    def CHAR(self, t):
        raw = t.value[1:-1]
        if "\\" in raw:
            body = unescape(raw, t)
            value = body[0] if len(body) == 1 else None
        else:
            value = ord(raw) if len(raw) == 1 else None    # one character, whatever its code
        if value is None:
            raise _TokenProblem(f"a character literal holds one character, got {t.value}", t)
        return Num(value, t.column, t.end_column)

    def STRING(self, t):
        return Str(unescape(t.value[1:-1], t), t.column, t.end_column)

    def IDENT(self, t):
        return Sym(t.value, t.line, t.column, t.end_column)

    def LABEL(self, t):
        return Label(t.value[:-1], t.line, t.column)

    def REG(self, t):
        return Reg(_index(t, "register"), t.column, t.end_column)

    def CORE(self, t):
        return Core(_index(t, "core"), t.column, t.end_column)

    def HERE(self, t):
        return Here(t.column, t.end_column)

    # ---- statements

    def start(self, items):
        return items

    def instruction(self, c):
        t = c[0]
        return Instr(t.value, tuple(c[1:]), t.line, t.column)

    def directive(self, c):
        t = c[0]
        return Directive(t.value[1:].lower(), tuple(c[1:]), t.line, t.column)

    def assign(self, c):
        s, e = c
        if type(s) is Sym:
            return Assign(s.name, e, s.line, s.col)
        return Assign(s.value, e, s.line, s.column)    # a MNEMONIC token: `li = 5`

    def call(self, c):
        s = c[0]
        return Call(s.name, tuple(c[1:]), s.line, s.col, s.end)

    def mem(self, c):
        if len(c) == 1:
            base = c[0]
            return Mem(Num(0, base.col, base.col), base, base.col - 1, base.end + 1)
        off, base = c
        return Mem(off, base, off.col, base.end + 1)

    # ---- expressions
    add, sub, mul, div, mod = _binop("+"), _binop("-"), _binop("*"), _binop("/"), _binop("%")
    shl, shr, band, bor, bxor = _binop("<<"), _binop(">>"), _binop("&"), _binop("|"), _binop("^")
    neg, inv = _unop("-"), _unop("~")


def grammar_files(grammar: Path = GRAMMAR) -> list[Path]:
    """The grammar and the files it imports relatively (`%import .name.RULE`), recursively."""
    files, todo = [], [grammar]
    while todo:
        path = todo.pop()
        if path in files:
            continue
        files.append(path)
        for name in re.findall(r"^%import\s+\.(\w+)\.", path.read_text(encoding="utf-8"), re.M):
            todo.append(path.with_name(f"{name}.lark"))
    return files


def cache_path(grammar: Path = GRAMMAR) -> Path:
    """The LALR cache file of `grammar`: keyed by the content of every grammar file it uses."""
    h = hashlib.sha256(lark.__version__.encode())
    for path in grammar_files(grammar):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    try:
        user = getpass.getuser()
    except (KeyError, OSError):   # no user name (e.g. a container uid without a passwd entry)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    py = "%d%d" % sys.version_info[:2]
    return Path(tempfile.gettempdir()) / f".nr48-asm-{user}-py{py}-{h.hexdigest()[:24]}.lark-cache"


def _build_parser(grammar: Path = GRAMMAR) -> Lark:
    return Lark.open(str(grammar), parser="lalr", lexer="contextual", transformer=_Build(),
                     maybe_placeholders=False, cache=str(cache_path(grammar)))


PARSER = _build_parser()

# how a terminal is named in "expected …" messages
_FRIENDLY = {
    "REG": "a register", "CORE": "a core", "NUMBER": "a number", "CHAR": "a character",
    "IDENT": "a name", "HERE": "'.'", "STRING": "a string", "MNEMONIC": "an instruction",
    "DIRECTIVE": "a directive", "LABEL": "a label", "_NL": "end of line", "$END": "end of file",
}
_EXPR_START = {"NUMBER", "CHAR", "IDENT", "HERE", "LPAR", "MINUS", "PLUS", "TILDE"}
_BINARY_OPS = {"PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "VBAR", "CIRCUMFLEX", "AMPERSAND"}


def _terminal_text(name: str) -> str:
    try:
        pattern = PARSER.get_terminal(name).pattern
    except KeyError:
        return name.lower()
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return name.lower()


def _describe_expected(names) -> str:
    names = set(names)
    if "REG" in names:
        names.discard("EQUAL")   # `NAME = value` after a name is possible but not what is meant
    parts = []
    if "REG" in names:
        parts.append("a register")
    if "CORE" in names:
        parts.append("a core")
    if len(names & _EXPR_START) >= 3:
        parts.append("an expression")
        names -= _EXPR_START
    if names & _BINARY_OPS or any(PARSER.get_terminal(n).pattern.value in ("<<", ">>")
                                  for n in names if n.startswith("__ANON")):
        parts.append("an operator")
        names = {n for n in names if n not in _BINARY_OPS and not n.startswith("__ANON")}
    for n in sorted(names - {"REG", "CORE"}):
        parts.append(_FRIENDLY.get(n) or _terminal_text(n))
    seen = []
    for p in parts:
        if p not in seen:
            seen.append(p)
    if len(seen) > 1:
        return ", ".join(seen[:-1]) + " or " + seen[-1]
    return seen[0] if seen else "nothing"


def _token_text(tok) -> str:
    if tok.type == "_NL":
        return "end of line"
    if tok.type == "$END":
        return "end of file"
    return f"'{tok.value}'"


def _problem(e: Exception, text: str) -> Problem:
    if isinstance(e, _TokenProblem):
        t = e.token
        return Problem(t.line, t.column, t.end_column, str(e))
    if isinstance(e, UnexpectedToken):
        tok = e.token
        expected = set(e.expected) - {"WS", "COMMENT"}
        line, col = tok.line, tok.column
        end = getattr(tok, "end_column", None) or col + max(1, len(tok.value))
        if tok.type == "_NL":
            end = col + 1
        if tok.type == "MNEMONIC" and "_NL" in expected:
            msg = f"unexpected {_token_text(tok)}: one statement per line"
        elif "COMMA" in expected and "_NL" in expected and tok.type not in ("RPAR",):
            msg = f"expected ',' or end of line after an operand, got {_token_text(tok)}"
        elif tok.type == "COLON":
            msg = "unexpected ':' (a label is written `name:` with no space before the colon)"
        else:
            msg = f"expected {_describe_expected(expected)}, got {_token_text(tok)}"
        return Problem(line, col, end, msg)
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        what = repr(ch) if ch.strip() else f"character {ch!r}"
        allowed = set(e.allowed or ()) - {"WS", "COMMENT"}
        msg = f"unexpected character {what}"
        end = e.column + 1
        word = re.match(r"[\w.]+", text[e.pos_in_stream:])
        if ch == "'":
            msg = "unterminated or malformed character literal (one character: 'a', '\\n', '\\x41')"
        elif ch == '"':
            msg = "unterminated string (strings end on the same line)"
        elif ch.isdigit() and word:
            msg = (f"malformed number '{word.group()}' (integers only: 42, -7, 0x2a, 0b101, 'c')")
            end = e.column + len(word.group())
        elif ch == ":":
            msg = "unexpected ':' (a label is written `name:` with no space before the colon)"
        elif allowed:
            msg += f", expected {_describe_expected(allowed)}"
        return Problem(e.line, e.column, end, msg)
    raise e


def parse(text: str) -> tuple[list, list[Problem]]:
    """Statements of `text`, and the syntax problems found (lines with a problem are skipped).

    After an error on line L, lines before L are parsed on their own (they are complete
    statements) and parsing resumes after L.  Lines already dealt with are replaced by bare
    newlines, which the lexer skips in one token and which keep the line numbers right.
    """
    if not text.endswith("\n"):
        text += "\n"
    try:
        return PARSER.parse(text), []
    except (UnexpectedInput, _TokenProblem) as e:
        error = e
    lines = text.split("\n")
    statements: list = []
    problems: list[Problem] = []
    done = 0                      # lines 1..done are parsed or reported
    while True:
        p = _problem(error, "\n" * done + "\n".join(lines[done:]))
        problems.append(p)
        if p.line <= done or len(problems) >= MAX_SYNTAX_ERRORS:
            return statements, problems      # no progress possible: never loop
        if p.line - 1 > done:
            statements += _parse_quietly("\n" * done + "\n".join(lines[done:p.line - 1]) + "\n")
        done = p.line
        try:
            statements += PARSER.parse("\n" * done + "\n".join(lines[done:]))
            return statements, problems
        except (UnexpectedInput, _TokenProblem) as e:
            error = e


def _parse_quietly(text: str) -> list:
    try:
        return PARSER.parse(text)
    except (UnexpectedInput, _TokenProblem):   # cannot happen for lines the parser got past
        return []
