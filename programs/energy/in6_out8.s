# in6_out8.s — precision row 6 b in / 8 b out of `neurram reproduce energy`: signed 6-bit inputs (5 magnitude bits), 8-bit outputs.
# Run:  neurram run programs/energy/in6_out8.s --report

        .equ IN_BITS, 6
        .equ IN_SIGNED, 1
        .equ OUT_BITS, 8
        .include "peak.inc"
