# demo.s — the `make run` demo: all three MVM directions on three cores at the same time.
#
#   core 0  (chain 0): forward MVM, y_fwd = Wfᵀ·x_in with Wf 16×16
#   core 7  (chain 1): backward MVM on the 8×16 matrix of forward.s, x_bwd = round(Wb·v_in / 2)
#   core 14 (chain 2): three recurrent steps h ← clip(round(Wr·h / 4), ±7) with Wr 8×8
#
# The three weight matrices go through the chip's single write-verify programmer in turn; the
# input scans then run in parallel on three chains, the three MVMs are issued back to back and
# overlap (forward and backward on their cores while the recurrent core starts its first
# step), and the outputs scan out while core 14 finishes its remaining steps.  The per-core
# utilisation in the summary shows the overlap.
#
# Expected output:
#   y_fwd = [33 2 -28 27 -53 58 8 -37 40 -30 9 -34 -12 3 4 9]
#   x_bwd = [-2 -17 -23 33 5 -2 10 4]
#   h_rec = [6 7 7 1 -5 6 7 -7]          (after h1 = [7 1 -7 7 6 -5 -5 4], h2 = [-5 -7 7 -5 7 7 -7 2])
# Run:  make run   (= neurram run programs/demo.s --dump y_fwd --dump x_bwd --dump h_rec)

        .equ CF, 1 << 0             # forward core
        .equ CB, 1 << 7             # backward core
        .equ CR, 1 << 14            # recurrent core
        .equ STEPS, 3

        .data
wf:
        .byte 3, 0, 2, 0, -2, 0, 3, 3, 3, 1, -1, 0, 1, -1, 3, 0
        .byte -1, 0, -3, 1, -1, 3, -1, -2, 1, -1, -1, -1, 1, -2, 3, -1
        .byte 2, 3, 1, -1, 1, 2, 2, -3, -3, -1, -1, 1, -3, 0, 2, 3
        .byte -3, 0, -1, 1, 2, 1, 1, 1, -1, 1, -2, 0, 3, -2, -3, -3
        .byte -3, -2, -2, -3, 2, -3, -2, -2, 0, 1, 0, -1, 1, 2, 0, 3
        .byte 2, -1, 3, -2, 1, 1, -1, 1, -1, 2, -1, 1, 0, -2, 3, 3
        .byte 0, 1, -2, 2, 2, 1, 0, 2, -1, 2, -2, -1, 1, -3, 2, 0
        .byte 0, 3, -1, -2, -3, 2, -1, 1, -3, 1, 3, -2, 3, -3, -1, -2
        .byte -1, 1, 2, -1, -2, -2, -1, -1, 3, 2, 0, -2, -3, 0, -3, -1
        .byte -2, 3, 3, 2, 0, 2, -1, 0, -3, -1, 0, 1, -1, 2, -1, -3
        .byte 3, -3, -1, 0, -3, -2, 2, 3, -1, -2, -2, 3, 3, 0, 0, 2
        .byte -1, 0, 0, 2, -3, 3, 2, -2, 2, -2, -1, 0, 1, -1, -2, 2
        .byte -3, 3, 2, 1, 0, -3, 2, -1, 1, -1, 1, 1, -3, -2, 0, -3
        .byte -2, 0, -1, -2, 3, 0, 0, -1, -1, 2, 0, -2, -3, 2, 0, -3
        .byte 1, 2, 1, 3, -1, -2, 2, 3, 2, 1, -2, 0, -1, -2, 0, 1
        .byte 1, 0, 1, 1, -1, 0, 0, 2, -2, 0, 0, -1, 2, -1, 0, 0
wb:     .byte -2, 1, -3, -2, -1, -1, 3, 2, 3, 3, -3, -3, 3, -3, -2, -2
        .byte 3, -1, -2, -2, 0, 1, 2, 1, 3, -3, 0, 0, 1, -3, -2, 0
        .byte -3, 3, 1, 2, 0, 1, -1, -1, -3, -2, 2, 0, 2, -2, 2, 3
        .byte 2, -2, -1, -2, 2, 2, 0, -2, -3, -2, -2, -3, 2, 0, 3, -2
        .byte -1, 3, 1, -1, -1, 2, -1, 0, 0, 0, 0, 3, -2, 3, -2, -3
        .byte -1, -2, 1, -2, -2, 3, 2, 0, 3, -1, -3, 2, -3, -1, 0, 1
        .byte -3, -2, -3, -3, -2, 1, 0, -1, 1, -1, 3, -2, 1, -2, 0, 0
        .byte 3, -1, -3, -1, 1, -2, 3, 0, 0, 1, 0, -1, 0, -1, 3, 3
wr:
        .byte -3, 2, 1, -3, 1, 3, 0, -1
        .byte -1, -2, -2, 3, -1, 2, 0, 3
        .byte 3, 3, -2, 3, -2, -2, 2, -2
        .byte 3, -3, -3, 2, 2, -1, -3, 1
        .byte 2, 2, 3, -2, 3, 3, -2, 1
        .byte 0, 3, -2, 0, -1, 3, 3, 0
        .byte 3, 2, -3, -1, 2, -3, -1, 2
        .byte 1, -3, -2, 3, 0, 0, 1, -1
x_in:
        .byte 0, 7, 2, -6, -7, -7, -3, -1, 2, -5, -4, 6, -6, 1, 0, 5
v_in:   .byte -7, -7, -7, -4, 7, -7, 2, -7, -7, -3, -5, -1, -7, 5, -1, -7
h_in:
        .byte 1, 4, 7, 7, 4, -1, 6, 3
y_fwd:  .zero 16
x_bwd:  .zero 8
h_rec:  .zero 8

        .text
_start:
        li      x1, CF | CB | CR
        cpon    x1
        li      x2, CF
        ccfg.nrows x2, 16           # forward core: 16×16 window
        ccfg.ncols x2, 16
        li      x3, CB
        ccfg.nrows x3, 8            # backward core: 8×16 window, outputs halved
        ccfg.ncols x3, 16
        ccfg.gshift x3, 1
        li      x4, CR
        ccfg.nrows x4, 8            # recurrent core: 8×8 window, 4-bit outputs = next inputs
        ccfg.ncols x4, 8
        ccfg.outbits x4, 4
        ccfg.gshift x4, 2

        la      x5, wf              # weights, one core after another on the programmer
        cprog   c0, x5
        la      x5, wb
        cprog   c7, x5
        la      x5, wr
        cprog   c14, x5

        la      x6, x_in            # inputs: three chains scan in parallel
        hin.i8  c0, x6
        la      x6, v_in
        vin.i8  c7, x6
        la      x6, h_in
        hin.i8  c14, x6

        mvm.fwd x2                  # three directions, three cores, overlapping in time
        mvm.bwd x3
        mvm.rec x4

        la      x7, y_fwd           # results out while the recurrent core keeps going
        vout.i8 c0, x7
        la      x7, x_bwd
        hout.i8 c7, x7
        li      x8, STEPS - 1
more:
        mvm.rec x4
        addi    x8, x8, -1
        bnez    x8, more
        la      x7, h_rec
        hout.i8 c14, x7
        sync    x0
        halt
