# in8_out10.s — precision row 8 b in / 10 b out of `neurram reproduce energy`: signed 8-bit inputs (7 magnitude bits), 10-bit outputs.
# Run:  neurram run programs/energy/in8_out10.s --report

        .equ IN_BITS, 8
        .equ IN_SIGNED, 1
        .equ OUT_BITS, 10
        .include "peak.inc"
