# cnn_digits_batched.s — the small CNN of emulator/workloads/cnn.py as a batched program:
#   per chunk of CH = 20 images, one bmvm of the conv core over its CH × 36 im2col patches
#   (rows: 9 pixel codes, bias inputs, balancing zeros), the copies summed row by row (vadd2),
#   ReLU / requantise / pooling over the whole chunk's feature maps, then one bmvm of the
#   classifier over the chunk's pooled codes.  Same results as programs/cnn_digits.s.
# Run:  neurram run programs/cnn_digits_batched.s --dump pred --dump out::i16

        .equ N, 20
        .equ CH, 20
        .equ NPOS, 36
        .equ XROW, 13
        .equ NOUT, 10

        .data
x:      .npy "cnn_digits_batched_x.npy", u8        # N·NPOS × XROW: patch, bias inputs, balancing zeros
wconv:  .npy "cnn_digits_batched_conv.npy", i8
wfc:    .npy "cnn_digits_batched_fc.npy", i8
fin:    .npy "cnn_digits_batched_fin.npy", u8      # CH × 78: pooled codes (written per chunk), bias inputs, zeros
fmap:   .zero CH * NPOS * 8
half:   .zero CH * NPOS * 4
pooled: .zero CH * 72
        .align 2
cpart:  .zero CH * NPOS * 256
csum:   .zero CH * NPOS * 16
fpart:  .zero CH * 320
out:    .zero N * NOUT * 2
pred:   .zero N

        .text
_start: li      x1, 3
        cpon    x1                     # cores 0 and 1
        li      x1, 1
        ccfg.nrows x1, 13
        ccfg.ncols x1, 128
        ccfg.inbits x1, 4
        ccfg.insigned x1, 0
        ccfg.outbits x1, 8
        ccfg.outsigned x1, 1
        ccfg.gain x1, 17765
        ccfg.gshift x1, 18
        la      x2, wconv
        cprog   c0, x2
        li      x1, 2
        ccfg.nrows x1, 78
        ccfg.ncols x1, 160
        ccfg.inbits x1, 4
        ccfg.insigned x1, 0
        ccfg.outbits x1, 8
        ccfg.outsigned x1, 1
        ccfg.gain x1, 20805
        ccfg.gshift x1, 20
        la      x2, wfc
        cprog   c1, x2
        sync    x0
        li      x2, 3600000
        cage    x2                     # let the conductances relax for 3600 s
        la      x10, x
        la      x11, out
        la      x12, pred
        li      x13, N / CH
chunk:  li      x2, CH * NPOS
        bcount  x2                     # conv: every patch of the chunk
        li      x7, 256
        li      x8, XROW
        bstride x7, x8, x0
        la      x5, cpart
        bmvm.fwd.u8.i16 c0, x5, x10
        li      x1, 1
        sync    x1
        li      x7, 256
        bstride x7, x7, x7
        li      x14, 64
        setvl   x14
        la      x5, cpart
        addi    x8, x5, 128
        vadd2.i16 x5, x5, x8           # copies, every row
        li      x14, 32
        setvl   x14
        la      x5, cpart
        addi    x8, x5, 64
        vadd2.i16 x5, x5, x8           # copies, every row
        li      x14, 16
        setvl   x14
        la      x5, cpart
        addi    x8, x5, 32
        vadd2.i16 x5, x5, x8           # copies, every row
        li      x14, 8
        setvl   x14
        la      x5, cpart
        addi    x8, x5, 16
        vadd2.i16 x5, x5, x8           # copies, every row
        li      x7, 16
        li      x8, 256
        bstride x7, x8, x0
        li      x14, 8
        setvl   x14
        la      x5, csum
        la      x6, cpart
        vcvt2.i16.i16 x5, x6           # the channel sums, CH·NPOS × 8
        li      x14, CH * NPOS * 8
        setvl   x14
        vsra.i16 x5, x5, 7
        vclipu.i16 x5, x5, 4
        la      x6, fmap
        vcvt.u8.i16 x6, x5            # codes → fmap (image, y, x, c)
        li      x14, CH * NPOS * 4
        setvl   x14
        la      x5, half
        li      x7, 8
        vpmax.u8 x5, x6, x7            # max over x pairs (never across images)
        li      x14, CH * 72
        setvl   x14
        la      x6, pooled
        li      x7, 24
        vpmax.u8 x6, x5, x7            # max over y pairs
        li      x2, CH
        bcount  x2                     # classifier: every image of the chunk
        li      x7, 78
        li      x8, 72
        bstride x7, x8, x0
        li      x14, 72
        setvl   x14
        la      x5, fin
        vcvt2.u8.u8 x5, x6             # pooled codes → the classifier's input rows
        li      x7, 320
        li      x8, 78
        bstride x7, x8, x0
        la      x6, fpart
        bmvm.fwd.u8.i16 c1, x6, x5
        li      x4, 2
        sync    x4
        li      x7, 320
        bstride x7, x7, x7
        li      x14, 80
        setvl   x14
        la      x5, fpart
        addi    x8, x5, 160
        vadd2.i16 x5, x5, x8           # copies, every row
        li      x14, 40
        setvl   x14
        la      x5, fpart
        addi    x8, x5, 80
        vadd2.i16 x5, x5, x8           # copies, every row
        li      x14, 20
        setvl   x14
        la      x5, fpart
        addi    x8, x5, 40
        vadd2.i16 x5, x5, x8           # copies, every row
        li      x14, 10
        setvl   x14
        la      x5, fpart
        addi    x8, x5, 20
        vadd2.i16 x5, x5, x8           # copies, every row
        li      x7, NOUT * 2
        li      x8, 320
        bstride x7, x8, x0
        li      x14, NOUT
        setvl   x14
        la      x5, fpart
        vcvt2.i16.i16 x11, x5          # logits → out[i …]
        li      x7, 1
        bstride x7, x8, x0
        vargmax2.u8.i16 x12, x5        # predictions → pred[i …]
        li      x14, CH * NPOS * XROW
        add     x10, x10, x14
        li      x14, CH * NOUT * 2
        add     x11, x11, x14
        addi    x12, x12, CH
        addi    x13, x13, -1
        bnez    x13, chunk
        sync    x0
        halt
