# ping-pong, chip 0: send 8 bytes to chip 1, receive them back (each byte + 8).
# Run the pair with `neurram run programs/systems/pingpong.toml`.
        .data
msg:    .byte  1, 2, 3, 4, 5, 6, 7, 8
back:   .zero  8

        .text
_start: li      x1, 1              # the partner chip
        la      x2, msg
        li      x3, 8              # bytes
        send    x1, x2, x3         # blocks until chip 1 has received
        la      x4, back
        recv    x1, x4, x3
        halt
