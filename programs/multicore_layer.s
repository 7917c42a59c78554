# multicore_layer.s — a 192-input layer split over three cores, partial sums added digitally.
#
# y = Wᵀ·x with W 192×32 (codes -3..3, multicore_layer_w.npy) and x 192 unsigned 4-bit
# activations (0..15, multicore_layer_x.npy).  A core holds at most 128 logical rows, and the
# paper's mappings cut layers into segments of ~64–100 inputs, so rows 0–63, 64–127 and
# 128–191 go to cores 0, 6 and 12 — one per scan chain, so their scans run in parallel.
# One mvm instruction runs all three concurrently; each neuron reports round(partial / 4)
# (gshift 2) as an 8-bit code, the vector unit adds the three int16 partials, then applies
# ReLU and requantises to the next layer's 4-bit unsigned input code.
#
# Expected output:
#   psum = [7 -92 -62 33 147 39 38 -75 101 0 82 -49 -48 -26 35 -106
#           40 80 57 -53 31 -55 69 87 9 -111 73 39 78 -85 52 15]
#   (Wᵀx/4 rounded once would differ by ±1 in places: each core rounds its own partial sum)
#   act  = [2 0 0 8 15 10 10 0 15 0 15 0 0 0 9 0 10 15 14 0 8 0 15 15 2 0 15 10 15 0 13 4]
# Run:  neurram run programs/multicore_layer.s --dump psum:32:i16 --dump act

        .equ CORES, (1 << 0) | (1 << 6) | (1 << 12)
        .equ ROWS, 64               # inputs per core
        .equ N, 32                  # outputs

        .data
w:      .npy "multicore_layer_w.npy"    # 192×32 int8, row-major: core k's block at w + k·ROWS·N
x:      .npy "multicore_layer_x.npy"    # 192 uint8
        .align 2
p0:     .zero 2 * N                 # partial sums of the three cores (int16)
p1:     .zero 2 * N
p2:     .zero 2 * N
psum:   .zero 2 * N
act16:  .zero 2 * N
act:    .zero N                     # the layer's output as 4-bit codes (uint8)

        .text
_start:
        li      x1, CORES
        cpon    x1
        ccfg.nrows x1, ROWS
        ccfg.ncols x1, N
        ccfg.insigned x1, 0         # activations are unsigned 4-bit codes
        ccfg.gshift x1, 2           # each partial sum /4, so it fits the 8-bit readout
        la      x2, w               # program the three blocks (one programmer: in turn)
        cprog   c0, x2
        addi    x2, x2, ROWS * N
        cprog   c6, x2
        addi    x2, x2, ROWS * N
        cprog   c12, x2
        la      x3, x               # each core gets its 64 inputs
        hin.u8  c0, x3
        addi    x3, x3, ROWS
        hin.u8  c6, x3
        addi    x3, x3, ROWS
        hin.u8  c12, x3
        mvm.fwd x1                  # three partial products at once
        la      x4, p0
        vout.i16 c0, x4
        la      x5, p1
        vout.i16 c6, x5
        la      x6, p2
        vout.i16 c12, x6
        sync    x0
        setvli  N
        la      x7, psum
        vadd.i16 x7, x4, x5         # psum = p0 + p1 + p2
        vadd.i16 x7, x7, x6
        la      x8, act16
        vrelu.i16 x8, x7            # ReLU …
        vsra.i16 x8, x8, 2          # … scale by 1/4, rounded …
        vclipu.i16 x8, x8, 4        # … clip to 0..15
        la      x9, act
        vcvt.u8.i16 x9, x8
        halt
