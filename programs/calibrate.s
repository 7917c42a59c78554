# calibrate.s — per-column calibration run of core 0 (docs/analog.md, Calibration).
#
# Programs a 64×64 weight block (calibrate_w.npy, codes ±100) with write-verify, then runs one
# forward MVM per input vector of calibrate_x.npy (64 vectors of 64 signed 4-bit inputs) and
# scans each output vector to calib_y (int16).  The symbols calib_w / calib_x / calib_y are the
# calibration convention: `neurram run` (and emulator.calibrate.from_machine) fits each column's
# slope and intercept against the ideal outputs on the first 32 vectors and reports the residual
# error in output LSBs on the other 32, before and after the correction.
#
# Run:  neurram run programs/calibrate.s --model analog --seed 1 --report

        .equ ROWS, 64
        .equ COLS, 64
        .equ N, 64
        .equ GSHIFT, 5              # y = round(Σ w·x / 32): fits the 8-bit signed readout

        .data
calib_w: .npy "calibrate_w.npy"     # 64×64 int8 weight codes, row-major
calib_x: .npy "calibrate_x.npy"     # 64×64 int8 input vectors, one per row
        .align 1
calib_y: .zero 2 * N * COLS         # 64×64 int16 outputs

        .include "../emulator/data/calibrate.s"   # the loop (one copy, shipped with the package)
