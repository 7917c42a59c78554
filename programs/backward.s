# backward.s — the transposed MVM on the same array: x = W·v, no second copy of W.
#
# Core 0 holds the 8×16 matrix W of forward.s.  A backward MVM drives the 16 columns with the
# signed 4-bit codes v from the V register and the 8 row-pair neurons sense differentially,
# writing x into H.  A gain shift of 1 halves the sums (round half up) so they fit 8 bits.
#
# Expected output: W·v = [-4 -34 -47 66 9 -5 20 7], halved and rounded:
#   x_out = [-2 -17 -23 33 5 -2 10 4]
# Run:  neurram run programs/backward.s --dump x_out

        .equ C0, 1 << 0

        .data
w:      .byte -2, 1, -3, -2, -1, -1, 3, 2, 3, 3, -3, -3, 3, -3, -2, -2
        .byte 3, -1, -2, -2, 0, 1, 2, 1, 3, -3, 0, 0, 1, -3, -2, 0
        .byte -3, 3, 1, 2, 0, 1, -1, -1, -3, -2, 2, 0, 2, -2, 2, 3
        .byte 2, -2, -1, -2, 2, 2, 0, -2, -3, -2, -2, -3, 2, 0, 3, -2
        .byte -1, 3, 1, -1, -1, 2, -1, 0, 0, 0, 0, 3, -2, 3, -2, -3
        .byte -1, -2, 1, -2, -2, 3, 2, 0, 3, -1, -3, 2, -3, -1, 0, 1
        .byte -3, -2, -3, -3, -2, 1, 0, -1, 1, -1, 3, -2, 1, -2, 0, 0
        .byte 3, -1, -3, -1, 1, -2, 3, 0, 0, 1, 0, -1, 0, -1, 3, 3
v:      .byte -7, -7, -7, -4, 7, -7, 2, -7, -7, -3, -5, -1, -7, 5, -1, -7
x_out:  .zero 8

        .text
_start:
        li      x1, C0
        cpon    x1
        ccfg.nrows x1, 8
        ccfg.ncols x1, 16
        ccfg.gshift x1, 1           # y = round(acc / 2)
        la      x2, w
        cprog   c0, x2
        la      x3, v
        vin.i8  c0, x3              # v into V[0..16): 2 segments from the chain's near end
        mvm.bwd x1                  # x = W·v into H[0..8)
        la      x4, x_out
        hout.i8 c0, x4
        sync    x0
        halt
