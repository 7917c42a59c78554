"""Per-instruction vectors of the link group (send, recv, barrier, chipid, nchips): on a machine
alone, and in small systems built from encoded words, with the cycles each costs."""
from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import SMALL, I, li, program, run_one


def system(progs, link="c2c", config=None):
    from emulator.system import System

    return System(len(progs), config={**SMALL, **(config or {})}, link=link).load(progs)


# ---------------------------------------------------------------- one chip alone

def test_chipid_and_nchips_of_a_machine_alone():
    m, r = run_one(I.chipid(rd=3))
    assert r.stop == "step" and int(m.regs[3]) == 0 and r.cycles == 1
    m, r = run_one(I.nchips(rd=4))
    assert int(m.regs[4]) == 1 and r.cycles == 1


def test_barrier_alone_passes_in_one_cycle():
    m, r = run_one(I.barrier())
    assert r.stop == "step" and r.cycles == 1 and m.pc == 4


@pytest.mark.parametrize("op", ["send", "recv"])
def test_send_and_recv_alone_have_no_partner(op):
    m, r = run_one(getattr(I, op)(rt=1, rs1=2, rs2=3), regs={1: 0, 2: 0, 3: 4})
    assert r.stop == "fault" and r.fault == "bad_chip" and r.fault_detail == 0
    assert "bad_chip" in r.message and m.pc == 0


# ---------------------------------------------------------------- two chips

def _sender(peer, addr, n, data=b""):
    return program(*li(1, peer), *li(2, addr), *li(3, n), I.send(rt=1, rs1=2, rs2=3), I.halt(),
                   data={addr: data} if data else None)


def _receiver(peer, addr, n):
    return program(*li(1, peer), *li(2, addr), *li(3, n), I.recv(rt=1, rs1=2, rs2=3), I.halt())


def test_send_recv_moves_the_block_and_costs_the_link():
    payload = bytes(range(1, 101))
    s = system([_sender(1, 0x100, 100, payload), _receiver(0, 0x200, 100)])
    r = s.run()
    assert r.stop == "halt"
    assert bytes(s.chips[1].mem(0x200, 100)) == payload
    # both post at cycle 3 (three one-word li); c2c: 100 B = 4 packets of 32 B × 5 ns = 20 ns
    # = 2 cycles on the wire, + 5 ns flight = 1 cycle; the transfer ends at 3 + 3 = 6, the
    # instruction retires there, halt issues at 7
    total, occ = s.transfer_cycles(100)
    assert (total, occ) == (3, 2)
    assert [c.cycles for c in r.chips] == [8, 8]
    assert [c.stall_cycles for c in r.chips] == [3, 3]
    rep = s.link_report()
    assert rep["links"]["chip0->chip1"]["wire_bytes"] == 128
    assert rep["total"]["energy_pj"] == pytest.approx(128 * 8 * 10.4 / 51.2e9 * 1e12)


def test_the_later_side_sets_the_match_cycle():
    late = program(*[I.nop()] * 10, *li(1, 0), *li(2, 0x80), *li(3, 8),
                   I.recv(rt=1, rs1=2, rs2=3), I.halt())
    s = system([_sender(1, 0x40, 8, b"abcdefgh"), late])
    r = s.run()
    # recv posts at 13; 8 B = 1 packet: 1 wire cycle + 1 flight cycle → ends at 15
    assert [c.cycles for c in r.chips] == [17, 17]
    assert r.chips[0].stall_cycles == 15 - 3 and r.chips[1].stall_cycles == 2
    assert bytes(s.chips[1].mem(0x80, 8)) == b"abcdefgh"


def test_host_link_pays_two_transactions_through_the_host():
    s = system([_sender(1, 0x40, 8, b"12345678"), _receiver(0, 0x80, 8)], link="host")
    r = s.run()
    # each crossing: 100 µs setup + one 16-byte pipe block at 340 MB/s = 10 005 cycles; two
    total, occ = s.transfer_cycles(8)
    assert total == occ == 2 * 10_005
    assert [c.cycles for c in r.chips] == [3 + total + 2] * 2
    assert s.link_report()["links"]["host"]["wire_bytes"] == 32


def test_barrier_waits_for_the_last_chip():
    a = program(I.barrier(), I.rdcycle(rd=5), I.halt())
    b = program(*[I.nop()] * 6, I.barrier(), I.rdcycle(rd=5), I.halt())
    s = system([a, b])
    r = s.run()
    assert r.stop == "halt" and s.barriers == 1
    # the last chip arrives at 6; a barrier costs an empty message: 0 wire + 1 flight cycle
    assert [int(m.regs[5]) for m in s.chips] == [8, 8]


def test_chipid_and_nchips_in_a_system():
    progs = [program(I.chipid(rd=1), I.nchips(rd=2), I.halt()) for _ in range(3)]
    s = system(progs)
    s.run()
    assert [(int(m.regs[1]), int(m.regs[2])) for m in s.chips] == [(0, 3), (1, 3), (2, 3)]


def test_length_mismatch_faults_both_ends():
    s = system([_sender(1, 0x40, 8, b"12345678"), _receiver(0, 0x80, 4)])
    r = s.run()
    assert r.stop == "fault"
    assert r.chips[0].fault == "link_size" and r.chips[0].fault_detail == 4
    assert r.chips[1].fault == "link_size" and r.chips[1].fault_detail == 8


def test_send_to_itself_or_past_the_last_chip_faults():
    for peer in (0, 2):
        s = system([_sender(peer, 0x40, 8, b"12345678"), program(I.halt())])
        r = s.run()
        assert r.stop == "fault" and r.chip == 0
        assert r.chips[0].fault == "bad_chip" and r.chips[0].fault_detail == peer


def test_recv_outside_memory_faults():
    s = system([_sender(1, 0x40, 8, b"12345678"), _receiver(0, SMALL["mem_size"] - 4, 8)])
    r = s.run()
    assert r.stop == "fault" and r.chip == 1 and r.chips[1].fault == "mem_bounds"


def test_crossed_receives_are_a_deadlock_naming_chips_and_pcs():
    s = system([_receiver(1, 0x40, 8), _receiver(0, 0x40, 8)])
    r = s.run()
    assert r.stop == "deadlock"
    assert [c.fault for c in r.chips] == ["deadlock", "deadlock"]
    assert [c.fault_pc for c in r.chips] == [12, 12]
    assert "chip 0 at pc 0xc" in r.message and "recv from chip 1" in r.message
    assert "chip 1 at pc 0xc" in r.message and "recv from chip 0" in r.message


def test_a_receive_from_a_halted_chip_is_a_deadlock_while_others_still_run():
    spin = program(I.jal(rd=0, off20=0))   # a chip that never halts
    s = system([_receiver(1, 0x40, 8), program(I.halt()), spin])
    r = s.run()
    # no hang: chip 0 can never be matched once chip 1 has halted, whatever chip 2 does
    assert r.stop == "deadlock" and r.chips[0].fault == "deadlock" and r.chips[0].fault_detail == 1
    assert "chip 0 at pc 0xc waits in recv from chip 1 (halted)" in r.message
    assert not s.chips[2].halted


def test_a_barrier_some_chip_never_reaches_is_a_deadlock():
    s = system([program(I.barrier(), I.halt()), program(I.halt())])
    r = s.run()
    assert r.stop == "deadlock" and r.chips[0].fault == "deadlock" and r.chips[0].fault_detail == 2


def test_contention_on_the_shared_host_link():
    # chips 1 and 2 both send to chip 0 at cycle 3; chip 0 receives from 1, then from 2
    prog0 = program(*li(1, 1), *li(2, 0x40), *li(3, 8), I.recv(rt=1, rs1=2, rs2=3),
                    *li(1, 2), I.recv(rt=1, rs1=2, rs2=3), I.halt())
    s = system([prog0, _sender(0, 0x40, 8, b"11111111"), _sender(0, 0x40, 8, b"22222222")],
               link="host")
    r = s.run()
    assert r.stop == "halt"
    t, occ = s.transfer_cycles(8)
    host = s.link_report()["links"]["host"]
    # the second recv posts after the first ends; chip 2's send waited since cycle 3
    assert host["transfers"] == 2 and host["busy_cycles"] == 2 * occ
    assert r.chips[2].cycles == (3 + t + 1 + 1) + t + 2
    assert bytes(s.chips[0].mem(0x40, 8)) == b"22222222"


def test_contention_orders_by_match_cycle_not_chip_order():
    # chip 2's send matches at 3, chip 1's at 5: on the shared host link chip 2 goes first
    recv_both = program(*li(1, 2), *li(2, 0x40), *li(3, 8), I.recv(rt=1, rs1=2, rs2=3), I.halt())
    s = system([_sender(1, 0x40, 8, b"aaaaaaaa"),
                program(*li(1, 0), *li(2, 0x40), *li(3, 8), I.nop(), I.nop(),
                        I.recv(rt=1, rs1=2, rs2=3), I.halt()),
                _sender(3, 0x40, 8, b"bbbbbbbb"), recv_both], link="host")
    r = s.run()
    t, occ = s.transfer_cycles(8)
    host = s.link_report()["links"]["host"]
    assert host["queue_cycles"] == (3 + occ) - 5
    assert r.chips[3].cycles == 3 + t + 2
    assert r.chips[1].cycles == 3 + occ + t + 2
    assert np.array_equal(s.chips[1].mem(0x40, 8), np.frombuffer(b"aaaaaaaa", np.uint8))
