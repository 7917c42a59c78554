# in3_out5.s — precision row 3 b in / 5 b out of `neurram reproduce energy`: signed 3-bit inputs (2 magnitude bits), 5-bit outputs.
# Run:  neurram run programs/energy/in3_out5.s --report

        .equ IN_BITS, 3
        .equ IN_SIGNED, 1
        .equ OUT_BITS, 5
        .include "peak.inc"
