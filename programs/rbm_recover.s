# rbm_recover.s — RBM image recovery by Gibbs sampling on one core (emulator/workloads/rbm.py).
#
# Core 0 holds the RBM: rows 0…63 the visible pixels, row 64 the hidden biases (visible input
# clamped to 1), columns 0…47 the hidden units, column 48 the visible biases (hidden input
# clamped to 1).  smp.fwd samples the hidden units from the visible ones (H → V), smp.bwd the
# visible pixels from the hidden ones (V → H) — both directions on the same array.  Stochastic
# units: 1 if acc + u > 0, u uniform in [−225, 225] (P = hard sigmoid of the float activation).
# Per image: start from the corrupted image, STEPS Gibbs steps; after each backward sample the
# known pixels (and the bias input) are clamped back by the vector unit
# (v = v·free + clamp); the last KEEP visible samples are counted in `count` (N × 64 u8);
# the recovered pixel is count > KEEP/2.
# Run:  neurram run programs/rbm_recover.s --model analog --seed 1 --dump count

        .equ N, 40
        .equ STEPS, 16
        .equ KEEP, 8
        .equ VR, 65
        .equ HC, 49

        .data
w:      .npy "rbm_recover_w.npy", i8
x:      .npy "rbm_recover_x.npy", u8       # corrupted images + bias input 1 (N × VR)
clamp:  .npy "rbm_recover_clamp.npy", u8   # known pixels (0 where resampled), bias 1
free:   .npy "rbm_recover_free.npy", u8    # 1 where the pixel is resampled
vbuf:   .zero VR
hbuf:   .zero HC
count:  .zero N * VR

        .text
_start: li      x1, 1
        cpon    x1
        ccfg.nrows x1, VR
        ccfg.ncols x1, HC
        ccfg.inbits x1, 1             # 0/1 inputs both ways
        ccfg.noise x1, 225
        la      x2, w
        cprog   c0, x2
        sync    x0                    # programming done (cprog is asynchronous) …
        li      x7, 3600000
        cage    x7                    # let the conductances relax for 3600 s
        la      x10, x
        la      x11, clamp
        la      x12, free
        la      x13, count
        li      x14, N
image:  hin.u8  c0, x10               # H ← the corrupted image
        li      x15, STEPS
step:   smp.fwd x1                    # hidden units ~ P(h | v), into V
        la      x3, hbuf
        vout.u8 c0, x3
        sync    x1
        li      x4, 1
        sb      x4, 48(x3)           # the bias column's input is always 1
        vin.u8  c0, x3
        smp.bwd x1                    # visible pixels ~ P(v | h), into H
        la      x5, vbuf
        hout.u8 c0, x5
        sync    x1
        setvli  VR
        vmul.u8 x5, x5, x12           # keep the resampled pixels …
        vadd.u8 x5, x5, x11           # … and clamp the known ones and the bias input
        hin.u8  c0, x5
        li      x6, KEEP
        blt     x6, x15, skip         # count only the last KEEP samples
        vadd.u8 x13, x13, x5
skip:   addi    x15, x15, -1
        bnez    x15, step
        addi    x10, x10, VR
        addi    x11, x11, VR
        addi    x12, x12, VR
        addi    x13, x13, VR
        addi    x14, x14, -1
        bnez    x14, image
        sync    x0
        halt
