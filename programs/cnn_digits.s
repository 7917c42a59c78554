# cnn_digits.s — a small CNN on the digits (emulator/workloads/cnn.py):
#   conv 3×3, 8 channels (im2col: a dense layer over 3×3 patches, looped over the 36 output
#   positions) → ReLU + requantise to 4 bits → 2×2 max-pool (vpmax) → dense 72 → 10.
# Core 0: conv, rows 0…8 the patch, 1 coarse bias rows (input 15) + 1 fine (input 1),
#   2 balancing rows (input 0); columns: 16 copies of 8 channels; partials
#   round(17765·acc / 2^18) at 2^3 × the activation code; the vector unit sums the
#   copies, vrelu, vsra 7, vclipu 4 → fmap[pos·8 …] (u8, layout y, x, c).
# Pool: vpmax.u8 groups of 8 (x pairs), then groups of 24 (y pairs) → 3×3×8 = 72 codes.
# Core 1: classifier, rows 0…71 pooled codes, 1 + 1 bias rows, 4 balancing rows;
#   16 copies of 10 columns; partials round(20805·acc / 2^20) summed into i16 logits (`out`).
# Run:  neurram run programs/cnn_digits.s --dump pred --dump out::i16

        .equ N, 20
        .equ NPOS, 36
        .equ PATCH, 9
        .equ NOUT, 10

        .data
x:      .npy "cnn_digits_x.npy", u8        # N × NPOS × PATCH pixel codes (im2col)
wconv:  .npy "cnn_digits_conv.npy", i8     # 13 × 128 conv codes
wfc:    .npy "cnn_digits_fc.npy", i8       # 78 × 160 classifier codes
cconst: .npy "cnn_digits_cconst.npy", u8   # conv H: bias inputs and zeros after the patch
fmap:   .zero 288
half:   .zero 144
pooled: .zero 72
        .npy "cnn_digits_fconst.npy", u8   # classifier bias inputs and zeros: `pooled` runs on into them (one hin)
        .align 2
cpart:  .zero 256
fpart:  .zero 320
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
        cage    x2                     # let the conductances relax for 3600 s before inference
        li      x1, 1
        ccfg.row0 x1, PATCH            # bias inputs and balancing zeros of the conv core, once
        ccfg.nrows x1, 4
        la      x2, cconst
        hin.u8  c0, x2
        ccfg.row0 x1, 0
        ccfg.nrows x1, PATCH           # from now on hin scans only the patch rows
        la      x10, x
        la      x11, out
        la      x12, pred
        li      x13, N
image:  la      x15, fmap
        li      x14, NPOS
pos:    ccfg.nrows x1, PATCH
        hin.u8  c0, x10                # the 3×3 patch of this position
        ccfg.nrows x1, 13
        mvm.fwd x1
        la      x5, cpart
        vout.i16 c0, x5
        sync    x1
        setvli  64
        la      x5, cpart
        addi    x8, x5, 128
        vadd.i16 x5, x5, x8           # add the upper copies onto the lower
        setvli  32
        la      x5, cpart
        addi    x8, x5, 64
        vadd.i16 x5, x5, x8           # add the upper copies onto the lower
        setvli  16
        la      x5, cpart
        addi    x8, x5, 32
        vadd.i16 x5, x5, x8           # add the upper copies onto the lower
        setvli  8
        la      x5, cpart
        addi    x8, x5, 16
        vadd.i16 x5, x5, x8           # add the upper copies onto the lower
        setvli  8
        la      x5, cpart
        vrelu.i16 x5, x5
        vsra.i16 x5, x5, 7
        vclipu.i16 x5, x5, 4
        vcvt.u8.i16 x15, x5            # 8 channel codes → fmap[pos·8]
        addi    x15, x15, 8
        addi    x10, x10, PATCH
        addi    x14, x14, -1
        bnez    x14, pos
        setvli  144
        la      x5, half
        la      x6, fmap
        li      x7, 8
        vpmax.u8 x5, x6, x7            # max over x pairs
        setvli  72
        la      x6, pooled
        li      x7, 24
        vpmax.u8 x6, x5, x7            # max over y pairs
        hin.u8  c1, x6                 # pooled codes + bias inputs + zeros
        li      x4, 2
        mvm.fwd x4
        la      x5, fpart
        vout.i16 c1, x5
        sync    x4
        setvli  80
        la      x5, fpart
        addi    x8, x5, 160
        vadd.i16 x5, x5, x8           # add the upper copies onto the lower
        setvli  40
        la      x5, fpart
        addi    x8, x5, 80
        vadd.i16 x5, x5, x8           # add the upper copies onto the lower
        setvli  20
        la      x5, fpart
        addi    x8, x5, 40
        vadd.i16 x5, x5, x8           # add the upper copies onto the lower
        setvli  10
        la      x5, fpart
        addi    x8, x5, 20
        vadd.i16 x5, x5, x8           # add the upper copies onto the lower
        setvli  NOUT
        la      x5, fpart
        vsra.i16 x11, x5, 0            # logits → out[i]
        vargmax.i16 x9, x5
        sb      x9, 0(x12)
        addi    x11, x11, NOUT * 2
        addi    x12, x12, 1
        addi    x13, x13, -1
        bnez    x13, image
        sync    x0
        halt
