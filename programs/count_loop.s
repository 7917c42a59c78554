# count_loop.s — a counted loop with a subroutine call: the smallest complete NR48 program.
#
# Sums 1..N into x2, then stores the sum and the cycles the loop took in data memory.
# Expected result: sum = N·(N+1)/2 = 55 for N = 10.

        .equ N, 10

        .data
result: .dword 0                    # the sum
cycles: .dword 0                    # rdcycle difference around the loop

        .text
_start:
        li      x3, N               # counter (x1 holds return addresses)
        li      x2, 0               # sum
        rdcycle x5
loop:
        call    accumulate
        addi    x3, x3, -1
        bnez    x3, loop
        rdcycle x6
        sub     x6, x6, x5
        la      x4, result
        sd      x2, 0(x4)
        sd      x6, cycles - result(x4)
        halt

# x2 += x3
accumulate:
        add     x2, x2, x3
        ret
