# vector_ops.s — the vector unit on int16 data: add, ReLU, rounding shift, requantise to int8,
# and two reductions.
#
# With a[i] = (i+1)·(-1)^i and b[i] = 8·i:
#   sum  = a + b                     (int16)
#   relu = max(sum, 0) >> 2, rounded (int16)
#   q8   = relu saturated to int8
#   total = Σ sum, best = index of the first largest element of sum
# Expected: sum = 1, 6, 19, 20, 37, …, 127, 104; total = 952; best = 14.

        .equ LEN, 16

        .data
a:      .half 1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -16
b:      .half 0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120
sum:    .zero 2 * LEN
relu:   .zero 2 * LEN
q8:     .zero LEN
        .align 8
total:  .dword 0
best:   .dword 0

        .text
_start:
        setvli  LEN
        la      x1, a
        la      x2, b
        la      x3, sum
        vadd.i16 x3, x1, x2             # sum = a + b
        la      x4, relu
        vrelu.i16 x4, x3                # relu = max(sum, 0)
        vsra.i16 x4, x4, 2              # relu = (relu + 2) >> 2
        la      x5, q8
        vcvt.i8.i16 x5, x4              # q8 = saturate(relu)
        vsum.i16 x6, x3                 # x6 = Σ sum
        vargmax.i16 x7, x3              # x7 = argmax(sum)
        la      x8, total
        sd      x6, 0(x8)
        sd      x7, best - total(x8)
        halt
