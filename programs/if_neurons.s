# if_neurons.s — the neurons' integrate-and-fire mode and the in-situ outer-product update.
#
# Core 0 holds a 4 × 4 weight window; the input is h = (1, 2, 3, 1), so Wᵀh = (7, 4, 4, 1).
# Part 1: ifrun (rate output), 12 time steps, threshold 8, leak 1: before each step the stored
# charge loses 1, then gains Wᵀh; a neuron at ≥ 8 fires and loses 8.
# Part 2: ifclr, then four ifstep: the per-step spike vectors, stored one after another.
# Part 3: opu with x = (1, −1, 0, 1) on the rows and y = (1, 1, −1, 0) on the columns pulses the
# G+ device of each pair (opdev 0): SET where x·y = +1, RESET where x·y = −1.  Two of the RESET
# cells hold a weight ≤ 0, so their G+ is already 0 and the weight cannot go down: the MVM gives
# (7, 4, 6, 1) where W + xyᵀ would give (7, 4, 4, 1).  The pair refresh then moves every pair to
# the top of the range (larger device at 128·g_lsb) and the MVM after it is unchanged.
# Expected (ideal model): counts = 9 4 4 0; steps = 0 0 0 0 / 1 0 0 0 / 1 1 1 0 / 1 0 0 0;
# after = refreshed = 7 4 6 1.

        .data
w:      .byte   2, 1, 0, -1     # row-major 4 × 4 int8 codes
        .byte   1, 1, 1, 0
        .byte   1, 0, 1, 0
        .byte   0, 1, -1, 2
h:      .byte   1, 2, 3, 1
x:      .byte   1, -1, 0, 1     # update directions on the rows …
y:      .byte   1, 1, -1, 0     # … and on the columns
        .align  2
counts: .zero   8               # ifrun spike counts (i16)
steps:  .zero   32              # ifstep spike vectors, 4 steps × 4 (i16)
after:  .zero   8               # MVM after the update (i16)
refreshed: .zero 8              # MVM after the pair refresh (i16)

        .text
_start:
        li      x1, 1               # core 0
        cpon    x1
        ccfg.nrows x1, 4
        ccfg.ncols x1, 4
        la      x2, w
        cprog   c0, x2
        li      x2, 8
        ccfgr.ifthr x1, x2          # extended fields: set from a register
        li      x2, 1
        ccfgr.ifleak x1, x2
        li      x2, 12
        ccfgr.ifsteps x1, x2
        la      x2, h
        hin.i8  c0, x2
        # ---- part 1: rate output
        ifrun.fwd x1
        la      x3, counts
        vout.i16 c0, x3
        # ---- part 2: four single steps, charges kept between them
        ifclr   x1
        la      x3, steps
        li      x4, 4
step:
        ifstep.fwd x1
        vout.i16 c0, x3
        addi    x3, x3, 8
        addi    x4, x4, -1
        bnez    x4, step
        # ---- part 3: outer-product update, pair refresh, read back
        la      x2, x
        hin.i8  c0, x2
        la      x2, y
        vin.i8  c0, x2
        opu     x1
        la      x2, h
        hin.i8  c0, x2
        mvm.fwd x1
        la      x3, after
        vout.i16 c0, x3
        oprefresh c0
        mvm.fwd x1
        la      x3, refreshed
        vout.i16 c0, x3
        sync    x0
        halt
