# recurrent.s — four recurrent steps h(t+1) = f(W·h(t)) without any scan traffic in between.
#
# Core 0 holds a 16×16 matrix W (codes -4..4).  A recurrent MVM reads H[0..16), sums over the
# logical rows like a forward MVM, and writes its outputs back into H[0..16), where the next
# step finds them.  The neuron requantises on the way: gain 1/8 (gshift 3), rounded, and a
# 4-bit signed readout clips to -7..7 — exactly the 4-bit signed input range, so no vector-unit
# requantisation is needed between steps; f is that clipped, scaled identity ("hard tanh").
# After each step H is also scanned out, so states holds the whole trajectory.
#
# Expected output (states, one row of 16 per step):
#   h1 = [-3  6  6 -4 -7  6 -2  5  2 -3  2 -2 -7  2  1 -1]
#   h2 = [-6  7  7  6 -7  4 -7  5  3 -4  7  0 -3  1  3  0]
#   h3 = [-7  3  3  5 -5  1 -7  7  7  5  7 -3 -6  4 -1 -2]
#   h4 = [-7  7 -4 -1 -7  3 -7  5  7  7  7  2 -6  7 -2 -7]
# Run:  neurram run programs/recurrent.s --dump states

        .equ C0, 1 << 0
        .equ STEPS, 4
        .equ N, 16

        .data
w:
        .byte 4, 1, 2, 4, 1, 2, 3, -2, -4, -2, -2, 3, 4, -4, 0, 3
        .byte -3, 3, -3, 0, 3, -2, -1, -2, 2, -2, 4, 0, 0, 0, 1, 0
        .byte 0, 4, 3, 3, 2, 1, -1, 4, 0, -3, 3, -3, 3, 1, -3, -4
        .byte 0, -4, -3, 0, 4, 0, 3, 4, 3, 1, -1, 0, -2, 0, -1, -2
        .byte 4, -4, -4, -3, 4, 2, 3, -3, 2, -1, 0, -4, 1, 3, 1, -3
        .byte 0, -2, 4, 3, -3, 0, 4, 3, 2, 1, -4, 2, 0, -4, -2, 0
        .byte 2, 0, 1, 3, 2, -1, 1, 1, -4, -4, 1, -1, 1, -2, -2, -3
        .byte -1, 3, -1, -1, 1, 4, -1, 1, -1, 1, 0, 1, 0, 2, 4, -3
        .byte 1, -1, -1, -2, -4, -1, 3, -4, -1, 4, 4, -3, -4, 2, -4, -2
        .byte 0, 3, -4, 1, 0, -3, 3, 3, 0, 4, 1, 4, 4, 1, -2, -3
        .byte 1, -3, 2, 4, -2, 0, -4, -3, -1, 3, 4, 1, 1, 1, -4, -1
        .byte 4, -1, -3, -2, 2, -4, 4, 3, 1, 0, 2, 0, 0, -2, 0, 2
        .byte -4, -4, 2, -1, 3, -4, 4, -3, -1, 4, -4, 1, 2, -1, -4, 0
        .byte -1, 3, 2, -1, -4, 1, -2, 2, 3, -1, 4, 0, 0, 2, 3, 4
        .byte 4, -3, -1, 4, -2, -4, 1, 2, 2, 3, 1, -3, 3, -1, 3, 3
        .byte 4, -4, 3, 1, 0, 3, 4, 0, -4, 2, -2, -2, -3, -3, 4, -1
h0:
        .byte -6, -5, -2, -2, -3, 7, 5, 1, 7, -2, -5, -3, -6, 7, -4, -1
states: .zero STEPS * N

        .text
_start:
        li      x1, C0
        cpon    x1
        ccfg.nrows x1, N            # the window is square: rec outputs land in H[col0 …]
        ccfg.ncols x1, N
        ccfg.outbits x1, 4          # signed 4-bit outputs: -7..7, the next step's input range
        ccfg.gshift x1, 3           # y = round(W·h / 8)
        la      x2, w
        cprog   c0, x2
        la      x3, h0
        hin.i8  c0, x3              # the initial state
        la      x4, states
        li      x5, STEPS
step:
        mvm.rec x1                  # h ← f(W·h), in place in H
        hout.i8 c0, x4              # record h (waits for the MVM, the next MVM waits for it)
        addi    x4, x4, N
        addi    x5, x5, -1
        bnez    x5, step
        sync    x0
        halt
