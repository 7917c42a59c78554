# in1_out3.s — precision row 1 b in / 3 b out of `neurram reproduce energy`: unsigned 1-bit inputs (one magnitude bit), 3-bit outputs.
# Run:  neurram run programs/energy/in1_out3.s --report

        .equ IN_BITS, 1
        .equ IN_SIGNED, 0
        .equ OUT_BITS, 3
        .include "peak.inc"
