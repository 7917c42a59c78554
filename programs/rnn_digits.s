# rnn_digits.s — a recurrent network on the digits, read row by row (emulator/workloads/rnn.py).
#
# One core (core 0); 48 hidden units, each stored 2 times (rows and columns: the copies
# have their own cells, and the next MVM sums them, averaging their device noise).
# H holds the network's input vector:
#   H[0…95] hidden state h (2 copies of 48 4-bit codes), H[96…111] the current image row
#   (2 copies of 8 pixel codes), H[112…115] bias inputs (2 × (1 × 15, 1)),
#   H[116…127] = 0 (12 balancing rows).
# Columns 0…95: the recurrent cell.  mvm.rec reads H[0…127] and writes column j to H[j]:
#   h ← clip(round(20699·acc / 2^22), 0, 15) — the unsigned 4-bit readout is ReLU + clip,
#   so the state stays in the core for all 8 steps; only the next row is scanned in (hin on the
#   16-row window at row0 = 96).
# Columns 128…207: the readout, 8 copies of 10 columns; after the last step
#   mvm.fwd on h gives signed 8-bit partials round(18565·acc / 2^22); the vector unit adds
#   the copies (i16 logits in `out`) and takes the argmax (`pred`).
# Run:  neurram run programs/rnn_digits.s --dump pred --dump out::i16

        .equ N, 50
        .equ NR, 128
        .equ HH, 96
        .equ XW, 16
        .equ NOUT, 10

        .data
x:      .npy "rnn_digits_x.npy", u8        # N × 8 rows × XW pixel codes (each row 2 times)
wrec:   .npy "rnn_digits_rec.npy", i8      # NR × HH recurrent codes
wout:   .npy "rnn_digits_out.npy", i8      # NR × 80 readout codes (8 copies)
h0:     .npy "rnn_digits_h0.npy", u8       # H at the start of each image
        .align 2
part:   .zero 160
out:    .zero N * NOUT * 2
pred:   .zero N

        .text
_start: li      x1, 1
        cpon    x1
        ccfg.nrows x1, NR
        ccfg.inbits x1, 4
        ccfg.insigned x1, 0
        ccfg.col0 x1, 128           # program the readout columns …
        ccfg.ncols x1, 80
        la      x2, wout
        cprog   c0, x2
        ccfg.col0 x1, 0                # … and the recurrent ones
        ccfg.ncols x1, HH
        la      x2, wrec
        cprog   c0, x2
        sync    x0
        li      x2, 3600000
        cage    x2                     # let the conductances relax for 3600 s before inference
        la      x10, x
        la      x11, out
        la      x12, pred
        li      x13, N
image:  ccfg.outbits x1, 4             # recurrent cell: unsigned 4-bit outputs (ReLU + clip)
        ccfg.outsigned x1, 0
        ccfg.gain x1, 20699
        ccfg.gshift x1, 22
        la      x2, h0
        hin.u8  c0, x2                 # h = 0, bias constants, zeros
        li      x14, 8
step:   ccfg.row0 x1, HH               # the pixel window …
        ccfg.nrows x1, XW
        hin.u8  c0, x10                # … gets this image row
        ccfg.row0 x1, 0
        ccfg.nrows x1, NR
        mvm.rec x1                     # h ← f(W·[h, row, 1])
        addi    x10, x10, XW
        addi    x14, x14, -1
        bnez    x14, step
        ccfg.col0 x1, 128           # readout: forward MVM on the final h
        ccfg.ncols x1, 80
        ccfg.outbits x1, 8
        ccfg.outsigned x1, 1
        ccfg.gain x1, 18565
        ccfg.gshift x1, 22
        mvm.fwd x1
        la      x5, part
        vout.i16 c0, x5
        sync    x1
        ccfg.col0 x1, 0
        ccfg.ncols x1, HH
        setvli  40
        addi    x8, x5, 80
        vadd.i16 x5, x5, x8           # add the upper copies onto the lower
        setvli  20
        addi    x8, x5, 40
        vadd.i16 x5, x5, x8           # add the upper copies onto the lower
        setvli  10
        addi    x8, x5, 20
        vadd.i16 x5, x5, x8           # add the upper copies onto the lower
        setvli  NOUT
        vsra.i16 x11, x5, 0            # logits → out[i]
        vargmax.i16 x9, x5
        sb      x9, 0(x12)
        addi    x11, x11, NOUT * 2
        addi    x12, x12, 1
        addi    x13, x13, -1
        bnez    x13, image
        sync    x0
        halt
