# ping-pong, chip 1: receive 8 bytes from chip 0, add 8 to each, send them back.
        .data
buf:    .zero  8

        .text
_start: li      x1, 0              # the partner chip
        la      x2, buf
        li      x3, 8
        recv    x1, x2, x3
        setvli  8
        vadds.i8 x2, x2, x3        # buf[i] += 8
        send    x1, x2, x3
        halt
