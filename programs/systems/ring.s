# A token goes once round a ring of chips; every chip adds its id + 1 to each of its 4 words.
# The same program runs on every chip: chip 0 starts the ring and receives it back at the end.
        .data
token:  .word  100, 200, 300, 400

        .text
_start: chipid  x1
        nchips  x2
        addi    x3, x1, 1          # next chip = (id + 1) mod n
        bne     x3, x2, prev
        movi    x3, 0
prev:   addi    x4, x1, -1         # previous chip = (id − 1) mod n
        bge     x4, x0, setup
        addi    x4, x2, -1
setup:  la      x5, token
        li      x6, 16             # bytes
        addi    x7, x1, 1          # what this chip adds
        setvli  4
        bnez    x1, relay
        vadds.i32 x5, x5, x7       # chip 0: add, pass on, wait for the ring to close
        send    x3, x5, x6
        recv    x4, x5, x6
        halt
relay:  recv    x4, x5, x6         # the others: receive, add, pass on
        vadds.i32 x5, x5, x7
        send    x3, x5, x6
        halt
