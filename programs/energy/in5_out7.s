# in5_out7.s — precision row 5 b in / 7 b out of `neurram reproduce energy`: signed 5-bit inputs (4 magnitude bits), 7-bit outputs.
# Run:  neurram run programs/energy/in5_out7.s --report

        .equ IN_BITS, 5
        .equ IN_SIGNED, 1
        .equ OUT_BITS, 7
        .include "peak.inc"
