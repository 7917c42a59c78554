# in7_out9.s — precision row 7 b in / 9 b out of `neurram reproduce energy`: signed 7-bit inputs (6 magnitude bits), 9-bit outputs.
# Run:  neurram run programs/energy/in7_out9.s --report

        .equ IN_BITS, 7
        .equ IN_SIGNED, 1
        .equ OUT_BITS, 9
        .include "peak.inc"
