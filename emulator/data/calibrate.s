# calibrate.s — the per-column calibration loop of core 0 (docs/analog.md, Calibration).
#
# The one copy of the calibration program's code: emulator.calibrate.calibrate() includes it
# after data of its own size, programs/calibrate.s after its shipped 64×64 data.  The includer
# defines ROWS, COLS, N (input vectors) and GSHIFT, and the data symbols of the calibration
# convention: calib_w (ROWS×COLS int8 weight codes, row-major), calib_x (N×ROWS int8 inputs)
# directly followed by calib_y (N×COLS int16 outputs, 2-byte aligned).
#
# Programs the weights with write-verify, runs one forward MVM per input vector and scans each
# output vector to calib_y; emulator.calibrate.from_machine fits the columns from the result.

        .text
_start: li      x1, 1               # core 0
        cpon    x1
        ccfg.nrows x1, ROWS
        ccfg.ncols x1, COLS
        ccfg.gshift x1, GSHIFT
        la      x2, calib_w
        cprog   c0, x2              # write-verify: pulses set the time, relaxation starts
        la      x3, calib_x
        la      x4, calib_y
        li      x5, N
loop:   hin.i8  c0, x3
        mvm.fwd x1
        vout.i16 c0, x4
        addi    x3, x3, ROWS
        addi    x4, x4, 2 * COLS
        addi    x5, x5, -1
        bnez    x5, loop
        sync    x0
        halt
