# in4_out6.s — precision row 4 b in / 6 b out of `neurram reproduce energy`: signed 4-bit inputs (3 magnitude bits), 6-bit outputs.
# Run:  neurram run programs/energy/in4_out6.s --report

        .equ IN_BITS, 4
        .equ IN_SIGNED, 1
        .equ OUT_BITS, 6
        .include "peak.inc"
