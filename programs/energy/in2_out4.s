# in2_out4.s — precision row 2 b in / 4 b out of `neurram reproduce energy`: signed 2-bit inputs (1 magnitude bits), 4-bit outputs.
# Run:  neurram run programs/energy/in2_out4.s --report

        .equ IN_BITS, 2
        .equ IN_SIGNED, 1
        .equ OUT_BITS, 4
        .include "peak.inc"
