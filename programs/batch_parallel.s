# batch_parallel.s — data parallelism: the same weights on four cores, four inputs at once.
#
# A 16×32 matrix W (codes -2..2) is programmed into cores 0, 6, 12 and 18 — one per scan
# chain, so their scans never queue behind each other.  A batch of four signed 4-bit input
# vectors is then run twice and timed with rdcycle:
#   parallel: every core scans in its own input, one mvm instruction runs all four MVMs
#             concurrently, and the four results scan out in parallel;
#   serial:   the same batch through core 0 alone, one input after another.
# Both give the same outputs; the parallel batch takes about a quarter of the serial time.
#
# Expected output (y_par and y_ser, one row of 32 per input; y = Wᵀx, no clipping needed):
#   [17 -19 7 -21 -8 -25 -21 1 -30 25 -26 2 -8 -12 -11 24 42 22 18 -44 10 -6 -18 -36 -11 -5 16 33 4 -25 -17 -13]
#   [8 -8 10 -37 21 -7 -33 8 -21 53 -7 16 10 -2 -13 18 18 18 25 -43 14 7 -15 -3 18 27 20 0 25 -23 -2 -64]
#   [-38 -47 18 -5 16 1 12 -37 -6 29 -19 -23 -29 -7 -70 -5 30 17 -18 14 -42 -14 -17 2 44 28 1 -18 -12 11 -18 -47]
#   [-45 25 14 24 4 -2 -32 13 44 -23 35 21 -5 29 12 -25 -36 -27 24 11 29 -7 -12 6 -29 6 -25 -31 13 12 26 -7]
#   cycles = [t_parallel t_serial] = [3567 14212] with the default chip profile: per input,
#   a 1-segment H scan (1024), the MVM (479) and a 2-segment V scan (2048), ×4 when serial;
#   [10520 42024] with --config board, whose MVM takes 7432.
# Run:  neurram run programs/batch_parallel.s --dump y_par --dump y_ser --dump cycles::i64

        .equ BATCH, 4
        .equ K, 16                  # inputs per vector
        .equ N, 32                  # outputs per vector
        .equ CORES, (1 << 0) | (1 << 6) | (1 << 12) | (1 << 18)

        .data
w:
        .byte 1, 2, -2, 2, 0, 0, 1, -1, 2, -2, -1, -1, 0, 0, -2, -2, -2, -2, -2, 2, -2, 1, 1, -1, -1, 0, -1, 2, -2, 2, 1, 2
        .byte -2, -1, 1, 0, 1, 1, 1, -2, 2, 0, 2, -1, -1, 2, -2, -2, -1, 1, -2, 2, -1, -1, 0, 2, 2, 2, -1, -2, 1, 1, 1, -2
        .byte -2, 0, -1, 0, 2, -1, 0, -1, -1, 2, -2, -1, -2, -2, -1, 1, 0, 0, -2, 1, 1, -1, -2, -1, -2, 1, 0, 0, -1, 0, 2, -1
        .byte 1, -2, -1, 2, 2, -2, 2, 2, 0, -1, 2, 2, 1, -1, -1, 2, -1, 0, 1, -1, -1, 1, -2, 1, 2, 1, 1, 0, 2, -1, -1, 1
        .byte 1, -2, -2, 1, 2, 1, 2, -1, -1, 1, -2, -2, -2, -1, -2, 1, 2, -1, -2, 1, -2, 1, -2, 2, 1, 2, 1, 1, -1, 2, -2, -2
        .byte -1, 1, 0, 2, 2, 0, 0, 0, 1, 0, 1, 2, 1, -1, 0, 0, -2, -2, 1, 0, -1, 1, 0, 2, 1, 2, 0, -1, -1, 2, 0, -2
        .byte 2, 2, -2, -2, 1, 0, -1, -2, -2, 2, 2, 2, 0, -2, -1, 0, 2, -1, 0, 0, 0, 0, 1, -2, 2, 2, 1, -1, 0, 0, -1, -2
        .byte 1, -2, 1, -2, 1, -1, -1, 2, 0, 2, -2, 0, -1, 0, -2, 1, -1, 2, -1, -1, -2, 1, 0, -1, 2, 0, 2, 1, 0, 0, -1, 1
        .byte 1, 1, 0, -2, 1, -2, 2, -2, -1, -1, 0, -1, -1, -2, 2, -1, -2, 1, -2, 2, 1, -1, 0, -1, 1, 0, -1, 1, -2, 1, 0, 2
        .byte -1, -1, 2, 1, -2, -1, -2, 2, 0, -1, 1, 2, -2, 0, -1, 1, 2, 0, 1, -1, 0, 0, 1, -2, -1, -2, 2, 0, 0, 0, -2, 2
        .byte 2, -2, 1, 0, -1, 0, 2, 0, 0, 1, 1, 0, 2, 0, 1, 0, 0, 1, 2, -1, -1, 0, -1, 1, 2, -2, -2, 2, 0, 1, 1, 2
        .byte -2, -1, 2, 0, -1, -1, -2, -2, 2, -2, -2, -1, -1, 2, -1, -2, -1, 1, 0, -1, -2, -2, 0, -2, 0, 1, -1, 0, -2, 0, -2, 0
        .byte -2, -1, 0, 0, -2, 2, 0, -1, -2, 1, 0, -1, 0, -2, -2, -1, 2, -2, 0, 2, 0, -1, 0, -2, 1, -2, 0, -2, -2, -1, 1, 0
        .byte 0, 1, -2, 2, 0, 2, 1, -1, -1, 1, 2, 2, 0, -2, 2, 2, 1, -1, -2, 1, -1, -1, 2, 1, -1, 0, 1, -2, -1, 1, 1, 2
        .byte 1, 0, -1, -1, -1, 2, -2, -1, -2, 2, 1, 0, 1, -1, 0, -1, 1, -2, 0, -1, 2, -1, -1, -2, 0, 0, 1, 0, -1, -2, 2, -2
        .byte 1, 2, -1, -2, 1, -1, -2, 2, 2, -2, 1, 0, -2, 2, 2, -2, -2, -2, 2, 2, 2, 1, -2, -1, 0, 0, -2, -1, 1, 2, -2, 2
xs:
        .byte -3, -6, 6, 0, 2, -5, 6, -1, -2, 4, 4, 3, -4, -5, 1, -3
        .byte -7, -1, 4, -2, -1, 3, 7, 4, -5, -2, 1, -1, -4, -6, 2, -2
        .byte -3, 7, 5, 0, 6, 1, 6, 2, -2, 1, 3, 5, 7, -4, -6, -3
        .byte 1, 6, 6, 0, -7, 7, -4, -5, -4, 4, 0, 0, -2, 0, 3, 6
y_par:  .zero BATCH * N
y_ser:  .zero BATCH * N
        .align 8
cycles: .dword 0, 0                 # cycles of the parallel and of the serial batch

        .text
_start:
        li      x1, CORES
        cpon    x1
        ccfg.nrows x1, K
        ccfg.ncols x1, N
        la      x2, w
        cprog   c0, x2              # the same codes into four cores (the programmer is shared)
        cprog   c6, x2
        cprog   c12, x2
        cprog   c18, x2
        sync    x0

        # ---- parallel: one input per core
        rdcycle x10
        la      x3, xs
        hin.i8  c0, x3
        addi    x3, x3, K
        hin.i8  c6, x3
        addi    x3, x3, K
        hin.i8  c12, x3
        addi    x3, x3, K
        hin.i8  c18, x3
        mvm.fwd x1                  # waits for the four scans, then runs four MVMs at once
        la      x4, y_par
        vout.i8 c0, x4
        addi    x4, x4, N
        vout.i8 c6, x4
        addi    x4, x4, N
        vout.i8 c12, x4
        addi    x4, x4, N
        vout.i8 c18, x4
        sync    x0
        rdcycle x11
        sub     x11, x11, x10

        # ---- serial: the same batch through core 0
        rdcycle x10
        li      x6, 1 << 0
        la      x3, xs
        la      x4, y_ser
        li      x5, BATCH
serial:
        hin.i8  c0, x3
        mvm.fwd x6
        vout.i8 c0, x4
        addi    x3, x3, K
        addi    x4, x4, N
        addi    x5, x5, -1
        bnez    x5, serial
        sync    x0
        rdcycle x12
        sub     x12, x12, x10

        la      x7, cycles
        sd      x11, 0(x7)
        sd      x12, 8(x7)
        halt
