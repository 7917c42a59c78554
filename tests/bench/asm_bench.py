"""Assembler speed against the speed of merely lexing the same text with the same grammar.

    python -m tests.bench.asm_bench [--lines N] [--profile]

Generates a realistic program (~10k lines: scalar code, loops and branches, memory and vector
operations, chip control, li/la, expressions, labels, data tables, comments), then measures, best
of several runs: (a) lex only — `PARSER.lex(text)` fully consumed, the grammar of the assembler;
(b) the whole assembler — `assemble(text)` to an image.  Goal: (b) ≥ 0.5 × (a) in lines/s.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import time

GOAL = 0.5


def generate(n_lines: int = 10_000, seed: int = 48) -> str:
    rnd = random.Random(seed)
    r = lambda: f"x{rnd.randrange(16)}"  # noqa: E731
    out = ["# generated benchmark program", ".equ N_ITER, 100", "ROWS = 128", "COLS = 2 * ROWS",
           ".data"]
    n_tables = max(1, n_lines // 400)
    for t in range(n_tables):
        out.append(f"table{t}:   .word " + ", ".join(str(rnd.randrange(-1000, 1000)) for _ in range(8)))
        out.append(f"bytes{t}:   .byte " + ", ".join(f"{rnd.randrange(256):#04x}" for _ in range(12)))
        out.append("    .align 8")
        out.append(f"wide{t}:    .dword {rnd.randrange(1 << 40)}, table{t} + 4")
        out.append(f"msg{t}:     .asciz \"block {t}\\n\"")
        out.append("    .align 4")
    out += [".text", "_start:"]
    block = 0
    while len(out) < n_lines:
        block += 1
        out.append(f"block{block}:            # block {block}")
        out.append(f"    la x2, table{rnd.randrange(n_tables)}")
        out.append("    li x3, N_ITER")
        out.append(f"loop{block}:")
        for _ in range(rnd.randrange(8, 20)):
            k = rnd.random()
            if k < 0.25:
                op = rnd.choice(["addi", "andi", "ori", "xori", "slti"])
                out.append(f"    {op} {r()}, {r()}, {rnd.randrange(-2000, 2000)}")
            elif k < 0.45:
                op = rnd.choice(["add", "sub", "and", "or", "xor", "sll", "mul", "slt"])
                out.append(f"    {op} {r()}, {r()}, {r()}")
            elif k < 0.55:
                op = rnd.choice(["lw", "ld", "lbu", "lh"])
                out.append(f"    {op} {r()}, {rnd.randrange(32) * 8}({r()})   ; load")
            elif k < 0.62:
                op = rnd.choice(["sw", "sd", "sb"])
                out.append(f"    {op} {r()}, {rnd.randrange(32) * 8}({r()})")
            elif k < 0.72:
                op = rnd.choice(["vadd", "vsub", "vmax", "vrelu", "vmuls"])
                t = rnd.choice(["i8", "i16", "i32"])
                ops = f"{r()}, {r()}" if op == "vrelu" else f"{r()}, {r()}, {r()}"
                out.append(f"    {op}.{t} {ops}")
            elif k < 0.77:
                out.append(f"    vsra.i16 {r()}, {r()}, {rnd.randrange(8)}")
            elif k < 0.82:
                out.append(f"    ccfg.{rnd.choice(['inbits', 'outbits'])} {r()}, {rnd.randrange(1, 9)}")
            elif k < 0.86:
                out.append(f"    hin.i8 c{rnd.randrange(48)}, {r()}")
            elif k < 0.89:
                out.append(f"    mvm.{rnd.choice(['fwd', 'bwd', 'rec'])} {r()}")
            elif k < 0.92:
                out.append(f"    li {r()}, {rnd.choice([rnd.randrange(100), rnd.randrange(1 << 32), -5])}")
            elif k < 0.95:
                out.append(f"    addi {r()}, {r()}, (COLS - {rnd.randrange(16)}) * 2")
            else:
                out.append(f"    mv {r()}, {r()}")
        out.append("    addi x3, x3, -1")
        out.append(f"    bnez x3, loop{block}")
        if block % 4 == 0:
            out.append(f"    call sub{block}")
            out.append(f"    j block{block}_end")
            out.append(f"sub{block}:")
            out.append("    sync x0")
            out.append("    ret")
            out.append(f"block{block}_end:")
        out.append("")
    out.append("    halt")
    return "\n".join(out) + "\n"


def _best(fn, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def measure(text: str, runs: int = 5) -> dict:
    from asm import assemble
    from asm.parser import PARSER

    lines = text.count("\n")

    def lex_only():
        n = 0
        for _ in PARSER.lex(text):
            n += 1
        return n

    tokens = lex_only()
    assemble(text)                      # warm up caches shared by both (regexes, tables)
    t_lex = _best(lex_only, runs)
    t_asm = _best(lambda: assemble(text), runs)
    return {"lines": lines, "tokens": tokens, "lex_lps": lines / t_lex, "asm_lps": lines / t_asm,
            "ratio": t_lex / t_asm}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="profile one assembler run")
    args = ap.parse_args(argv)
    text = generate(args.lines)
    m = measure(text, args.runs)
    print(f"program: {m['lines']} lines, {m['tokens']} tokens")
    print(f"lex only:        {m['lex_lps']:>10,.0f} lines/s")
    print(f"full assembler:  {m['asm_lps']:>10,.0f} lines/s")
    verdict = "meets" if m["ratio"] >= GOAL else "misses"
    print(f"ratio:           {m['ratio']:>10.2f}   ({verdict} the goal of {GOAL})")
    if args.profile:
        from asm import assemble

        prof = cProfile.Profile()
        prof.runcall(assemble, text)
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
