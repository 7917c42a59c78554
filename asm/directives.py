"""Assembler directives (pass 1).  Each handler takes (assembler, statement, source).

Values that decide a size or an address (.org, .align, .zero) must be known when the directive is
reached; data values (.byte … .dword) may use labels defined later and are filled in pass 2.
"""
from __future__ import annotations

from pathlib import Path

from isa.tables import CODE_WORDS

from .expr import ExprError, Undefined, evaluate
from .limits import MAX_DATA_BYTES, MAX_INCLUDES, MAX_RESERVE, MAX_SOURCE_BYTES, shown_name, short
from .nodes import Core, Mem, Num, Reg, Str, Sym

TEXT, DATA = "text", "data"
NPY_DTYPES = {("i", 1): "i8", ("u", 1): "u8", ("i", 2): "i16", ("u", 2): "u16",
              ("i", 4): "i32", ("u", 4): "u32", ("i", 8): "i64"}
NPY_NAMES = list(NPY_DTYPES.values())


class DirectiveError(Exception):
    """A directive is misused; `node` (if any) is the argument to underline."""

    def __init__(self, message: str, node=None):
        super().__init__(message)
        self.node = node


def _nargs(st, lo: int, hi: int, usage: str) -> None:
    n = len(st.args)
    if not lo <= n <= hi:
        want = f"{lo}" if lo == hi else f"{lo} to {hi}" if hi < 99 else f"at least {lo}"
        raise DirectiveError(f".{st.name} takes {want} argument{'s' if hi != 1 else ''} "
                             f"({usage}), got {n}")


def _is_expr(node) -> bool:
    return not isinstance(node, (Reg, Core, Mem, Str))


def _expr(node, what: str):
    if not _is_expr(node):
        kind = {Reg: "a register", Core: "a core", Mem: "a memory operand", Str: "a string"}
        raise DirectiveError(f"expected {what}, got {kind[type(node)]}", node)
    return node


def _known(asm, node, what: str) -> int:
    """A value that pass 1 needs now (it decides sizes or addresses)."""
    _expr(node, what)
    try:
        return asm.value(node, asm.here())
    except Undefined as e:
        name = f"'{e.node.name}'" if type(e.node) is Sym else "a symbol it uses"
        raise DirectiveError(f"{what} must be known at this point, but {name} is not defined yet",
                             e.node) from None


def _name(node, what: str) -> str:
    if type(node) is Sym:
        return node.name
    if type(node) in (Reg, Core):
        raise DirectiveError(f"{what}: '{'x' if type(node) is Reg else 'c'}{node.num}' is a "
                             f"{'register' if type(node) is Reg else 'core'} name", node)
    raise DirectiveError(f"expected {what}", node)


def _string(node, what: str) -> bytes:
    if type(node) is not Str:
        raise DirectiveError(f"expected {what} (a \"quoted\" string)", node)
    return node.value


# ---------------------------------------------------------------- sections and placement

def d_text(asm, st, src):
    _nargs(st, 0, 0, ".text")
    asm.section = TEXT


def d_data(asm, st, src):
    _nargs(st, 0, 0, ".data")
    asm.section = DATA


def d_org(asm, st, src):
    _nargs(st, 1, 1, ".org address")
    v = _known(asm, st.args[0], "the address of .org")
    if not 0 <= v < 1 << 32:
        raise DirectiveError(f".org address {v:#x} outside 0..0xffffffff", st.args[0])
    if asm.section == TEXT and v >= CODE_WORDS * 4:
        raise DirectiveError(f".org {v:#x} in .text is beyond the code memory "
                             f"(0..{CODE_WORDS * 4 - 1:#x}, {CODE_WORDS} instructions)", st.args[0])
    if asm.section == TEXT and v % 4:
        raise DirectiveError(f".org {v:#x} in .text is not a multiple of 4 (code is 32-bit words)",
                             st.args[0])
    asm.new_chunk(asm.section, v, src, st.line)


def d_align(asm, st, src):
    _nargs(st, 1, 1, ".align bytes")
    n = _known(asm, st.args[0], "the alignment")
    if n < 1 or n & (n - 1) or n > MAX_RESERVE:
        raise DirectiveError(f".align takes a power of two number of bytes (1, 2, 4, 8, …), got {n}",
                             st.args[0])
    pad = -asm.here() % n
    if not pad:
        return
    if asm.section == TEXT:
        # code is padded with nop so that falling into the padding is harmless
        asm.place_bytes(asm.nop_word.to_bytes(4, "little") * (pad // 4), None, src, st)
    else:
        asm.place_bytes(pad, None, src, st)


def d_zero(asm, st, src):
    _nargs(st, 1, 1, ".zero bytes")
    n = _known(asm, st.args[0], "the size of .zero")
    if not 0 <= n <= MAX_RESERVE:
        raise DirectiveError(f".zero size {n} outside 0..{MAX_RESERVE}", st.args[0])
    if asm.section == TEXT and n % 4:
        raise DirectiveError(f".zero {n} in .text is not a multiple of 4 (code is 32-bit words)",
                             st.args[0])
    asm.place_bytes(n, None, src, st)


def _check_aligned(asm, st, width: int) -> None:
    addr = asm.here()
    if addr % width:
        raise DirectiveError(f"misaligned .{st.name} at {asm.section} address {addr:#x}: it needs "
                             f"{width}-byte alignment; add `.align {width}` before it")


def _data(width: int):
    lo, hi = -(1 << (8 * width - 1)), (1 << (8 * width)) - 1
    mask = (1 << (8 * width)) - 1

    def handler(asm, st, src):
        _nargs(st, 1, 1 << 30, f".{st.name} value, …")
        if asm.section == TEXT and width != 4:
            raise DirectiveError(f".{st.name} is not allowed in .text: code memory holds 32-bit "
                                 "words (use .word, or switch to .data)")
        _check_aligned(asm, st, width)
        out = bytearray()
        pending = False
        for a in st.args:
            if type(a) is Num:
                v = a.value
                if not lo <= v <= hi:
                    raise DirectiveError(f"value {v} out of range for .{st.name}: {lo}..{hi}", a)
                out += (v & mask).to_bytes(width, "little")
            else:
                _expr(a, f"a value for .{st.name}")
                out += bytes(width)
                pending = True
        asm.place_bytes(bytes(out), _emit_data if pending else None, src, st, (width, lo, hi))
    return handler


def _emit_data(asm, it) -> None:
    width, lo, hi = it.extra
    mask = (1 << (8 * width)) - 1
    for i, a in enumerate(it.stmt.args):
        if type(a) is Num:
            continue
        v = evaluate(a, asm.resolve, it.addr)
        if not lo <= v <= hi:
            raise DirectiveError(f"value {v} out of range for .{it.stmt.name}: {lo}..{hi}", a)
        v &= mask
        if it.chunk.section == TEXT:
            it.chunk.words[it.index + i] = v
        else:
            off = it.index + i * width
            it.chunk.buf[off:off + width] = v.to_bytes(width, "little")


def _ascii(terminate: bool):
    def handler(asm, st, src):
        _nargs(st, 1, 1 << 30, f'.{st.name} "text", …')
        if asm.section == TEXT:
            raise DirectiveError(f".{st.name} is not allowed in .text (switch to .data)")
        data = b"".join(_string(a, "a string") + (b"\0" if terminate else b"") for a in st.args)
        asm.place_bytes(data, None, src, st)
    return handler


# ---------------------------------------------------------------- symbols

def d_equ(asm, st, src):
    _nargs(st, 2, 2, f".{st.name} NAME, value")
    name = _name(st.args[0], f".{st.name} needs a symbol name")
    expr = _expr(st.args[1], "a value")
    asm.define_equ(name, expr, src, st, st.args[0].col)


def d_global(asm, st, src):
    _nargs(st, 1, 1 << 30, f".{st.name} name, …")
    for a in st.args:
        name = _name(a, f".{st.name} needs symbol names")
        asm.globals.setdefault(name, (src, st.line, a.col))


def d_entry(asm, st, src):
    _nargs(st, 1, 1, ".entry label")
    if asm.entry is not None:
        _expr0, first_src, first_line = asm.entry
        raise DirectiveError(f"the entry point is already set at "
                             f"{first_src.file}:{first_src.line_base + first_line}")
    asm.entry = (_expr(st.args[0], "a code label or address"), src, st.line)


# ---------------------------------------------------------------- files

def _find(asm, src, node, what: str) -> Path:
    name = _string(node, f"a file name for .{what}")
    try:
        rel = Path(name.decode("utf-8"))
    except UnicodeDecodeError:
        raise DirectiveError("the file name is not valid UTF-8", node) from None
    candidates = [rel] if rel.is_absolute() else [src.dir / rel] + [d / rel for d in asm.include_dirs]
    for c in candidates:
        try:
            if c.is_file():
                return c
        except (OSError, ValueError) as e:     # a name too long for the OS, a NUL byte
            reason = getattr(e, "strerror", None) or str(e)
            raise DirectiveError(f"cannot use '{short(shown_name(str(rel)))}' as a file name: "
                                 f"{reason}", node) from None
    looked = ", ".join(short(shown_name(str(c)), 300) for c in candidates)
    raise DirectiveError(f"cannot find {what} file '{short(shown_name(str(rel)), 300)}' "
                         f"(looked for {looked})", node)


def d_include(asm, st, src):
    _nargs(st, 1, 1, '.include "file"')
    path = _find(asm, src, st.args[0], "include")
    real = path.resolve()
    if real in asm.include_stack:
        chain = " -> ".join(p.name for p in asm.include_stack[asm.include_stack.index(real):])
        raise DirectiveError(f"include cycle: {chain} -> {real.name}", st.args[0])
    if len(asm.include_stack) >= asm.max_include_depth:
        raise DirectiveError(f"includes nested more than {asm.max_include_depth} deep", st.args[0])
    asm.includes += 1
    if asm.includes > MAX_INCLUDES:
        asm.fatal(src, st.line, st.col, f"more than {MAX_INCLUDES} .include directives carried out")
    name = shown_name(str(path))
    if name != str(path):
        raise DirectiveError("the path of the included file is not valid UTF-8", st.args[0])
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise DirectiveError(f"'{short(name)}' is larger than {MAX_SOURCE_BYTES >> 20} MiB",
                                 st.args[0])
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DirectiveError(f"cannot read '{short(name)}': {getattr(e, 'strerror', None) or e}",
                             st.args[0]) from None
    asm.count_lines(text.count("\n") + 1, src, st.line, st.col)
    asm.include_stack.append(real)
    try:
        asm.process_text(text, str(path), path.parent)
    finally:
        asm.include_stack.pop()


def d_npy(asm, st, src):
    _nargs(st, 1, 2, '.npy "file.npy" [, dtype]')
    if asm.section == TEXT:
        raise DirectiveError(".npy is not allowed in .text (switch to .data)")
    want = None
    if len(st.args) == 2:
        want = _name(st.args[1], f"a dtype name ({', '.join(NPY_NAMES)})")
        if want not in NPY_NAMES:
            raise DirectiveError(f"unknown dtype '{want}': expected one of {', '.join(NPY_NAMES)}",
                                 st.args[1])
    path = _find(asm, src, st.args[0], "npy")
    shown = short(shown_name(str(path)))
    arr = _read_npy(path, shown, st.args[0])
    found = NPY_DTYPES.get((arr.dtype.kind, arr.dtype.itemsize))
    if found is None:
        raise DirectiveError(f"'{shown}' holds {arr.dtype} values; .npy embeds integer arrays of "
                             f"dtype {', '.join(NPY_NAMES)}", st.args[0])
    if want is not None and found != want:
        raise DirectiveError(f"'{shown}' holds {found} ({arr.dtype}) values, expected {want}",
                             st.args[1])
    _check_aligned(asm, st, arr.dtype.itemsize)
    # C order and little-endian whatever the file says (Fortran-ordered files are transposed back)
    data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes(order="C")
    asm.place_bytes(data, None, src, st, found)   # the element type a data symbol here declares


def _read_npy(path: Path, shown: str, node):
    """The array of a .npy file, its size checked from the header before anything is read."""
    import numpy as np   # only programs with .npy pay for the import
    from numpy.lib import format as npf

    try:
        with open(path, "rb") as f:
            magic = f.read(8)
            f.seek(0)
            if magic.startswith(b"PK\x03\x04"):
                raise DirectiveError(f"'{shown}' is an .npz archive; .npy embeds a single array",
                                     node)
            version = npf.read_magic(f)
            read_header = {(1, 0): npf.read_array_header_1_0,
                           (2, 0): npf.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, _fortran, dtype = read_header(f)
            count = 1
            for n in shape:
                count *= n
            nbytes = count * dtype.itemsize
            if nbytes > MAX_DATA_BYTES:
                raise DirectiveError(f"'{shown}' declares {short(str(nbytes), 40)} bytes of "
                                     f"data; an image holds at most {MAX_DATA_BYTES >> 20} MiB",
                                     node)
            if f.tell() + nbytes > path.stat().st_size:
                raise ValueError(f"the file is shorter than the {nbytes} bytes its header declares")
            f.seek(0)
            arr = np.load(f, allow_pickle=False)
    except DirectiveError:
        raise
    except (ValueError, OSError, EOFError, TypeError, SyntaxError) as e:
        raise DirectiveError(f"cannot read '{shown}' as a .npy array: {short(str(e), 200)}",
                             node) from None
    return arr


def d_stray_macro(asm, st, src):
    raise DirectiveError(f".{st.name} without a matching .macro" if st.name == "endm"
                         else ".macro must start its own line")


DIRECTIVES = {
    "text": d_text, "data": d_data, "org": d_org, "align": d_align, "balign": d_align,
    "byte": _data(1), "half": _data(2), "short": _data(2), "word": _data(4), "dword": _data(8),
    "quad": _data(8), "zero": d_zero, "space": d_zero,
    "ascii": _ascii(False), "asciz": _ascii(True), "string": _ascii(True),
    "equ": d_equ, "set": d_equ, "global": d_global, "globl": d_global, "entry": d_entry,
    "include": d_include, "npy": d_npy, "endm": d_stray_macro, "macro": d_stray_macro,
}

__all__ = ["DIRECTIVES", "DirectiveError", "ExprError"]
