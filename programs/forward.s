# forward.s — one forward MVM on one core: y = Wᵀ·x.
#
# Core 0 holds an 8×16 weight matrix W (int8 codes in -3..3, written by cprog as differential
# conductance pairs); 8 signed 4-bit inputs x are scanned into its H register, one forward MVM
# drives the row pairs and the 16 column neurons read y out into V, which is scanned out to y.
# Every step is asynchronous: each instruction waits only for the core it needs.
#
# Expected output (8-bit signed SAR readout, gain 1, so y is the exact product):
#   y = [-4 25 29 29 4 -20 -8 9 -9 41 -19 23 -24 39 -2 -5]
# Run:  neurram run programs/forward.s --dump y

        .equ C0, 1 << 0             # core mask of core 0

        .data
w:      .byte -2, 1, -3, -2, -1, -1, 3, 2, 3, 3, -3, -3, 3, -3, -2, -2
        .byte 3, -1, -2, -2, 0, 1, 2, 1, 3, -3, 0, 0, 1, -3, -2, 0
        .byte -3, 3, 1, 2, 0, 1, -1, -1, -3, -2, 2, 0, 2, -2, 2, 3
        .byte 2, -2, -1, -2, 2, 2, 0, -2, -3, -2, -2, -3, 2, 0, 3, -2
        .byte -1, 3, 1, -1, -1, 2, -1, 0, 0, 0, 0, 3, -2, 3, -2, -3
        .byte -1, -2, 1, -2, -2, 3, 2, 0, 3, -1, -3, 2, -3, -1, 0, 1
        .byte -3, -2, -3, -3, -2, 1, 0, -1, 1, -1, 3, -2, 1, -2, 0, 0
        .byte 3, -1, -3, -1, 1, -2, 3, 0, 0, 1, 0, -1, 0, -1, 3, 3
x:      .byte 1, -7, -2, -3, 2, 0, -6, 1
y:      .zero 16

        .text
_start:
        li      x1, C0
        cpon    x1                  # power on; the core wakes for t_wake cycles
        ccfg.nrows x1, 8            # (waits for the wake-up) 8 logical rows …
        ccfg.ncols x1, 16           # … × 16 columns: the window every core op works on
        la      x2, w
        cprog   c0, x2              # write-verify the 8×16 codes on the chip's programmer
        la      x3, x
        hin.i8  c0, x3              # scan x into H[0..8) once programming is done
        mvm.fwd x1                  # y = Wᵀx: 3 magnitude bits, one pass, into V[0..16)
        la      x4, y
        vout.i8 c0, x4              # scan V[0..16) out to y (memory written when it ends)
        sync    x0                  # wait for every core before stopping
        halt
